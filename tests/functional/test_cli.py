"""The ``voicedesk`` command as an operator runs it: real processes, real sockets."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from config.settings import SHIPPED_MENU

VOICEDESK = [sys.executable, "-m", "web.cli"]
REPO = Path(__file__).resolve().parents[2]


async def run(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *VOICEDESK,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def operator_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEDESK_")}
    env["PYTHONPATH"] = str(REPO)
    port = free_port()
    env.update(
        {
            "VOICEDESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'voicedesk.db'}",
            "VOICEDESK_TWILIO_AUTH_TOKEN": "cli-test-token",
            "VOICEDESK_PORT": str(port),
            "VOICEDESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "VOICEDESK_PROMPT_CACHE_DIR": str(tmp_path / "prompts"),
            "VOICEDESK_LOG_LEVEL": "WARNING",
        }
    )
    return env


@pytest.fixture
async def served(operator_env: dict[str, str], tmp_path: Path) -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        *VOICEDESK,
        "serve",
        env=operator_env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = operator_env["VOICEDESK_PUBLIC_URL"]
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(url + "/readyz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
            else:
                pytest.fail("voicedesk serve did not become ready")
        yield url
    finally:
        process.terminate()
        await process.wait()


async def test_check_menu_accepts_the_shipped_menu(
    operator_env: dict[str, str], tmp_path: Path
) -> None:
    code, out = await run("check-menu", str(SHIPPED_MENU), env=operator_env, cwd=tmp_path)
    assert code == 0 and "ok" in out


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    text = SHIPPED_MENU.read_text(encoding="utf-8")
    path.write_text(text.replace("next: open_check", "next: nowhere", 1), encoding="utf-8")
    return path


async def test_check_menu_names_node_and_field_and_exits_non_zero(
    operator_env: dict[str, str], tmp_path: Path, broken: Path
) -> None:
    code, out = await run("check-menu", str(broken), env=operator_env, cwd=tmp_path)
    assert code == 1
    assert "node 'welcome'" in out and "field 'next'" in out and "nowhere" in out


async def test_bad_setting_stops_with_the_variable_named(
    operator_env: dict[str, str], tmp_path: Path
) -> None:
    code, out = await run("migrate", env={**operator_env, "VOICEDESK_PORT": "eighty"}, cwd=tmp_path)
    assert code == 2 and "VOICEDESK_PORT" in out


async def test_serve_then_simulated_call_and_api_key_read(
    served: str, operator_env: dict[str, str], tmp_path: Path
) -> None:
    code, out = await run("call", "--digits", "2,12345678#,0", env=operator_env, cwd=tmp_path)
    assert code == 0, out
    assert "caller hears" in out and "status callback" in out
    code, token = await run(
        "create-api-key",
        "--role",
        "supervisor",
        "--name",
        "cli test",
        env=operator_env,
        cwd=tmp_path,
    )
    assert code == 0 and token.strip().startswith("vdk_")
    url = f"{served}/api/customers/+821012345678/interactions"
    headers = {"Authorization": f"Bearer {token.strip()}"}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
        assert r.status == 200
        body = await r.json()
    assert len(body["interactions"]) == 1
