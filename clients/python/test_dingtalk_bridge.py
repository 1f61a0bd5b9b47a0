"""Tests for dingtalk_bridge.py against a real local bridge (wrangler dev on 127.0.0.1).

Run from the repository root after `npm ci`:  python3 -m unittest discover -s clients/python -v
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dingtalk_bridge import (  # noqa: E402
    AsyncBridgeClient,
    BridgeAuthError,
    BridgeClient,
    BridgeNetworkError,
    BridgeNotFoundError,
    BridgeRequestError,
    StreamHealth,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECRET = "python-test-secret"
APPS = ["p%d" % i for i in range(12)]


def token_for(app):
    return "token-%s" % app


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalBridge:
    """A real `wrangler dev` with short thresholds and one app per test."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dtbridge-py-")
        apps = {a: {"clientId": a, "clientSecret": SECRET, "consumerTokens": [token_for(a)]} for a in APPS}
        env_file = os.path.join(self.dir, "test.env")
        with open(os.path.join(ROOT, "config", "local.env")) as src, open(env_file, "w") as dst:
            dst.write(src.read())
            dst.write("\nBRIDGE_APPS=%s\nMAX_ATTEMPTS=3\nWEBHOOK_SILENCE_MS=300\n" % json.dumps(apps))
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        env = dict(os.environ, WRANGLER_SEND_METRICS="false", WRANGLER_SEND_ERROR_REPORTS="false",
                   WRANGLER_HIDE_BANNER="true", CLOUDFLARE_CF_FETCH_ENABLED="false", CI="true")
        self.log = open(os.path.join(self.dir, "wrangler.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(ROOT, "node_modules", ".bin", "wrangler"), "dev", "--env-file", env_file,
             "--ip", "127.0.0.1", "--port", str(self.port), "--inspector-port", str(free_port()),
             "--persist-to", os.path.join(self.dir, "state"), "--show-interactive-dev-session=false"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url, timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("wrangler dev did not start; see %s" % self.log.name)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()

    def callback(self, app, msg_id=None, text="hi"):
        msg_id = msg_id or "msg%s+/=" % uuid.uuid4().hex
        ts = str(int(time.time() * 1000))
        mac = hmac.new(SECRET.encode(), ("%s\n%s" % (ts, SECRET)).encode(), hashlib.sha256).digest()
        body = {"msgId": msg_id, "msgtype": "text", "text": {"content": " " + text}, "conversationId": "cid1",
                "createAt": int(ts), "senderNick": "测试"}
        request = urllib.request.Request(
            "%s/dingtalk/%s/robot" % (self.url, app), data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "timestamp": ts, "sign": base64.b64encode(mac).decode()})
        with urllib.request.urlopen(request, timeout=5) as r:
            assert r.status == 200
        return body


bridge = None
_next_app = iter(APPS)


def setUpModule():
    global bridge
    bridge = LocalBridge()


def tearDownModule():
    bridge.stop()


def client_for(consumer="py-gw", app=None):
    app = app or next(_next_app)
    return BridgeClient(bridge.url, token_for(app), app=app, consumer=consumer), app


class ClientMethods(unittest.TestCase):
    def test_pull_ack_status_history(self):
        client, app = client_for()
        sent = [bridge.callback(app, text="m%d" % i) for i in range(3)]
        res = client.pull(max=2, lease_ms=30_000)
        self.assertEqual([e["payload"] for e in res["events"]], sent[:2])
        self.assertEqual(res["mode"], "webhook")
        self.assertEqual(client.ack([e["leaseId"] for e in res["events"]])["stale"], [])
        status = client.status()
        self.assertEqual((status["depth"], status["leased"], status["ready"]), (1, 0, 1))
        history = client.history(limit=10)
        self.assertEqual([e["state"] for e in history["events"]], ["acked", "acked", "ready"])
        self.assertEqual(history["events"][0]["payload"]["senderNick"], "测试")

    def test_nack_dead_letters_and_redrive(self):
        client, app = client_for()
        bridge.callback(app)
        for attempt in (1, 2, 3):
            event = client.pull()["events"][0]
            self.assertEqual(event["attempt"], attempt)
            client.nack([event["leaseId"]], 0, "failed %d" % attempt)
        self.assertEqual(client.pull()["events"], [])
        dead = client.dead_letters()["events"]
        self.assertEqual((dead[0]["state"], dead[0]["lastReason"]), ("dead", "failed 3"))
        self.assertEqual(client.redrive()["redriven"], 1)
        self.assertEqual(client.pull()["events"][0]["attempt"], 1)

    def test_nack_delay_and_extend(self):
        client, app = client_for()
        bridge.callback(app)
        event = client.pull(lease_ms=2_000)["events"][0]
        extended = client.extend([event["leaseId"]], 60_000)
        self.assertEqual(extended["extended"], [event["leaseId"]])
        time.sleep(2.5)
        self.assertEqual(client.pull()["events"], [], "an extended lease must not come back")
        client.nack([event["leaseId"]], delay_ms=1_000)
        self.assertEqual(client.pull()["events"], [])
        time.sleep(1.2)
        self.assertEqual(client.pull()["events"][0]["attempt"], 2)

    def test_heartbeat_reports_stream_health(self):
        client, app = client_for()
        health = StreamHealth()
        health.connected_now()
        health.connected_now()
        health.message_received("msgSeenOverStream")
        report = health.take_report()
        self.assertEqual(report["msgIds"], ["msgSeenOverStream"])
        self.assertEqual(len(report["reconnects"]), 1)
        beat = client.heartbeat(report)
        self.assertEqual(beat["mode"], "stream")
        self.assertGreater(beat["pollHintMs"], 0)
        bridge.callback(app, msg_id="msgSeenOverStream")
        self.assertEqual(client.pull()["events"], [], "a msgId already delivered over Stream is never handed out")
        self.assertNotIn("msgIds", health.take_report())
        status = client.status()
        self.assertEqual(status["consumers"]["list"][0]["id"], "py-gw")

    def test_typed_errors(self):
        client, app = client_for()
        with self.assertRaises(BridgeAuthError):
            BridgeClient(bridge.url, "wrong", app=app).status()
        # An unknown app is refused like a wrong token, so app names cannot be probed.
        with self.assertRaises(BridgeAuthError):
            BridgeClient(bridge.url, "x", app="nope").status()
        with self.assertRaises(BridgeRequestError) as caught:
            client.ack([])
        self.assertEqual(caught.exception.status, 400)
        self.assertIn("leaseIds", str(caught.exception))
        with self.assertRaises(BridgeNetworkError) as caught:
            BridgeClient("http://127.0.0.1:%d" % free_port(), "t", retries=1).status()
        self.assertTrue(caught.exception.retryable)
        self.assertNotIn(token_for(app), repr(client))


class DrainLoops(unittest.TestCase):
    def test_drain_acks_retries_and_stops(self):
        client, app = client_for()
        for i in range(4):
            bridge.callback(app, text="d%d" % i)
        seen, stop = [], threading.Event()

        def handler(event):
            seen.append((event["payload"]["text"]["content"], event["attempt"]))
            if event["payload"]["text"]["content"] == " d1" and event["attempt"] == 1:
                raise RuntimeError("transient")
            if sum(1 for _, a in seen) >= 5:
                stop.set()

        stats = client.drain(handler, stop_event=stop, wait_ms=500, retry_delay_ms=lambda attempt: 100)
        self.assertEqual(seen[:4], [(" d0", 1), (" d1", 1), (" d2", 1), (" d3", 1)])
        self.assertEqual(seen[4], (" d1", 2))
        self.assertEqual((stats.acked, stats.nacked), (4, 1))
        self.assertEqual(client.status()["depth"], 0)

    def test_drain_keeps_a_long_handler_leased(self):
        client, app = client_for()
        bridge.callback(app)
        stop, rival = threading.Event(), []

        def slow(event):
            time.sleep(2.5)
            rival.extend(BridgeClient(bridge.url, token_for(app), app=app, consumer="rival").pull()["events"])
            stop.set()

        client.drain(slow, stop_event=stop, lease_ms=1_000, wait_ms=200)
        self.assertEqual(rival, [])
        self.assertEqual(client.status()["depth"], 0)

    def test_async_drain_does_not_block_the_loop(self):
        sync_client, app = client_for()
        client = AsyncBridgeClient(bridge.url, token_for(app), app=app, consumer="py-async")
        for i in range(3):
            bridge.callback(app, text="a%d" % i)

        async def run():
            stop, got, ticks = asyncio.Event(), [], [0]

            async def ticker():
                while not stop.is_set():
                    ticks[0] += 1
                    await asyncio.sleep(0.01)

            async def handler(event):
                await asyncio.sleep(0.05)
                got.append(event["payload"]["text"]["content"])
                if len(got) == 3:
                    stop.set()

            tick_task = asyncio.ensure_future(ticker())
            stats = await client.drain(handler, stop=stop, wait_ms=2_000)
            await tick_task
            return got, stats, ticks[0]

        got, stats, ticks = asyncio.run(run())
        self.assertEqual(got, [" a0", " a1", " a2"])
        self.assertEqual(stats.acked, 3)
        self.assertGreater(ticks, 5, "the event loop kept running while the client waited on HTTP")
        self.assertEqual(asyncio.run(client.status())["depth"], 0)

    def test_stream_mode_pause_ends_when_the_bridge_says_webhook(self):
        client, app = client_for()
        client.heartbeat({"connected": True, "lastMessageAt": int(time.time() * 1000)})
        self.assertEqual(client.status()["mode"], "stream")
        stop, got = threading.Event(), []

        def handler(event):
            got.append(time.monotonic())
            stop.set()

        runner = threading.Thread(target=client.drain, args=(handler,),
                                  kwargs={"stop_event": stop, "wait_ms": 200, "heartbeat_s": 0.3}, daemon=True)
        runner.start()
        time.sleep(0.6)  # the loop is now pausing out a stream-mode poll hint
        flipped = time.monotonic()
        bridge.callback(app)  # DingTalk delivers to the bridge again
        runner.join(10)
        self.assertFalse(runner.is_alive(), "the drain loop kept sleeping out its stream-mode pause")
        self.assertLess(got[0] - flipped, 5)

    def test_killed_consumer_loses_nothing(self):
        client, app = client_for(consumer="py-killed")
        for i in range(5):
            bridge.callback(app, text="k%d" % i)
        script = (
            "import sys, time; sys.path.insert(0, %r)\n"
            "from dingtalk_bridge import BridgeClient\n"
            "c = BridgeClient(%r, %r, app=%r, consumer='py-killed')\n"
            "print(len(c.pull(max=5, lease_ms=600000)['events']), flush=True)\n"
            "time.sleep(60)\n"
        ) % (os.path.dirname(os.path.abspath(__file__)), bridge.url, token_for(app), app)
        victim = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        self.assertEqual(victim.stdout.readline().strip(), "5")
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        victim.stdout.close()
        # The restarted consumer (same id) releases the 10-minute leases at once.
        back = client.pull(max=10, release=True)
        self.assertEqual(back["released"], 5)
        self.assertEqual([e["attempt"] for e in back["events"]], [2] * 5)
        self.assertEqual([e["payload"]["text"]["content"] for e in back["events"]], [" k%d" % i for i in range(5)])


if __name__ == "__main__":
    unittest.main()
