"""Two instances on one database: any instance answers any webhook of any call."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import aiohttp
from conftest import AUTH_TOKEN, PUBLIC_URL, AppFactory, app_of
from test_call_webhooks import EVERY_NODE_MENU, OPEN_HOURS, Clock, gather_of, new_sid, verbs
from twilio_style import TwilioStyleCall

from web.keys import STORE


async def test_webhooks_of_one_call_alternate_between_two_instances(
    start_app: AppFactory,
) -> None:
    first_instance = await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS))
    second_instance = await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS))
    urls = [str(s.make_url("")).rstrip("/") for s in (first_instance, second_instance)]
    async with aiohttp.ClientSession() as session:
        call = TwilioStyleCall(session, urls[0], PUBLIC_URL, AUTH_TOKEN, new_sid())
        started = await call.twiml("/twilio/voice", status="ringing")
        call.server_url = urls[1]  # the load balancer sends the next webhook elsewhere
        account = await call.twiml(gather_of(started).attrib["action"], {"Digits": "2"})
        call.server_url = urls[0]
        done = await call.twiml(gather_of(account).attrib["action"], {"Digits": "24681357"})
        assert verbs(done)[-1] == "Hangup"
        call.server_url = urls[1]
        # Twilio retrying the last gather at the other instance gets the same answer.
        again = await call.twiml(gather_of(account).attrib["action"], {"Digits": "24681357"})
        assert ET.tostring(again) == ET.tostring(done)
        assert await call.status_callback() == 204
    store = app_of(second_instance)[STORE]
    record = await store.get_call(call.call_sid)
    assert record is not None and record.ended
    detail = await store.interaction_detail(record.interaction_id)
    assert detail is not None
    nodes = [e.payload["node"] for e in detail.events if e.type == "node_entered"]
    assert nodes == ["welcome", "open_check", "main", "account", "balance_result", "goodbye"]
    assert [e.seq for e in detail.events] == list(range(1, len(detail.events) + 1))
