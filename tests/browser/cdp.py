"""A small Chrome DevTools Protocol client for the live tests: it starts Debian's Chromium
headless, opens pages each in a browser context of its own (as separate phones or laptops
would be: no shared storage), and drives them as a person would, with real mouse and key
events at the elements' places on screen. Only the python `websockets` package is needed
(scripts/ensure-python-osc.sh installs it).
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from websockets.sync.client import connect

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
    "--remote-debugging-port=0",
]


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="somnia-chromium-")
        exe = os.environ.get("SOMNIA_CHROMIUM", "chromium")
        self.proc = subprocess.Popen(
            [exe, *CHROMIUM_FLAGS, "--user-data-dir=" + self.profile, "about:blank"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        url = None
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                url = m.group(1)
                break
        if url is None:
            raise RuntimeError("chromium did not start (is Debian's chromium installed?)")
        self.ws = connect(url, max_size=None, open_timeout=10)
        self.next_id = 0

    def call(self, method, params=None, session=None, timeout=20):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.time() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.time())))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def page(self, url, width=390, height=844, mobile=True):
        context = self.call("Target.createBrowserContext")["browserContextId"]
        target = self.call(
            "Target.createTarget", {"url": "about:blank", "browserContextId": context}
        )["targetId"]
        session = self.call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        page = Page(self, session)
        page.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )
        page.call("Network.enable")
        page.call("Page.enable")
        page.call("Page.navigate", {"url": url})
        page.wait("document.readyState === 'complete'")
        return page

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    def __init__(self, browser, session):
        self.browser = browser
        self.session = session

    def call(self, method, params=None, timeout=20):
        return self.browser.call(method, params, self.session, timeout)

    def eval(self, expression):
        r = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            timeout=60,
        )
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, expression, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.eval(expression):
                return
            time.sleep(0.05)
        raise TimeoutError(f"waited {timeout} s for: {expression}")

    def centre(self, selector, fx=0.5, fy=0.5):
        """Where (fx, fy) of the element is, in the page's pixels (scrolled into view)."""
        r = self.eval(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.left, r.top, r.width, r.height]; })()"
        )
        return r[0] + fx * r[2], r[1] + fy * r[3]

    def click(self, selector, fx=0.5, fy=0.5):
        """A real mouse click (press and release) at (fx, fy) of the element."""
        x, y = self.centre(selector, fx, fy)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1},
            )

    def key(self, selector, key, code, key_code):
        """Focuses the element and presses a key on it (a real key event)."""
        self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        for kind in ("rawKeyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent",
                {"type": kind, "key": key, "code": code, "windowsVirtualKeyCode": key_code},
            )

    def axe(self, axe_path):
        """axe-core's audit of the page: its violations of impact serious or critical."""
        self.eval(open(axe_path, encoding="utf-8").read() + ";true")
        return self.eval(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))})))"
        )

    def transfer_bytes(self):
        """Bytes the page and everything it loaded took on the wire."""
        return self.eval(
            "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
            ".reduce((s, e) => s + (e.transferSize || e.encodedBodySize || 0), 0)"
        )
