#!/usr/bin/env python3
"""Load pages in headless Chromium and report what a person would see go wrong.

Used by the tests (Tests/EndToEndTests/DashboardTests.swift) on the dashboard's pages and on the
HTML reports. It starts Debian's ``chromium`` headless with its DevTools protocol on 127.0.0.1,
opens each URL (http://127.0.0.1:... or file://...) at 1280 px wide, and prints one JSON object per
page on stdout:

    {"url": ..., "status": 200, "title": ..., "problems": [...], "screenshot": "...png", "pdf": "...pdf"}

``problems`` lists, in words: console errors, uncaught exceptions, the browser's own errors
(Content-Security-Policy violations, resources that failed to load), requests that failed or got
an HTTP error, a page wider than the window (unusable at 1280 px), and a page that could not be
printed. A full-page screenshot and a printed PDF go to ``--out`` so a person can look at them.

Usage: check_pages.py --out DIR [--token TOKEN] URL...
Needs: chromium (apt-get install chromium) and websocket-client (pip install websocket-client).
"""
import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import websocket

WIDTH = 1280


class Browser:
    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="updater-chromium-")
        args = [binary, "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-sync", "--mute-audio",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}", f"--window-size={WIDTH},900", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        deadline = time.time() + 60
        endpoint = None
        while time.time() < deadline:
            line = self.process.stderr.readline()
            if not line:
                if self.process.poll() is not None:
                    break
                continue
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                endpoint = m.group(1)
                break
        if not endpoint:
            self.close()
            sys.exit(f"{binary} did not start its DevTools endpoint")
        self.ws = websocket.create_connection(endpoint, timeout=60)
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method, session, seconds=30):
        """Events until `method` arrives for `session` (kept in self.events)."""
        deadline = time.time() + seconds
        for e in self.events:
            if e.get("method") == method and e.get("sessionId") == session:
                return True
        self.ws.settimeout(1)
        try:
            while time.time() < deadline:
                try:
                    e = json.loads(self.ws.recv())
                except websocket.WebSocketTimeoutException:
                    continue
                self.events.append(e)
                if e.get("method") == method and e.get("sessionId") == session:
                    return True
            return False
        finally:
            self.ws.settimeout(60)

    def close(self):
        try:
            self.process.terminate()
            self.process.wait(10)
        except Exception:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def check(browser, url, out, index, token):
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ["Page", "Runtime", "Log", "Network"]:
        browser.send(f"{domain}.enable", session=session)
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)
    if token and url.startswith("http"):
        browser.send("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Bearer {token}"}}, session=session)
    start = len(browser.events)
    nav = browser.send("Page.navigate", {"url": url}, session=session)
    problems = []
    if nav.get("errorText"):
        problems.append(f"navigation failed: {nav['errorText']}")
    elif not browser.wait_for("Page.loadEventFired", session):
        problems.append("the page did not finish loading in 30 s")
    status = None
    for e in browser.events[start:]:
        if e.get("sessionId") != session:
            continue
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            problems.append(f"console error: {text}")
        elif m == "Runtime.exceptionThrown":
            problems.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            entry = p["entry"]
            problems.append(f"browser error ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip())
        elif m == "Network.loadingFailed":
            problems.append(f"request failed: {p.get('errorText')} {p.get('blockedReason') or ''}".strip())
        elif m == "Network.responseReceived":
            response = p.get("response", {})
            if p.get("type") == "Document" and status is None:
                status = response.get("status")
            if response.get("status", 0) >= 400:
                problems.append(f"HTTP {response.get('status')} for {response.get('url')}")
    title = browser.send("Runtime.evaluate", {"expression": "document.title", "returnByValue": True},
                         session=session)["result"].get("value")
    width = browser.send("Runtime.evaluate", {"expression": "document.documentElement.scrollWidth", "returnByValue": True},
                         session=session)["result"].get("value")
    if isinstance(width, int) and width > WIDTH:
        problems.append(f"the page is {width} px wide: wider than a {WIDTH} px window")
    metrics = browser.send("Page.getLayoutMetrics", session=session)
    height = int(metrics.get("cssContentSize", metrics.get("contentSize", {})).get("height", 900))
    shot = browser.send("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": WIDTH, "height": max(1, min(height, 16000)), "scale": 1}}, session=session)
    name = f"{index:02d}-" + re.sub(r"[^A-Za-z0-9]+", "-", url.split("://", 1)[-1]).strip("-")[-80:]
    screenshot = os.path.join(out, name + ".png")
    with open(screenshot, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    pdf = None
    try:
        printed = browser.send("Page.printToPDF", {"printBackground": True}, session=session)
        pdf = os.path.join(out, name + ".pdf")
        with open(pdf, "wb") as f:
            f.write(base64.b64decode(printed["data"]))
    except RuntimeError as error:
        problems.append(f"cannot print: {error}")
    browser.send("Target.closeTarget", {"targetId": target})
    return {"url": url, "status": status, "title": title, "width": width, "problems": problems,
            "screenshot": screenshot, "pdf": pdf}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="directory for screenshots and PDFs")
    ap.add_argument("--token", help="bearer token for http:// pages")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("urls", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    browser = Browser(args.chromium)
    try:
        for i, url in enumerate(args.urls, 1):
            print(json.dumps(check(browser, url, args.out, i, args.token)), flush=True)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
