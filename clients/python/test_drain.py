"""The drain loop against a real local bridge (wrangler dev on 127.0.0.1), blocking and asyncio,
and against canned answers (one poison event, stopping fast).

Run from the repository root after `npm ci`:  python3 -m unittest discover -s clients/python -v
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "..", "test", "harness", "python")]

import shared_bridge  # noqa: E402
from local_bridge import free_port, robot_message, token_for  # noqa: E402,F401

from dingtalk_bridge import AbortSignal, AsyncBridgeClient, BridgeClient, BridgeDecodeError, BridgeNetworkError, StreamHealth  # noqa

client_for = shared_bridge.client_for
bridge = dingtalk = None


def setUpModule():
    global bridge, dingtalk
    bridge, dingtalk = shared_bridge.start(shared_bridge.CLIENT_TEST_ENV)


class DrainLoops(unittest.TestCase):
    def test_drain_acks_retries_and_stops(self):
        client, app = client_for()
        for i in range(4):
            bridge.callback(app, text="d%d" % i)  # one conversation
        seen, acked, stop, keyed = [], [], threading.Event(), []

        def handler(event):
            keyed.append("orderingKey" in event)
            seen.append((event["payload"]["text"]["content"], event["attempt"]))
            if event["payload"]["text"]["content"] == " d1" and event["attempt"] == 1:
                raise RuntimeError("transient")

        def on_acked(event):
            acked.append(event["payload"]["text"]["content"])
            if len(acked) == 4:
                stop.set()

        stats = client.drain(handler, stop_event=stop, wait_ms=500, retry_delay_ms=lambda attempt: 100, on_acked=on_acked)
        self.assertEqual(seen[:2], [(" d0", 1), (" d1", 1)])
        self.assertEqual(sorted(acked), [" d0", " d1", " d2", " d3"])
        self.assertEqual((stats.acked, stats.nacked), (4, 1))
        self.assertEqual(client.status()["depth"], 0)
        if all(keyed):  # a bridge with ordering: the failed message goes again before the next ones
            self.assertEqual([text for text, _ in seen], [" d0", " d1", " d1", " d2", " d3"])
            self.assertEqual(acked, [" d0", " d1", " d2", " d3"])

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



# ---- one poison event, stopping fast, settings ----------------------------------------------------


POISON = "[" * 3000 + "]" * 3000


def canned_event(i, payload_text):
    return ('{"id":"e%d","seq":%d,"kind":"robot","source":"webhook","dedupKey":"m%d","receivedAt":1,'
            '"attempt":1,"leaseId":"l%d","leaseExpiresAt":2,"payload":%s}') % (i, i, i, i, payload_text)


def canned_listing(*events, **members):
    head = json.dumps(dict({"mode": "webhook", "pollHintMs": 0, "leaseMs": 60000}, **members))[:-1]
    return '%s,"events":[%s]}' % (head, ",".join(events))


class CannedBridge:
    """A stand-in bridge answering each route with canned text (the first answer per route is used
    once, then the last one forever), recording every request body."""

    def __init__(self, answers):
        self.answers = {route: list(texts) for route, texts in answers.items()}
        self.calls = []
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                route = self.path.split("/v1/canned/", 1)[1].split("?", 1)[0]
                canned.calls.append((route, body))
                texts = canned.answers.get(route) or ["{}"]
                text = texts.pop(0) if len(texts) > 1 else texts[0]
                data = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.client = BridgeClient("http://127.0.0.1:%d" % self.server.server_address[1], "t", app="canned", consumer="c")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class PoisonEvents(unittest.TestCase):
    def test_a_poison_event_is_nacked_alone_and_the_drain_goes_on(self):
        tricky = '{"msgId":"a","text":{"content":"br]a}c\\"k[e{t"}}'
        batch = canned_listing(canned_event(1, tricky), canned_event(2, POISON), canned_event(3, '{"msgId":"c"}'))
        canned = CannedBridge({"pull": [batch, canned_listing()]})
        self.addCleanup(canned.close)
        seen, stop, errors = [], threading.Event(), []

        def handler(event):
            seen.append(event["payload"])
            if len(seen) == 2:
                stop.set()

        canned.client.drain(handler, stop_event=stop, wait_ms=0, on_error=lambda e, where: errors.append(where))
        self.assertEqual(seen, [{"msgId": "a", "text": {"content": 'br]a}c"k[e{t'}}, {"msgId": "c"}])
        settled = [(route, body) for route, body in canned.calls if route in ("ack", "nack")]
        self.assertEqual(sorted(i for r, b in settled if r == "ack" for i in b["leaseIds"]), ["l1", "l3"])
        nacks = [b for r, b in settled if r == "nack"]
        self.assertEqual([b["leaseIds"] for b in nacks], [["l2"]])
        self.assertIn("nested too deeply", nacks[0]["reason"])
        self.assertIn("handler", errors)

    def test_listings_decode_event_by_event_and_fail_typed(self):
        listing = canned_listing(canned_event(1, '{"msgId":"a"}'), canned_event(2, POISON), nextAfterSeq=2)
        canned = CannedBridge({"dead-letters": [listing, '{"nextAfterSeq":%s,"events":[]}' % POISON, "not json"]})
        self.addCleanup(canned.close)
        events = canned.client.dead_letters()["events"]
        self.assertEqual(events[0]["payload"], {"msgId": "a"})
        self.assertEqual((events[1]["id"], events[1]["payload"]), ("e2", None))
        self.assertIn("nested too deeply", events[1]["decodeError"])
        for _ in range(2):  # a listing whose own members cannot be decoded, then one that is not JSON
            with self.assertRaises(BridgeDecodeError) as caught:
                canned.client.dead_letters()
            self.assertEqual(caught.exception.code, "bad_response")


class StoppingFast(unittest.TestCase):
    def assert_takes_effect_within(self, seconds, act, wait):
        """``wait()`` returns within ``seconds`` of ``act()``."""
        started = time.monotonic()
        act()
        wait()
        self.assertLess(time.monotonic() - started, seconds)

    def assert_nothing_swallowed(self, app):
        """A message after the stop reaches another consumer at once: no dangling long poll took it."""
        sent = bridge.callback(app)
        rival = BridgeClient(bridge.url, token_for(app), app=app, consumer="py-rival")
        self.assertEqual([e["payload"] for e in rival.pull(wait_ms=3000)["events"]], [sent])

    def test_abort_ends_a_long_poll_at_once(self):
        client, app = client_for(consumer="py-abort")
        abort, box = AbortSignal(), {}

        def poll():
            try:
                box["res"] = client.pull(wait_ms=20_000, signal=abort)
            except BridgeNetworkError as error:
                box["error"] = error

        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(0.5)
        self.assert_takes_effect_within(0.5, abort.abort, lambda: poller.join(5))
        self.assertEqual(box["error"].code, "aborted")
        self.assertEqual(client.release()["events"], [])
        self.assert_nothing_swallowed(app)

    def test_drain_stops_at_once_with_a_long_poll_in_flight(self):
        client, app = client_for(consumer="py-stop")
        stop = threading.Event()
        runner = threading.Thread(target=client.drain, args=(lambda e: None,), kwargs={"stop_event": stop, "wait_ms": 20_000})
        runner.start()
        time.sleep(0.8)
        self.assert_takes_effect_within(1.0, stop.set, lambda: runner.join(5))
        self.assert_nothing_swallowed(app)

    def test_async_drain_stops_at_once_and_flushes_stream_msg_ids(self):
        sync_client, app = client_for(consumer="py-astop")
        client = AsyncBridgeClient(bridge.url, token_for(app), app=app, consumer="py-astop")
        health = StreamHealth()

        async def run():
            stop = asyncio.Event()
            task = asyncio.ensure_future(client.drain(lambda e: None, stop=stop, wait_ms=20_000, stream_health=health))
            await asyncio.sleep(0.8)
            health.message_received("msgSeenJustBeforeStop")
            started = time.monotonic()
            stop.set()
            await task
            return time.monotonic() - started

        self.assertLess(asyncio.run(run()), 1.0)
        self.assertFalse(health.has_unreported(), "the msgIds seen over Stream were reported on stop")
        bridge.callback(app, msg_id="msgSeenJustBeforeStop")
        self.assertEqual(sync_client.pull()["events"], [])
        self.assert_nothing_swallowed(app)


if __name__ == "__main__":
    unittest.main()
