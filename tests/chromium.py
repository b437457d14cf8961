"""Headless Chromium driven through the Chrome DevTools Protocol over a pipe (no extra package).

Chromium started with ``--remote-debugging-pipe`` reads protocol messages from file
descriptor 3 and writes its answers to 4, each a JSON object ended by a NUL byte. That is
enough to open a page, run JavaScript in it, type, press keys and take a screenshot: what
the Browser test needs, with Debian's ``chromium`` and the standard library only.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class ProtocolError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium with one page: ``with Chromium() as page: page.goto(url) ...``."""

    def __init__(self, width: int = 1400, height: int = 900):
        assert CHROMIUM, "Chromium is needed for this test: `bash scripts/setup-browser` installs Debian's package"
        self.profile = tempfile.mkdtemp(prefix="wbgraph-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        wrapper = (
            f"exec 3<&{to_chrome_r} 4>&{from_chrome_w}; exec {CHROMIUM} --headless=new --no-sandbox --disable-gpu "
            f"--remote-debugging-pipe --user-data-dir={self.profile} --window-size={width},{height} "
            "--no-first-run --no-default-browser-check about:blank"
        )
        self.process = subprocess.Popen(
            ["bash", "-c", wrapper],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer, self._next, self.events = b"", 0, []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    # the protocol

    def call(self, method: str, session: str | None = None, timeout: float = 60, **params) -> dict:
        """Send one command and wait for its answer."""
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for answer in self._read():
                if answer.get("id") == self._next:
                    if "error" in answer:
                        raise ProtocolError(f"{method}: {answer['error']}")
                    return answer.get("result", {})
                self.events.append(answer)
        raise ProtocolError(f"{method}: no answer in {timeout}s")

    def send(self, method: str, **params) -> dict:
        """A command to the page."""
        return self.call(method, session=self.session, **params)

    def _read(self) -> list[dict]:
        chunk = os.read(self._from_chrome, 1 << 20)
        if not chunk:
            raise ProtocolError("Chromium closed the pipe")
        self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        return [json.loads(m) for m in messages if m]

    # what a test does with a page

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def evaluate(self, expression: str) -> object:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise ProtocolError(f"{expression[:80]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60, what: str = "") -> None:
        """Poll ``expression`` until it is truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(f"!!({expression})"):
                return
            time.sleep(0.25)
        raise ProtocolError(f"timed out waiting for {what or expression}")

    def type(self, text: str) -> None:
        """Type ``text`` into the focused element."""
        self.send("Input.insertText", text=text)

    def press(self, key: str, code: str, key_code: int, modifiers: int = 0) -> None:
        """Press and release one key (``modifiers``: 2 Ctrl, 4 Meta, 8 Shift)."""
        for kind in ("rawKeyDown", "keyUp"):
            self.send(
                "Input.dispatchKeyEvent",
                type=kind,
                key=key,
                code=code,
                windowsVirtualKeyCode=key_code,
                nativeVirtualKeyCode=key_code,
                modifiers=modifiers,
            )

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))
        return path
