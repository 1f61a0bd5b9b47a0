"""The consumer API calls of dingtalk_bridge against a real local bridge (wrangler dev on 127.0.0.1).

Run from the repository root after `npm ci`:  python3 -m unittest discover -s clients/python -v

`BridgeFeatures` covers release-only pulls, `send`, `link` in status and `source` on events.
"""

import hashlib
import json
import os
import sys
import threading
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "..", "test", "harness", "python")]

import shared_bridge  # noqa: E402
from local_bridge import free_port, robot_message, token_for  # noqa: E402,F401

from dingtalk_bridge import (  # noqa: E402
    AsyncBridgeClient,
    BridgeAuthError,
    BridgeClient,
    BridgeError,
    BridgeNetworkError,
    BridgeRequestError,
    BridgeSendFailedError,
    StreamHealth,
    _error_for,
    default_consumer,
    reply_key,
)

bridge = dingtalk = None


def setUpModule():
    global bridge, dingtalk
    bridge, dingtalk = shared_bridge.start(shared_bridge.CLIENT_TEST_ENV)


client_for = shared_bridge.client_for


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
        self.assertEqual(history["events"][0]["payload"]["senderNick"], sent[0]["senderNick"])

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
        # A send the bridge gave up on answers so for good: not worth a retry.
        gave_up = _error_for(502, "dingtalk_unreachable", "DingTalk could not be reached for 24 hours")
        self.assertIsInstance(gave_up, BridgeSendFailedError)
        self.assertFalse(gave_up.retryable)


class Settings(unittest.TestCase):
    def test_default_consumer_differs_per_machine(self):
        with mock.patch("socket.gethostname", return_value="build box/ü 7"):
            self.assertEqual(default_consumer(), "build-box-7-python")
            self.assertEqual(BridgeClient("http://127.0.0.1:1", "t").consumer, "build-box-7-python")
        self.assertRegex(default_consumer("hermes"), r"^[A-Za-z0-9._:@-]{1,128}$")

    def test_settings_from_the_dtbridge_variables(self):
        _, app = client_for()
        env = {"DTBRIDGE_URL": bridge.url, "DTBRIDGE_TOKEN": token_for(app), "DTBRIDGE_APP": app, "DTBRIDGE_CONSUMER": "py-env"}
        with mock.patch.dict(os.environ, env):
            client = BridgeClient.from_env()
            self.assertEqual((client.app, client.consumer), (app, "py-env"))
            self.assertEqual(client.status()["app"], app)
            self.assertEqual(AsyncBridgeClient.from_env(consumer="py-other").consumer, "py-other")
        with mock.patch.dict(os.environ, {}, clear=True), self.assertRaises(BridgeError):
            BridgeClient.from_env()

    def test_reply_key_is_the_canonical_one(self):
        message = {"msgtype": "markdown", "markdown": {"title": "Hermes", "text": "你好 **world**"}}
        canonical = '{"markdown":{"text":"你好 **world**","title":"Hermes"},"msgtype":"markdown"}'
        expected = "reply:evt-1:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]
        self.assertEqual(reply_key("evt-1", message), expected)
        # The TypeScript client's key for the same messages (test/client/send.test.ts), byte for byte.
        self.assertEqual(expected, "reply:evt-1:6029336467ed1009a20d12966d34cf6e")
        self.assertEqual(reply_key("evt_1", {"msgtype": "text", "text": {"content": "hi"}}), "reply:evt_1:7a8cd1aa3c3363ab3fb9954f4484338d")
        self.assertEqual(reply_key("evt-1", json.loads(json.dumps(message, sort_keys=True))), expected)


# ---- release-only pulls, sending, the link and sources ---------------------------------------------


class BridgeFeatures(unittest.TestCase):
    """Release-only pulls, `send`, `link` in status and `source` on events."""

    def test_release_only_pull_leases_nothing_and_ends_long_polls(self):
        client, app = client_for(consumer="py-rel")
        bridge.callback(app)
        self.assertEqual(len(client.pull(max=1)["events"]), 1)
        box = {}
        waiter = threading.Thread(target=lambda: box.update(res=client.pull(wait_ms=20_000)))
        waiter.start()
        time.sleep(0.5)
        started = time.monotonic()
        res = client.release()
        waiter.join(5)
        self.assertLess(time.monotonic() - started, 1.0, "the release ended the waiting long poll at once")
        self.assertEqual((res["released"], res["events"], box["res"]["events"]), (1, [], []))
        self.assertTrue(client._release_only)

    def test_reply_goes_once_through_a_fresh_session_webhook(self):
        client, app = client_for()
        bridge.callback(app, webhook=dingtalk.session_webhook("fresh"))
        event = client.pull()["events"][0]
        client.ack([event["leaseId"]])
        message = {"msgtype": "text", "text": {"content": "pong once"}}
        first = client.send(message, reply_to=event["id"])
        again = client.send(message, reply_to=event["id"])
        self.assertEqual((first["via"], first["state"], first["key"]), ("sessionWebhook", "sent", reply_key(event["id"], message)))
        self.assertEqual(again["key"], first["key"])
        self.assertEqual(dingtalk.session_sends().count(message), 1)
        self.assertEqual(client.send_status(first["key"])["state"], "sent")

    def test_reply_to_a_stale_message_goes_through_the_robot_api(self):
        client, app = client_for()
        bridge.callback(app, webhook=dingtalk.session_webhook("stale"), webhook_expires_in_ms=60_000)
        event = client.pull()["events"][0]
        client.ack([event["leaseId"]])
        res = client.send({"msgtype": "text", "text": {"content": "pong late"}}, reply_to=event["id"])
        self.assertEqual((res["via"], res["state"]), ("robotApi", "sent"))
        self.assertTrue(any("pong late" in json.dumps(b, ensure_ascii=False) for b in dingtalk.robot_sends()))

    def test_history_filters_replay_and_purge(self):
        client, app = client_for()
        bridge.callback(app, text="one", conversation_id="cid-a")
        bridge.callback(app, text="two", conversation_id="cid-b")
        for event in client.pull(max=2)["events"]:
            client.ack([event["leaseId"]])
        only_b = client.history(conversation_id="cid-b")["events"]
        self.assertEqual([e["payload"]["conversationId"] for e in only_b], ["cid-b"])
        newest = client.history(limit=1, order="desc")["events"][0]
        self.assertEqual(newest["seq"], only_b[0]["seq"])
        self.assertEqual(client.replay(ids=[only_b[0]["id"]])["replayed"], 1)
        again = client.pull()["events"][0]
        self.assertEqual((again["replayOf"], again["payload"]), (only_b[0]["id"], only_b[0]["payload"]))
        client.nack([again["leaseId"]], 0, "dead on purpose")
        for _ in range(2):
            client.nack([client.pull()["events"][0]["leaseId"]], 0, "dead on purpose")
        self.assertEqual(client.purge()["purged"], 1)
        self.assertEqual(client.replay(from_seq=0, to_seq=0)["replayed"], 0)

    def test_outbox_lists_and_cancels(self):
        client, app = client_for()
        dingtalk.control("fail-next", {"route": "groupSend", "count": 5, "status": 503})
        self.addCleanup(dingtalk.control, "clear-failures", {})
        queued = client.send({"msgtype": "text", "text": {"content": "later"}}, to={"openConversationId": "cid-q"},
                             key="py-outbox-1")
        self.assertEqual(queued["state"], "queued")
        self.assertEqual([s["key"] for s in client.outbox(state="queued")["sends"]], ["py-outbox-1"])
        answer = client.cancel_sends(["py-outbox-1", "never-sent"])
        self.assertEqual(answer, {"cancelled": ["py-outbox-1"], "notQueued": ["never-sent"]})
        self.assertEqual(client.send_status("py-outbox-1")["state"], "cancelled")

    def test_status_passes_the_link_through(self):
        client, _ = client_for()
        self.assertIn("state", client.status()["link"])

    def test_events_carry_their_source(self):
        client, app = client_for()
        bridge.callback(app)
        event = client.pull()["events"][0]
        self.assertEqual(event["source"], "webhook")


if __name__ == "__main__":
    unittest.main()
