"""The zh-hans catalogues are complete and up to date (xgettext from gettext is required)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_catalogues_are_complete_and_current():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "messages"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_chinese_is_the_default_language(client):
    response = client.get("/login/")
    assert '<html lang="zh-hans">' in response.content.decode()
    assert "登录丹阳智慧社区" in response.content.decode()
