"""Debian's Chromium driven by Playwright for the portal's end-to-end tests (the live server is
conftest's `server_url`), and a client for tests/tissclient.post over real HTTP. Screenshots go
to tests/artifacts/screenshots/ (not committed)."""

import shutil
from pathlib import Path

import requests

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"


def chromium_available() -> bool:
    return shutil.which(CHROMIUM) is not None


class HttpClient:
    """What tests/tissclient.post expects of a client, over real HTTP to the live server."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def post(self, path: str, data: bytes, headers: dict):
        response = requests.post(self.base_url + path, data=data, headers=headers, timeout=60)
        return _Answer(response)


class _Answer:
    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.data = response.content
