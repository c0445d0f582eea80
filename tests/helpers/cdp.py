#!/usr/bin/python3
"""cdp.py - drive Debian's headless Chromium over the DevTools protocol (CDP), standard library
plus python3-websocket only. Used by tests/helpers/console_browser.py.

Chromium is started with its own profile directory and --remote-debugging-port=0; the port it
picked is read from DIR/DevToolsActivePort, the page's websocket from /json/list. Every wait has
a deadline and says what it waited for. Console errors, uncaught exceptions and failed loads are
collected from Runtime and Log events so that a test can require none.
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket  # python3-websocket


def chromium_path():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, profile_dir=None, width=1400, height=1000, log=None):
        # A throw-away profile (removed by close) unless the caller names one.
        self.own_profile = profile_dir is None
        if profile_dir is None:
            profile_dir = tempfile.mkdtemp(prefix="wk-chromium-")
        self.profile = profile_dir
        os.makedirs(profile_dir, exist_ok=True)
        exe = chromium_path()
        if not exe:
            raise CDPError("chromium is not installed (tools/deps.sh installs it)")
        self.log = open(log or os.path.join(profile_dir, "chromium.log"), "w")
        port_file = os.path.join(profile_dir, "DevToolsActivePort")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update",
             "--remote-allow-origins=*", "--remote-debugging-port=0",
             "--user-data-dir=" + profile_dir, "--window-size=%d,%d" % (width, height),
             "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 30
        port = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise CDPError("chromium exited with %s (see %s)" % (self.proc.returncode, self.log.name))
            try:
                with open(port_file) as f:
                    port = int(f.readline().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.1)
        if not port:
            self.close()
            raise CDPError("chromium wrote no DevToolsActivePort within 30 s")
        self.port = port
        ws_url = None
        while time.time() < deadline and not ws_url:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=5) as r:
                    for t in json.load(r):
                        if t.get("type") == "page":
                            ws_url = t["webSocketDebuggerUrl"]
                            break
            except OSError:
                time.sleep(0.1)
        if not ws_url:
            self.close()
            raise CDPError("no page target on the DevTools port within 30 s")
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.errors = []
        self.events = []
        for m in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
            self.send(m)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def _note(self, msg):
        meth = msg.get("method")
        p = msg.get("params", {})
        if meth == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.errors.append("exception: %s %s" % (d.get("text"), (d.get("exception") or {}).get("description", "")))
        elif meth == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console.%s: %s" % (p.get("type"), " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))))
        elif meth == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            self.errors.append("log: %s %s" % (e.get("text"), e.get("url", "")))
        elif meth == "Network.loadingFailed" and not p.get("canceled"):
            self.errors.append("load failed: %s %s" % (p.get("errorText"), p.get("requestId")))
        elif meth:
            self.events.append(meth)

    def send(self, method, params=None, timeout=30):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise CDPError("no answer to %s within %d s" % (method, timeout))
            self.ws.settimeout(left)
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CDPError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self._note(msg)

    def pump(self, seconds):
        """Read events for a while (the page runs on its own; this only collects errors)."""
        deadline = time.time() + seconds
        while True:
            left = deadline - time.time()
            if left <= 0:
                return
            self.ws.settimeout(left)
            try:
                self._note(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                return

    def navigate(self, url, timeout=30):
        self.events = []
        self.send("Page.navigate", {"url": url})
        deadline = time.time() + timeout
        while "Page.loadEventFired" not in self.events:
            if time.time() > deadline:
                raise CDPError("page %s did not load within %d s" % (url, timeout))
            self.pump(0.2)

    def eval(self, expr, timeout=30):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            raise CDPError("evaluating %r: %s" % (expr[:80], r["exceptionDetails"].get("text")))
        return r.get("result", {}).get("value")

    def wait(self, expr, what, timeout=30, interval=0.2):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = self.eval(expr)
            if last:
                return last
            self.pump(interval)
        raise CDPError("waited %d s for %s (last value %r)" % (timeout, what, last))

    def screenshot(self, path, height=None):
        """A PNG of the page; with height, only its top that many CSS pixels."""
        params = {"format": "png"}
        if height:
            w = self.eval("document.documentElement.clientWidth")
            params["clip"] = {"x": 0, "y": 0, "width": w, "height": int(height), "scale": 1}
        r = self.send("Page.captureScreenshot", params)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
        return path

    def close(self):
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 15)
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(5)
        self.log.close()
        if self.own_profile:
            shutil.rmtree(self.profile, ignore_errors=True)
