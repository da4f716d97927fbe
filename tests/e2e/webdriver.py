"""A minimal W3C WebDriver client (standard library only) for driving the app through tauri-driver."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
KEYS = {
    "Enter": "\ue007",
    "Escape": "\ue00c",
    "ArrowDown": "\ue015",
    "ArrowRight": "\ue014",
    "Shift": "\ue008",
    "Control": "\ue009",
    "Space": "\ue00d",
}


class WebDriverError(RuntimeError):
    pass


class Session:
    def __init__(self, url: str, capabilities: dict, timeout: float = 60):
        self.url = url.rstrip("/")
        value = self._request("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}}, timeout)
        self.id = value["sessionId"]

    def _request(self, method: str, path: str, body: dict | None = None, timeout: float = 60):
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(3):
            req = urllib.request.Request(
                self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    return json.loads(resp.read() or b"{}").get("value")
            except urllib.error.HTTPError as e:
                raise WebDriverError(f"{method} {path}: {e.code} {e.read()[:500]!r}") from None
            except http.client.RemoteDisconnected:
                # tauri-driver drops our request when WebKitWebDriver has closed the pooled
                # connection it forwards on ("client error (SendRequest)"); the request never
                # reached the browser, so sending it again is safe.
                if attempt == 2:
                    raise
                time.sleep(0.2)

    def cmd(self, method: str, path: str, body: dict | None = None):
        return self._request(method, f"/session/{self.id}{path}", body)

    def quit(self) -> None:
        try:
            self._request("DELETE", f"/session/{self.id}", timeout=20)
        except (WebDriverError, OSError):
            pass

    # Elements
    def find(self, css: str) -> str:
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css: str) -> list[str]:
        return [e[ELEMENT] for e in self.cmd("POST", "/elements", {"using": "css selector", "value": css})]

    def click(self, css: str) -> None:
        """Click what `css` names now. The window re-renders parts of itself as the library changes
        behind it (a run, the words read after it): an element replaced between being found and
        clicked is found again, as a person's click lands on what is on screen."""
        for attempt in range(3):
            try:
                self.cmd("POST", f"/element/{self.find(css)}/click", {})
                return
            except WebDriverError as e:
                if "stale element reference" not in str(e) or attempt == 2:
                    raise

    def type(self, css: str, text: str) -> None:
        self.cmd("POST", f"/element/{self.find(css)}/value", {"text": text})

    def clear(self, css: str) -> None:
        self.cmd("POST", f"/element/{self.find(css)}/clear", {})

    def text(self, css: str) -> str:
        return self.cmd("GET", f"/element/{self.find(css)}/text")

    def press(self, key: str) -> None:
        """A key press sent to whatever has focus (like a person typing)."""
        value = KEYS.get(key, key)
        actions = [{"type": "keyDown", "value": value}, {"type": "keyUp", "value": value}]
        self.cmd("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})

    def refresh(self) -> None:
        """Reload the page, as F5 or a crashed web process would."""
        self.cmd("POST", "/refresh", {})

    def click_holding(self, css: str, key: str) -> None:
        """Click an element while holding a modifier ("Control" or "Shift"), as a person would.
        An element redrawn between finding and clicking is found again, as a person clicks
        what is on screen now."""
        for attempt in range(3):
            try:
                return self._click_holding(css, key)
            except WebDriverError as e:
                if "stale element" not in str(e) or attempt == 2:
                    raise
        return None

    def _click_holding(self, css: str, key: str) -> None:
        element = self.find(css)
        value = KEYS[key]
        pause = {"type": "pause", "duration": 0}
        keys = [{"type": "keyDown", "value": value}, pause, pause, pause, {"type": "keyUp", "value": value}]
        origin = {"element-6066-11e4-a52e-4f735466cecf": element}
        pointer = [
            pause,
            {"type": "pointerMove", "origin": origin, "x": 0, "y": 0},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
            pause,
        ]
        self.cmd(
            "POST",
            "/actions",
            {
                "actions": [
                    {"type": "key", "id": "modifiers", "actions": keys},
                    {"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": pointer},
                ]
            },
        )
        self.cmd("DELETE", "/actions")

    def js(self, script: str, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script: str, *args):
        return self.cmd("POST", "/execute/async", {"script": script, "args": list(args)})

    def painted(self) -> None:
        """Return once the page has painted what the DOM now holds (two animation frames on)."""
        self.js_async("const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()));")

    def screenshot(self, path) -> None:
        self.painted()
        path.write_bytes(base64.b64decode(self.cmd("GET", "/screenshot")))

    def wait(self, what: str, condition, timeout: float = 60, every: float = 0.2):
        """Poll `condition()` until it returns something truthy; fail naming `what`."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = condition()
                if last:
                    return last
            except WebDriverError as e:
                last = e
            time.sleep(every)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def launched(app: Path, driver: Path, env: dict, log_path: Path) -> Iterator[Session]:
    """The app started by tauri-driver with `env`, as a WebDriver session; closed on exit."""
    port = free_port()
    native_port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")
    process = subprocess.Popen(
        [str(driver), "--port", str(port), "--native-port", str(native_port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    session = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"tauri-driver did not start (see {log_path})"
                time.sleep(0.2)
        # tauri-driver answers before its WebKitWebDriver is ready: retry the first request.
        while session is None:
            try:
                session = Session(
                    f"http://127.0.0.1:{port}",
                    {"browserName": "wry", "tauri:options": {"application": str(app)}},
                )
            except (WebDriverError, OSError):
                assert time.monotonic() < deadline, f"no WebDriver session (see {log_path})"
                time.sleep(0.5)
        yield session
    finally:
        if session:
            session.quit()
        process.terminate()
        process.wait(timeout=20)
        log.close()
