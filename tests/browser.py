"""A real browser for end-to-end tests: Debian's headless chromium, driven over the DevTools
protocol on loopback, its screen read back with tesseract (the console draws on a canvas, so
what a person sees is the screenshot, not the DOM)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from tests import services

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Loopback only: the page's web-font link (and anything else) resolves nowhere.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1600,1000",
)


class Page:
    """One tab, spoken to over its DevTools websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, shots: Path) -> None:
        self.ws = ws
        self.shots = shots
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    async def screen_text(self) -> str:
        """What the page shows, read off a screenshot."""
        return await self._read(await self._shot())

    async def _shot(self) -> Path:
        shot = await self.call("Page.captureScreenshot", format="png")
        path = self.shots / f"shot-{time.monotonic_ns()}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    async def seen_soon(self, text: str, *, shots: int = 6, every: float = 0.4) -> bool:
        """Whether ``text`` shows within a few moments: screenshots first, read after (reading
        one takes seconds, longer than a notification stays)."""
        taken = []
        for _ in range(shots):
            await asyncio.sleep(every)
            taken.append(await self._shot())
        for path in taken:
            if text in await self._read(path):
                return True
        return False

    async def _read(self, path: Path) -> str:
        done = await asyncio.to_thread(
            subprocess.run,
            ["tesseract", str(path), "-", "--psm", "11"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout

    async def wait_text(self, *words: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            try:
                text = await self.screen_text()
            except RuntimeError as exc:  # the page is still being navigated to
                text = str(exc)
            if all(word in text for word in words):
                return text
            await asyncio.sleep(0.5)
        raise AssertionError(f"{words} not all on the page; it read:\n{text}")

    async def type(self, text: str) -> None:
        # Keys go to the terminal's input element, as after a click into the page.
        await self.call(
            "Runtime.evaluate",
            expression="document.querySelector('.xterm-helper-textarea').focus()",
        )
        for char in text:
            # keyDown with text: the browser sends keydown, keypress and input, as a keyboard.
            await self.call("Input.dispatchKeyEvent", type="keyDown", text=char, key=char)
            await self.call("Input.dispatchKeyEvent", type="keyUp", key=char)

    async def press_enter(self) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.call(
                "Input.dispatchKeyEvent",
                type=kind,
                key="Enter",
                code="Enter",
                windowsVirtualKeyCode=13,
                **({"text": "\r"} if kind == "keyDown" else {}),
            )


@asynccontextmanager
async def chromium_page(url: str, workdir: Path) -> AsyncIterator[Page]:
    """A fresh headless chromium (its own profile) with one tab on ``url``."""
    binary = shutil.which("chromium")
    if binary is None:
        services.unavailable("chromium not installed (Debian: apt-get install chromium)")
    if shutil.which("tesseract") is None:
        services.unavailable("tesseract not installed (Debian: apt-get install tesseract-ocr)")
    profile = workdir / "chromium-profile"
    profile.mkdir()
    process = subprocess.Popen(
        [str(binary), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        await asyncio.to_thread(services.wait_for, port_file.exists, 30, "chromium's DevTools port")
        await asyncio.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = json.loads(await response.text())
            page_target = next(t for t in targets if t.get("type") == "page")
            async with http.ws_connect(page_target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                page = Page(ws, workdir)
                await page.call("Page.enable")
                await page.call("Page.navigate", url=url)
                yield page
    finally:
        process.kill()
        process.wait(timeout=10)
