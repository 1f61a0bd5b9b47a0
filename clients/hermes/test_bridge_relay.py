"""The Hermes drop-in against a real local bridge, with a stub adapter (always runs).

Run from the repository root after `npm ci`:  python3 -m unittest discover -s clients/hermes -v

The stub (stub_adapter.py) has the shape of Hermes's DingTalk adapter and carries the same hooks as
adapter.patch; it is copied as `adapter.py` into a package beside bridge_relay.py and
dingtalk_bridge.py, and imported the way Hermes imports a plugin. test_real_hermes.py runs the real
adapter when a Hermes checkout is present. `RepliesThroughTheBridge` uses the bridge's `send`
route and skips, saying so, until the bridge has it.
"""

import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_CLIENT = os.path.join(HERE, "..", "python")
sys.path[:0] = [HERE, PYTHON_CLIENT]

from dingtalk_bridge import BridgeClient  # noqa: E402
from fake_dingtalk import FakeDingTalk  # noqa: E402
from hermes_harness import load_package  # noqa: E402
from local_bridge import MSG_TYPES, LocalBridge, robot_message, token_for  # noqa: E402

APPS = ["s%d" % i for i in range(16)]
bridge = dingtalk = stub = None
_apps = iter(APPS)
_tmp = tempfile.mkdtemp(prefix="hermes-dropin-")


def make_plugin(directory, adapter_source):
    """A plugin package like Hermes's plugins/platforms/dingtalk with the drop-in's two files."""
    os.makedirs(directory)
    open(os.path.join(directory, "__init__.py"), "w").close()
    shutil.copy(adapter_source, os.path.join(directory, "adapter.py"))
    shutil.copy(os.path.join(HERE, "bridge_relay.py"), directory)
    shutil.copy(os.path.join(PYTHON_CLIENT, "dingtalk_bridge.py"), directory)
    return directory


def setUpModule():
    global bridge, dingtalk, stub
    dingtalk = FakeDingTalk()
    bridge = LocalBridge(APPS, {"MAX_ATTEMPTS": "5", "DINGTALK_API_BASE": dingtalk.url})
    plugin = make_plugin(os.path.join(_tmp, "stub_plugin"), os.path.join(HERE, "stub_adapter.py"))
    load_package("hermes_plugins.stub_dingtalk", plugin)
    from hermes_plugins.stub_dingtalk import adapter
    stub = adapter


def tearDownModule():
    bridge.stop()
    dingtalk.stop()
    shutil.rmtree(_tmp, ignore_errors=True)


def extra_for(app, mode="only", **more):
    journal = os.path.join(_tmp, "journals", "%s-%s.jsonl" % (app, mode))
    return dict({"bridge_url": bridge.url, "bridge_app": app, "bridge_mode": mode, "bridge_journal": journal,
                 "bridge_consumer": "hermes-test-%s" % app}, **more)


def bridge_env(app):
    return mock.patch.dict(os.environ, {"DINGTALK_BRIDGE_TOKEN": token_for(app)})


async def wait_until(probe, timeout=10.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting for %s" % what)


class Running:
    """A stub adapter connected inside the current event loop, with an agent that records turns."""

    def __init__(self, extra, reply=None):
        self.adapter = stub.DingTalkAdapter(stub.PlatformConfig(extra=extra))
        self.turns = []

        async def agent(event):
            self.turns.append(event)
            return reply

        self.adapter.set_message_handler(agent)

    async def __aenter__(self):
        await self.adapter.connect()
        return self

    async def __aexit__(self, *exc):
        await self.adapter.disconnect()


def rival_gets(app, wait_ms=3000):
    return BridgeClient(bridge.url, token_for(app), app=app, consumer="rival").pull(wait_ms=wait_ms)["events"]


class Guarded(unittest.TestCase):
    """With no bridge configured, every hook is a no-op: the adapter runs exactly as before."""

    def test_no_bridge_configured_means_no_relay(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DINGTALK_BRIDGE", "DTBRIDGE"))}
        with mock.patch.dict(os.environ, env, clear=True), self.assertLogs("hermes_plugins.stub_dingtalk.bridge_relay", logging.INFO) as logs:
            logging.getLogger("hermes_plugins.stub_dingtalk.bridge_relay").info("start")
            self.assertIsNone(stub.DingTalkAdapter(stub.PlatformConfig(extra={}))._bridge)
            self.assertIsNone(stub.DingTalkAdapter(stub.PlatformConfig(extra={"bridge_url": bridge.url, "bridge_mode": "off"}))._bridge)
            self.assertIsNone(stub.DingTalkAdapter(stub.PlatformConfig(extra={"bridge_url": bridge.url}))._bridge)
            os.environ["DTBRIDGE_TOKEN"] = "t"  # the shared name is read too
            relay = stub.DingTalkAdapter(stub.PlatformConfig(extra={"bridge_url": bridge.url, "bridge_mode": "fallback"}))._bridge
        self.assertEqual((relay.mode, relay.wants_stream), ("hedge", True))
        self.assertTrue(any("DINGTALK_BRIDGE_TOKEN is not" in line for line in logs.output))
        self.assertTrue(any("unknown bridge_mode 'fallback'" in line for line in logs.output))

    def test_the_default_consumer_is_per_host_and_profile(self):
        relay = stub.bridge_relay
        host = relay.bridge_client.default_consumer("hermes")
        self.assertEqual(relay.default_consumer("/home/op/.hermes"), host)
        self.assertEqual(relay.default_consumer("/home/op/.hermes/profiles/work"), host + "-work")

    def test_without_a_bridge_the_adapter_runs_its_stream(self):
        async def run():
            adapter = stub.DingTalkAdapter(stub.PlatformConfig(extra={}))
            await adapter.connect()
            await wait_until(lambda: adapter._stream_client.websocket, what="the Stream socket")
            self.assertIsNotNone(adapter._stream_task)
            await adapter.disconnect()

        asyncio.run(run())

    def test_a_relay_that_cannot_start_leaves_the_stream_on(self):
        app = next(_apps)

        async def run():
            with bridge_env(app):
                adapter = stub.DingTalkAdapter(stub.PlatformConfig(extra=extra_for(app, bridge_journal="/proc/no/such/dir/j")))
            with self.assertLogs(level="ERROR"):
                await adapter.connect()
            self.assertTrue(adapter._bridge.failed)
            self.assertIsNotNone(adapter._stream_task, "only mode, but the relay failed: the adapter keeps its own Stream")
            await adapter.disconnect()

        asyncio.run(run())


class Journal(unittest.TestCase):
    def test_it_survives_a_reopen_and_compacts(self):
        path = os.path.join(_tmp, "journal-unit", "j.jsonl")
        now = [1_000_000.0]
        journal = stub.bridge_relay.Journal(path, clock=lambda: now[0])
        journal.open()
        old = {"id": "e-old", "seq": 1, "attempt": 1, "payload": {"msgId": "m-old", "conversationId": "c1"}}
        new = {"id": "e-new", "seq": 2, "attempt": 1, "payload": {"msgId": "m-new", "conversationId": "c2"}}
        journal.record_handed(old)
        journal.record_acked("e-old")
        journal.record_handed(new)  # its ack never confirmed: a crash
        journal.record_stream_message("m-stream")
        journal.record_stream_open()
        journal.close()
        with open(path, "a") as f:
            f.write('{"h": "e-torn", "s"')  # a record torn by kill -9
        now[0] += 2 * 3600  # two hours later
        again = stub.bridge_relay.Journal(path, clock=lambda: now[0])
        again.open()
        self.assertTrue(again.was_handed(dict(new, attempt=2)))
        self.assertFalse(again.was_handed(dict(new, attempt=1, payload={"msgId": "m-other"})))
        self.assertEqual(again.unconfirmed(), [("e-new", 2)])
        self.assertEqual(again.chats, {"c1": "e-old", "c2": "e-new"}, "the latest event per chat stays for replies")
        self.assertNotIn("m-stream", again.by_msg, "Stream msgIds only matter for an hour")
        self.assertEqual(again.opens, [])
        self.assertNotIn("e-torn", again.handed)
        again.close()


class OnlyMode(unittest.TestCase):
    def test_every_type_goes_through_the_adapters_own_inbound_step(self):
        app = next(_apps)
        sent = [robot_message(t, text="only-%s" % t) for t in MSG_TYPES]
        ungated = robot_message("text", text="hello group", group=True)  # isInAtList: the bot was mentioned
        gated = robot_message("text", text="not for the bot", group=True, isInAtList=False)

        async def run():
            with bridge_env(app):
                running = Running(extra_for(app, require_mention=True))
            async with running:
                adapter = running.adapter
                self.assertIsNone(adapter._stream_task, "only mode opens no Stream connection")
                for body in sent + [ungated, gated]:
                    self.assertEqual(bridge.post_callback(app, body), 200)
                await wait_until(lambda: len(running.turns) == len(sent) + 1, what="every message handed over")
                await wait_until(lambda: BridgeClient(bridge.url, token_for(app), app=app).status()["depth"] == 0, what="all acked")
                return running, adapter

        running, adapter = asyncio.run(run())
        self.assertEqual([e.raw_message.raw for e in running.turns], sent + [ungated], "payloads arrive as DingTalk sent them")
        self.assertEqual({m for _, m in adapter.reactions}, {b["msgId"] for b in sent + [ungated, gated]},
                         "every bridged message took the adapter's inbound step (its thinking reaction)")
        self.assertTrue(running.turns[-1].raw_message.is_in_at_list, "the mention backfill ran")
        self.assertNotIn(gated["msgId"], [e.message_id for e in running.turns], "mention gating applies to bridged messages")

    def test_disconnect_is_fast_with_a_long_poll_in_flight(self):
        for mode in ("only", "hedge"):
            with self.subTest(mode=mode):
                app = next(_apps)

                async def run():
                    with bridge_env(app):
                        running = Running(extra_for(app, mode))
                    await running.__aenter__()
                    await asyncio.sleep(1.0)  # the relay now waits in a long poll; in hedge the SDK loop runs
                    started = time.monotonic()
                    await running.adapter.disconnect()
                    return time.monotonic() - started

                elapsed = asyncio.run(run())
                self.assertLess(elapsed, 1.0, "disconnect took %.2f s" % elapsed)
                body = bridge.callback(app)
                self.assertEqual([e["payload"] for e in rival_gets(app)], [body], "no long poll left on the bridge took it")


class Hedge(unittest.TestCase):
    def test_stream_health_is_real_and_survives_a_restart(self):
        app = next(_apps)
        client = BridgeClient(bridge.url, token_for(app), app=app)
        stream_frame = robot_message("text", text="over stream")

        async def first_run():
            with bridge_env(app):
                running = Running(extra_for(app, "hedge", bridge_heartbeat_s=0.2))
            async with running:
                adapter = running.adapter
                await wait_until(lambda: client.status()["stream"]["connected"], what="the Stream socket reported open")
                adapter._stream_client.reconnect()  # DingTalk drops the socket; the SDK opens another
                await wait_until(lambda: len(client.status()["stream"]["recentReconnects"]) == 1, what="one reconnect")
                frame = stub.bridge_relay._callback_message({"id": "x", "payload": stream_frame})
                del frame.bridge_event  # as the SDK hands a Stream frame to the handler
                await adapter._bridge._handler.process(frame)
                await wait_until(lambda: running.turns, what="the Stream message handed over")
            # disconnect flushed the msgId: a copy of it that reaches the bridge is never handed out
            self.assertEqual(bridge.post_callback(app, stream_frame), 200)
            self.assertEqual(rival_gets(app, wait_ms=500), [])

        async def second_run():
            with bridge_env(app):
                running = Running(extra_for(app, "hedge", bridge_heartbeat_s=0.2))
            async with running:
                await wait_until(lambda: len(client.status()["stream"]["recentReconnects"]) == 2,
                                 what="the restart's first open counted as a reconnect")
                # DingTalk redelivers the message to the new adapter, whose in-memory dedup is new
                frame = stub.bridge_relay._callback_message({"id": "x", "payload": stream_frame})
                del frame.bridge_event
                await running.adapter._bridge._handler.process(frame)
                await asyncio.sleep(0.3)
                self.assertEqual(running.turns, [], "a message the agent had before a reconnect is not run again")

        asyncio.run(first_run())
        asyncio.run(second_run())


class Crashes(unittest.TestCase):
    """kill -9 on either side of the moment the agent gets a message: once, never twice, never lost."""

    def run_gateway(self, app, **config):
        path = os.path.join(_tmp, "harness-%s-%d.json" % (app, time.monotonic_ns()))
        config = dict({"stub": True, "plugin_dir": os.path.join(_tmp, "stub_plugin"), "turns": self.turns,
                       "env": {"DINGTALK_BRIDGE_TOKEN": token_for(app)}}, **config)
        with open(path, "w") as f:
            json.dump(config, f)
        log = open(self.log, "a")
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "hermes_harness.py"), path], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()

        def cleanup():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdin.close()
            proc.stdout.close()

        self.addCleanup(cleanup)
        self.assertTrue(json.loads(proc.stdout.readline())["connected"])
        return proc

    def turns_for(self, msg_id):
        with open(self.turns) as f:
            return [t for t in map(json.loads, f) if t["message_id"] == msg_id]

    def setUp(self):
        name = self.id().rsplit(".", 1)[-1]
        self.turns = os.path.join(_tmp, "turns-%s.jsonl" % name)
        self.log = os.path.join(_tmp, "gateway-%s.log" % name)

    def assert_once_after_restart(self, app, msg_id, extra):
        gateway = self.run_gateway(app, extra=extra)
        deadline = time.time() + 10
        while not self.turns_for(msg_id) and time.time() < deadline:
            time.sleep(0.05)
        client = BridgeClient(bridge.url, token_for(app), app=app)
        while client.status()["depth"] and time.time() < deadline:
            time.sleep(0.05)
        gateway.stdin.write("stop\n")
        gateway.stdin.flush()
        self.assertLess(json.loads(gateway.stdout.readline())["disconnected_s"], 2.0)
        gateway.wait(5)
        self.assertEqual(len(self.turns_for(msg_id)), 1)
        self.assertEqual(client.status()["depth"], 0)

    def test_killed_after_the_agent_got_it_the_turn_is_not_run_again(self):
        app = next(_apps)
        extra = extra_for(app)
        body = robot_message("text", text="the agent has this one")
        crashing = self.run_gateway(app, extra=extra, kill_on_turn=body["msgId"])
        bridge.post_callback(app, body)
        crashing.wait(10)
        self.assertEqual(len(self.turns_for(body["msgId"])), 1)
        self.assertEqual(BridgeClient(bridge.url, token_for(app), app=app).status()["leased"], 1, "handed but not acked")
        self.assert_once_after_restart(app, body["msgId"], extra)
        with open(self.log) as f:
            self.assertIn("(msgId %s, attempt 2) reached the agent before; acked without a second turn" % body["msgId"], f.read())

    def test_killed_before_the_agent_got_it_the_message_is_not_lost(self):
        app = next(_apps)
        body = robot_message("text", text="not yet handed")
        crashing = self.run_gateway(app, extra=extra_for(app, test_kill_before_dispatch=body["msgId"]))
        bridge.post_callback(app, body)
        crashing.wait(10)
        self.assertEqual(self.turns_for(body["msgId"]), [])
        self.assert_once_after_restart(app, body["msgId"], extra_for(app))


class RepliesThroughTheBridge(unittest.TestCase):
    """The bridge's `send` route, for a reply whose session webhook is about to expire."""

    def test_a_reply_to_a_stale_message_goes_through_the_bridge(self):
        app = next(_apps)
        body = robot_message("text", text="late question", webhook=dingtalk.session_webhook("stale"), webhook_expires_in_ms=60_000)

        async def run():
            with bridge_env(app):
                running = Running(extra_for(app), reply="late answer")
            async with running:
                bridge.post_callback(app, body)
                await wait_until(lambda: running.adapter.sent, what="the reply")
                return running.adapter

        adapter = asyncio.run(run())
        result = adapter.sent[0]
        self.assertTrue(result.success, result.error)
        self.assertTrue(result.message_id.startswith("reply:"))
        self.assertEqual(adapter.done_reactions, [body["conversationId"]])
        self.assertTrue(any("late answer" in json.dumps(b, ensure_ascii=False) for b in dingtalk.sent("/v1.0/robot/")),
                        "DingTalk's robot API got the reply")


if __name__ == "__main__":
    unittest.main()
