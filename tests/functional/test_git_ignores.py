"""Secrets stay out of git: ``make run`` writes the Twilio auth token into ``.env`` (issue 10,
finding 10: one ``git add -A`` would have published it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("path", [".env", "voicedesk.db", "prompt-cache/x.wav"])
def test_local_secrets_and_data_are_ignored_by_git(path: str) -> None:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    checked = subprocess.run(
        ["git", "check-ignore", "--quiet", "--no-index", path], cwd=REPO, check=False
    )
    assert checked.returncode == 0, f"{path} is not git-ignored: add it to .gitignore"
