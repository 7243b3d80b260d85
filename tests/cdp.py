"""A small Chrome DevTools Protocol client: Debian's headless chromium, driven over websocket.

One browser-level connection in flat mode (https://chromedevtools.github.io/devtools-protocol/):
every page, web worker and service worker is auto-attached, paused until Network is enabled in
it, so ``urls`` and ``requests`` see each request the site makes, the kernel's worker included.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import websocket  # websocket-client from PyPI

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--no-default-browser-check",
    "--disable-sync", "--remote-debugging-port=0",
]


WEB_TARGETS = {"page", "iframe", "worker", "shared_worker", "service_worker"}


class CDPError(RuntimeError):
    pass


class Browser:
    """``with Browser(chromium) as b: b.open(url); b.evaluate("1 + 1")``."""

    def __init__(self, chromium: str, *flags: str, window: str = "1400,900",
                 timeout: float = 30):
        self.profile = Path(tempfile.mkdtemp(prefix="chainrule-chromium-"))
        self.process = subprocess.Popen(
            [chromium, *FLAGS, *flags, f"--user-data-dir={self.profile}", f"--window-size={window}",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise CDPError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version") as reply:
            url = json.load(reply)["webSocketDebuggerUrl"]
        self.ws = websocket.create_connection(url, timeout=timeout)
        self._next_id = 0
        self.requests: Dict[str, Dict[str, Any]] = {}  # request id -> url, status, bytes
        self.urls: List[str] = []  # every URL requested, in order
        self.session: Optional[str] = None
        self.page: Optional[str] = None
        self.targets: Dict[str, Dict[str, str]] = {}  # target id -> its session id and type
        self.send("Target.setAutoAttach", autoAttach=True, waitForDebuggerOnStart=True,
                  flatten=True)
        self.send("Target.setDiscoverTargets", discover=True)

    # -- protocol ------------------------------------------------------------------------
    def send(self, method: str, session: Optional[str] = None, **params: Any) -> Dict[str, Any]:
        self._next_id += 1
        message: Dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = self._receive()
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def _receive(self) -> Dict[str, Any]:
        reply = json.loads(self.ws.recv())
        if "method" in reply:
            self._event(reply)
        return reply

    def _event(self, event: Dict[str, Any]) -> None:
        method, params = event["method"], event.get("params", {})
        if method == "Target.attachedToTarget":
            child = params["sessionId"]
            info = params["targetInfo"]
            self.targets[info["targetId"]] = {"session": child, "type": info["type"]}
            commands = [("Runtime.runIfWaitingForDebugger", {})]
            if info["type"] in WEB_TARGETS:  # not chromium's own UI pages
                commands[:0] = [("Network.enable", {}),
                                ("Target.setAutoAttach", {"autoAttach": True,
                                                          "waitForDebuggerOnStart": True,
                                                          "flatten": True})]
            for command, args in commands:
                self._next_id += 1  # fire and forget: their replies are skipped by send()
                self.ws.send(json.dumps({"id": self._next_id, "sessionId": child,
                                         "method": command, "params": args}))
        # A worker's fetch that the site's service worker answers is reported by both, under
        # one request id (the worker's copy with 0 bytes): key by request id, keep the most.
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            self.urls.append(url)  # redirects included
            entry = self.requests.setdefault(params["requestId"], {"bytes": 0, "status": None})
            entry["url"] = url
        elif method == "Network.responseReceived" and params["requestId"] in self.requests:
            self.requests[params["requestId"]]["status"] = params["response"]["status"]
        elif method == "Network.loadingFinished" and params["requestId"] in self.requests:
            entry = self.requests[params["requestId"]]
            entry["bytes"] = max(entry["bytes"], params["encodedDataLength"])

    def pump(self, seconds: float) -> None:
        """Read events for ``seconds`` (requests made while nothing is being evaluated)."""
        self.ws.settimeout(seconds)
        try:
            self._receive()
        except websocket.WebSocketTimeoutException:
            pass
        finally:
            self.ws.settimeout(30)

    # -- a page ----------------------------------------------------------------------------
    def open(self, url: str) -> None:
        """Load ``url`` in a new page, closing the one opened before (and its workers)."""
        if self.page:
            self.send("Target.closeTarget", targetId=self.page)
        target = self.page = self.send("Target.createTarget", url="about:blank")["targetId"]
        deadline = time.monotonic() + 10
        while target not in self.targets:  # auto-attached, with Network on from the start
            if time.monotonic() > deadline:
                raise CDPError("the new page was not attached")
            self.pump(0.2)
        self.session = self.targets[target]["session"]
        self.send("Page.enable", self.session)
        self.send("Page.navigate", self.session, url=url)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", self.session, expression=expression,
                           awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CDPError(details.get("exception", {}).get("description", details["text"]))
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float, what: str,
                 check: Callable[[Any], bool] = bool) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if check(value):
                return value
            if time.monotonic() > deadline:
                raise CDPError(f"timed out after {timeout:.0f} s waiting for {what}: {value!r}")
            self.pump(0.5)

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", self.session, format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        if getattr(self, "ws", None):
            self.ws.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
