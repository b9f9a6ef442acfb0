"""Bounds on every value from outside that voicedesk reads or stores, each with its reason.

One module, so that the table in docs/SECURITY.md and the code cannot drift apart: the edge that
reads a value (the webhook form parser, the API handlers, the sockets) imports its bound from
here. Lengths are in characters (``len(str)``) unless the name says bytes.
"""

from __future__ import annotations

from typing import Final

# -- request bodies --------------------------------------------------------------------------

WEBHOOK_BODY_BYTES: Final = 64 * 1024
"""A ``/twilio/`` webhook's body. Twilio's forms are 1-3 KB (30-40 short fields); the largest we
take is a text of ``TEXT_BODY_CHARS`` percent-encoded (up to 12 bytes a character, 24 KB).
Larger is answered 413 before it is parsed or its signature checked."""

WEBHOOK_FIELDS: Final = 200
"""Fields in one webhook form: Twilio sends 20-40 (60 with every optional add-on field)."""

REQUEST_BODY_BYTES: Final = 64 * 1024
"""Any other request body (the API's JSON). The largest legitimate one is a chat message of
``CHAT_MESSAGE_CHARS`` with every character ``\\u``-escaped (24 KB). Larger answers 413."""

# -- Twilio's values -------------------------------------------------------------------------

TWILIO_SID_CHARS: Final = 64
"""Any ``…Sid`` (CallSid, MessageSid, AccountSid, StreamSid, …). Twilio's SIDs are 34
characters (two letters and 32 hex digits); 64 leaves room for a new format without storing
arbitrary text under a key column."""

ADDRESS_CHARS: Final = 256
"""``From``, ``To``, ``Caller``, ``Called``, ``Author``: an E.164 number is at most 16
characters, a ``client:`` identity at most 121 and a SIP URI rarely over 100; 256 holds any
real one."""

DIGITS_CHARS: Final = 128
"""``Digits`` of a Gather. Menus ask for at most a card number and a PIN (about 20 keys); a
caller pressing keys without a pause for a whole minute types about 100."""

STATUS_CHARS: Final = 64
"""Twilio's enumerations (``CallStatus``, ``DialCallStatus``, ``QueueResult``, ``EventType``,
``Source``): the longest today is 20 characters."""

TEXT_BODY_CHARS: Final = 2000
"""``Body`` of an inbound text or Conversations message. Twilio caps a message at 1,600
characters; the bound is the chat message's, so every text Twilio can send is stored whole."""

# -- chats -----------------------------------------------------------------------------------

CHAT_MESSAGE_CHARS: Final = TEXT_BODY_CHARS
"""A chat message from a customer or an agent: several screens on a phone; longer is pasted
noise. Longer is refused (400 on the API, an error on the socket), never cut."""

CHAT_CLIENT_ID_CHARS: Final = 100
"""A page's id for a message (pages send a 36-character UUID). Longer is refused rather than
cut: two cut ids could collide and the second message would be taken for a resend."""

CHAT_SOCKET_MESSAGE_BYTES: Final = 32 * 1024
"""One websocket message of a chat page or the agent console: the largest legitimate one is a
``send`` of ``CHAT_MESSAGE_CHARS`` characters, ``\\u``-escaped (24 KB). aiohttp closes the
socket (code 1009) on a larger one."""

# -- agents (the API) ------------------------------------------------------------------------

AGENT_NAME_CHARS: Final = 200
"""An agent's display name: any real name, with room for a team or a note."""

AGENT_IDENTITY_CHARS: Final = 64
"""The identity of a ``client:`` address (a browser softphone's name)."""

QUEUE_ID_CHARS: Final = 64
"""A queue id named for an agent: menu ids are at most 64 characters (config.menu_fields)."""

AGENT_QUEUES: Final = 50
"""Queues one agent serves. A contact centre has a handful; the ACD reads an agent's list on
every dispatch, so an unbounded list would slow every dispatch."""

# -- media streams ---------------------------------------------------------------------------

MEDIA_STREAM_MESSAGE_BYTES: Final = 64 * 1024
"""One Media Streams websocket message. Twilio's largest is the ``start`` message (about 1 KB);
a 20 ms ``media`` message is about 300 bytes. aiohttp closes the socket on a larger one."""
