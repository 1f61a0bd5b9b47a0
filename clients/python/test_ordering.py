"""Ordering in the drain loop: one key's events one after another, in order, keys side by side,
`held` on every pull, `Later`, a failed head, stopping. Against a scripted stand-in bridge that
answers at once, so each rule is checked exactly and fast; no local bridge needed.

Run from the repository root:  python3 -m unittest discover -s clients/python -p 'test_ordering.py' -v
"""

import asyncio
import json
import os
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dingtalk_bridge import AsyncBridgeClient, BridgeClient, Later  # noqa: E402
from dingtalk_bridge.ordering import UNKEYED, KeyedQueue, ordering_key  # noqa: E402


def event(name, key):
    return {"id": name, "seq": 1, "kind": "robot", "attempt": 1, "leaseId": "L-" + name, "orderingKey": key,
            "payload": {"msgId": name}}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a long poll the drain aborted on stop


class ScriptedBridge:
    """Hands out the scripted batches one pull at a time, then empty answers after a short wait;
    acks, nacks and extends succeed (acks after ``ack_delay_s``). Every call is recorded."""

    def __init__(self, *batches, ack_delay_s=0.0):
        self.batches = list(batches)
        self.calls = []
        self.lock = threading.Lock()
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                route = self.path.rsplit("/", 1)[1]
                with scripted.lock:
                    scripted.calls.append((route, body, time.monotonic()))
                    batch = scripted.batches.pop(0) if route == "pull" and body["max"] and scripted.batches else None
                if route == "pull" and batch is None and body["max"]:
                    time.sleep(min(body["waitMs"], 50) / 1000.0)
                if route == "ack":
                    time.sleep(ack_delay_s)
                answer = {"events": batch or [], "pollHintMs": 0, "leaseMs": 60000, "stale": [], "extended": body.get("leaseIds")}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.client = BridgeClient(self.url, "t", app="scripted", consumer="c")

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def bodies(self, route):
        with self.lock:
            return [body for r, body, _ in self.calls if r == route]

    def settled(self, route):
        return [lease for body in self.bodies(route) for lease in body["leaseIds"]]


class Timeline:
    """When each handler ran: (name, start, end)."""

    def __init__(self):
        self.spans, self.lock = [], threading.Lock()

    def run(self, name, seconds):
        start = time.monotonic()
        time.sleep(seconds)
        with self.lock:
            self.spans.append((name, start, time.monotonic()))

    def order(self, prefix):
        return [n for n, _, _ in sorted(self.spans, key=lambda s: s[1]) if n.startswith(prefix)]

    def overlap(self, a, b):
        (_, s1, e1), (_, s2, e2) = [next(s for s in self.spans if s[0] == n) for n in (a, b)]
        return s1 < e2 and s2 < e1


class KeyedQueueRules(unittest.TestCase):
    def test_one_key_waits_for_its_running_event_and_keys_take_turns(self):
        queue = KeyedQueue()
        for key, item in (("A", "a1"), ("A", "a2"), ("B", "b1"), ("A", "a3")):
            queue.add(key, item)
        self.assertEqual(queue.next(), ("A", "a1"))
        self.assertEqual(queue.next(), ("B", "b1"))
        self.assertIsNone(queue.next(), "A is running, B has nothing left")
        queue.finish("A")
        self.assertEqual(queue.next(), ("A", "a2"))
        self.assertEqual((queue.count, queue.running), (1, 2))
        self.assertEqual(queue.take_waiting("A"), ["a3"])
        self.assertEqual(queue.count, 0)

    def test_the_key_of_an_event(self):
        a, b = {"orderingKey": None}, {"orderingKey": None}
        self.assertNotEqual(ordering_key(a), ordering_key(b), "a null key orders nothing")
        self.assertEqual(ordering_key({"orderingKey": "cid"}), ordering_key({"orderingKey": "cid"}))
        self.assertIs(ordering_key({}), UNKEYED, "an older bridge's events keep one order")


class DrainOrdering(unittest.TestCase):
    def drain(self, bridge, handler, until, **options):
        stop = threading.Event()
        runner = threading.Thread(target=bridge.client.drain, args=(handler,),
                                  kwargs=dict({"stop_event": stop, "wait_ms": 100}, **options))
        runner.start()
        deadline = time.monotonic() + 10
        while not until() and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        runner.join(5)
        self.assertFalse(runner.is_alive())
        self.assertTrue(until(), "the drain did not get there")

    def test_one_key_in_order_and_keys_side_by_side(self):
        names = [("a1", "A"), ("b1", "B"), ("a2", "A"), ("n1", None), ("a3", "A"), ("b2", "B"), ("n2", None)]
        bridge = ScriptedBridge([event(n, k) for n, k in names])
        self.addCleanup(bridge.close)
        timeline = Timeline()
        self.drain(bridge, lambda e: timeline.run(e["id"], 0.15), lambda: len(bridge.settled("ack")) == 7, concurrency=4)
        self.assertEqual(timeline.order("a"), ["a1", "a2", "a3"])
        self.assertEqual(timeline.order("b"), ["b1", "b2"])
        for a, b in (("a1", "a2"), ("a2", "a3"), ("b1", "b2")):
            self.assertFalse(timeline.overlap(a, b), "%s and %s of one key ran at once" % (a, b))
        self.assertTrue(timeline.overlap("a1", "b1"), "different keys run side by side")
        self.assertTrue(timeline.overlap("n1", "n2"), "events without a key are not ordered")

    def test_every_pull_holds_what_is_not_answered_yet(self):
        bridge = ScriptedBridge([event("a1", "A"), event("a2", "A")], ack_delay_s=0.3)
        self.addCleanup(bridge.close)
        release = threading.Event()

        def handler(e):
            if e["id"] == "a1":
                release.wait(5)

        def held_in_pulls():
            return [body.get("held") for body in bridge.bodies("pull") if body["max"]]

        threading.Timer(0.3, release.set).start()
        self.drain(bridge, handler, lambda: [] in held_in_pulls()[1:])
        held = held_in_pulls()
        self.assertEqual(held[0], [])
        self.assertIn(["L-a1", "L-a2"], held, "a running event and one waiting behind it are held")
        self.assertEqual(sorted(bridge.settled("ack")), ["L-a1", "L-a2"])
        acks = [t for r, _, t in bridge.calls if r == "ack"]
        during_ack = [b.get("held") for r, b, t in bridge.calls if r == "pull" and b["max"] and acks and acks[0] < t < acks[0] + 0.25]
        self.assertTrue(during_ack and all("L-a1" in h for h in during_ack), "a lease whose ack is in flight stays held")

    def test_a_later_event_lets_its_key_go_on_and_stays_held_and_extended(self):
        bridge = ScriptedBridge([event("a1", "A"), event("a2", "A")])
        self.addCleanup(bridge.close)
        later, seen = Later(), []

        def handler(e):
            seen.append(e["id"])
            return later if e["id"] == "a1" else None

        threading.Timer(1.3, later.done).start()
        self.drain(bridge, handler, lambda: "L-a1" in bridge.settled("ack"), lease_ms=1000)
        self.assertEqual(seen, ["a1", "a2"])
        self.assertEqual(bridge.settled("ack"), ["L-a2", "L-a1"], "a2 went ahead; a1 was acked once settled")
        self.assertIn("L-a1", bridge.settled("extend"), "the unsettled lease was kept")
        self.assertTrue(any(b.get("held") == ["L-a1"] for b in bridge.bodies("pull")))

    def test_a_failed_event_sends_its_keys_later_events_back(self):
        bridge = ScriptedBridge([event("a1", "A"), event("a2", "A"), event("b1", "B")])
        self.addCleanup(bridge.close)
        seen = []

        def handler(e):
            seen.append(e["id"])
            if e["id"] == "a1":
                time.sleep(0.1)  # a2 arrives and waits behind it
                raise RuntimeError("no")

        self.drain(bridge, handler, lambda: bridge.settled("nack") and len(bridge.bodies("pull")) > 6,
                   retry_delay_ms=lambda attempt: 5000)
        self.assertNotIn("a2", seen, "a2 must not overtake the failed a1")
        self.assertEqual(bridge.settled("nack"), ["L-a1"])
        self.assertIn("b1", seen)
        self.assertNotIn("L-a2", bridge.bodies("pull")[-2].get("held"), "left out of held: the bridge takes it back")

    def test_stop_finishes_the_event_in_hand_and_hands_back_the_rest(self):
        bridge = ScriptedBridge([event("a1", "A"), event("a2", "A"), event("a3", "A")])
        self.addCleanup(bridge.close)
        started, seen = threading.Event(), []

        def handler(e):
            seen.append(e["id"])
            started.set()
            time.sleep(0.4)

        stop = threading.Event()
        runner = threading.Thread(target=bridge.client.drain, args=(handler,), kwargs={"stop_event": stop, "wait_ms": 100})
        runner.start()
        started.wait(5)
        time.sleep(0.1)
        stop.set()
        runner.join(5)
        self.assertEqual(seen, ["a1"])
        self.assertEqual(bridge.settled("ack"), ["L-a1"])
        routes = [r for r, _, _ in bridge.calls]
        last_pull = bridge.bodies("pull")[-1]
        self.assertEqual((last_pull["max"], last_pull["held"]), (0, []), "the rest went back, unstarted, so uncounted")
        self.assertNotIn("release", last_pull)
        self.assertLess(routes.index("ack"), len(routes) - 1 - routes[::-1].index("pull"), "acked before the hand-back")

    def test_the_asyncio_drain_runs_keys_side_by_side_on_the_loop(self):
        bridge = ScriptedBridge([event("a1", "A"), event("b1", "B"), event("a2", "A")])
        self.addCleanup(bridge.close)
        client = AsyncBridgeClient(bridge.url, "t", app="scripted", consumer="c")

        async def run():
            stop, spans = asyncio.Event(), {}

            async def handler(e):
                spans[e["id"]] = [time.monotonic(), None]
                await asyncio.sleep(0.2)
                spans[e["id"]][1] = time.monotonic()
                if len(bridge.settled("ack")) >= 2 and all(v[1] for v in spans.values()) and len(spans) == 3:
                    stop.set()

            await asyncio.wait_for(client.drain(handler, stop=stop, wait_ms=100), 10)
            return spans

        spans = asyncio.run(run())
        self.assertLess(spans["a1"][1], spans["a2"][0] + 1e-3, "a2 after a1")
        self.assertLess(spans["b1"][0], spans["a1"][1], "b1 beside a1")


if __name__ == "__main__":
    unittest.main()
