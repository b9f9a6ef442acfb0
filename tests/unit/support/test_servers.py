"""The suite's own servers: PostgreSQL a test can take down and bring back, and Redis."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.support.servers import PostgresServer


async def redis_exchange(url: str, *commands: bytes) -> list[bytes]:
    """Send inline commands to Redis, one reply line each (enough for PING, SET and GET)."""
    address = urlsplit(url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        replies = []
        for command in commands:
            writer.write(command + b"\r\n")
            await writer.drain()
            reply = await reader.readline()
            if reply.startswith(b"$") and reply != b"$-1\r\n":
                reply = await reader.readline()
            replies.append(reply.rstrip())
        return replies
    finally:
        writer.close()
        await writer.wait_closed()


async def test_the_suites_redis_answers_and_keeps_a_value(redis_url: str) -> None:
    replies = await redis_exchange(redis_url, b"PING", b"SET greeting annyeong", b"GET greeting")

    assert replies == [b"+PONG", b"+OK", b"annyeong"]


async def answer(url: str) -> int:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        value: int = await conn.fetchval("SELECT answer FROM kept")
        return value
    finally:
        await conn.close()


async def keep_an_answer(server: PostgresServer) -> str:
    url = await asyncio.to_thread(server.create_database, "outage")
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("CREATE TABLE kept (answer int); INSERT INTO kept VALUES (42)")
    finally:
        await conn.close()
    return url


async def test_own_postgres_comes_back_on_its_port_with_its_data_after_a_stop(
    own_postgres: PostgresServer,
) -> None:
    url = await keep_an_answer(own_postgres)
    port = own_postgres.port

    await asyncio.to_thread(own_postgres.stop)
    with pytest.raises(OSError):
        await answer(url)
    await asyncio.to_thread(own_postgres.start)

    assert own_postgres.port == port
    assert await answer(url) == 42


async def test_own_postgres_recovers_its_committed_data_after_a_kill(
    own_postgres: PostgresServer,
) -> None:
    url = await keep_an_answer(own_postgres)

    await asyncio.to_thread(own_postgres.kill)
    await asyncio.to_thread(own_postgres.start)

    assert await answer(url) == 42
