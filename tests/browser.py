"""Headless Chromium for the tests that open HTML: Debian's package, installed with
apt-get when missing; if that is impossible the test is skipped with the reason."""

from __future__ import annotations

import shutil
import subprocess

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser")
BROWSER_TIMEOUT_S = 90


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = _chromium()
    if path is None and shutil.which("apt-get"):
        env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "chromium"],
        ):
            subprocess.run(command, env=env, capture_output=True, timeout=900, check=False)
        path = _chromium()
    if path is None:
        reason = "Debian's chromium package is not installed and could not be installed"
        print(reason)
        pytest.skip(reason)
    return path


def browse(chromium: str, profile, url: str, *extra: str) -> subprocess.CompletedProcess:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        "--window-size=1400,2200",
        *extra,
        url,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False
    )
