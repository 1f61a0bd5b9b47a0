"""The dingtalk-bridge plugin against the stub Hermes tree (stub_hermes/) and a real local bridge:
what test_real_hermes.py checks on a Hermes checkout, without one. Runs in `npm test`.

Run from the repository root after `npm ci`:  python3 -m unittest discover -s clients/hermes -v
"""

import asyncio
import os
import shutil
import sys
import tempfile
import types
import unittest

from plugin_cases import HERE, Gateway, PluginCases, robot_message, shared_bridge, wait_for  # noqa: F401

from journal import Journal  # noqa: E402
from turns import TurnTracker  # noqa: E402


class StubHermes(PluginCases, unittest.TestCase):
    def test_the_patch_acks_at_turn_completion_too(self):
        """The patch's relay hooks the adapter instance (stub adapter + the relay's files beside it)."""
        patched = os.path.join(self.scratch, "patched-dingtalk")
        shutil.copytree(os.path.join(self.tree, "plugins", "platforms", "dingtalk"), patched)
        home = self.new_home()
        for name in ("bridge_relay.py", "journal.py", "relay_settings.py", "stream_watch.py", "turns.py"):
            shutil.copy(os.path.join(HERE, name), patched)
        shutil.copytree(os.path.join(HERE, "..", "python", "dingtalk_bridge"), os.path.join(patched, "dingtalk_bridge"))
        app = shared_bridge.next_app()
        body = robot_message("text", text="patched, completed once")
        turns = os.path.join(self.scratch, "turns-%s.jsonl" % app)
        crashing = Gateway(self, app, self.extra(app), home=home, turns=turns, plugin_dir=patched,
                           kill_after_complete=body["msgId"])
        self.assertIn("BridgeRelay", crashing.started["bridge"])
        self.bridge.post_callback(app, body)
        crashing.proc.wait(15)
        again = Gateway(self, app, self.extra(app), home=home, turns=turns, plugin_dir=patched)
        wait_for(lambda: self.client(app).status()["depth"] == 0, 20, "the message acked")
        self.assertEqual(self.texts(again), ["patched, completed once"])
        again.stop()


class Registration(unittest.TestCase):
    def setUp(self):
        # The plugin's package, importable on its own for this check.
        home = tempfile.mkdtemp(prefix="hermes-check-")
        self.addCleanup(shutil.rmtree, home, True)
        from plugin_cases import install_plugin
        install_plugin(home)
        import importlib.util
        directory = os.path.join(home, "plugins", "dingtalk-bridge")
        spec = importlib.util.spec_from_file_location("hermes_plugins_check", os.path.join(directory, "__init__.py"),
                                                      submodule_search_locations=[directory])
        self.plugin = importlib.util.module_from_spec(spec)
        sys.modules["hermes_plugins_check"] = self.plugin
        spec.loader.exec_module(self.plugin)

    def test_missing_internals_are_named(self):
        sys.path.insert(0, PluginCases.tree)
        old = types.SimpleNamespace(DingTalkAdapter=type("DingTalkAdapter", (), {"connect": lambda self: None}),
                                    _IncomingHandler=type("H", (), {}), register=lambda ctx: None)
        missing = self.plugin.missing_internals(old)
        self.assertIn("_IncomingHandler.process", missing)
        self.assertIn("DingTalkAdapter.on_processing_complete", missing)
        registered = []
        ctx = types.SimpleNamespace(register_platform=lambda *a, **k: registered.append(a))
        self.plugin._bundled_module = lambda ctx: old
        with self.assertLogs(level="WARNING") as logs:
            self.plugin.register(ctx)
            self.plugin.register(ctx)
        self.assertEqual(registered, [], "nothing registered: the stock adapter runs")
        self.assertEqual(len(logs.output), 1, "said once")
        self.assertIn("DingTalkAdapter.on_processing_complete", logs.output[0])


class Later:
    def __init__(self):
        self.state = None

    def done(self):
        self.state = self.state or "done"

    def give_back(self):
        self.state = self.state or "given back"

    def fail(self, error):
        self.state = self.state or "failed"


class Turns(unittest.TestCase):
    """When a handed message is done, by what Hermes did with it."""

    def setUp(self):
        self.idle, self.records = set(), []
        self.tracker = TurnTracker(lambda e: e.session, lambda s: s in self.idle, lambda h: self.records.append(h.msg_id))
        self.loop = asyncio.new_event_loop()
        self.addCleanup(self.loop.close)

    def hand(self, msg_id, session=None):
        later = Later()
        self.tracker.begin(msg_id, {"id": "e-" + msg_id}, later, self.loop.create_future())
        event = None
        if session is not None:
            event = types.SimpleNamespace(message_id=msg_id, raw_message=None, session=session)
            self.tracker.handling(event)
        self.tracker.ended(msg_id)
        return later, event

    def test_dropped_at_hand_over_end_turn_at_completion_queued_when_idle(self):
        dropped, _ = self.hand("m0")
        self.assertEqual(dropped.state, "done")
        turn, event = self.hand("m1", "s")
        queued, _ = self.hand("m2", "s")
        self.tracker.check_idle()
        self.assertEqual((turn.state, queued.state), (None, None))
        self.tracker.turn_completed(event, cancelled=False)
        self.assertEqual((turn.state, queued.state), ("done", None), "the follow-up waits for its session")
        self.idle.add("s")
        self.tracker.check_idle()
        self.assertEqual(queued.state, "done")
        self.assertEqual(self.records, ["m0", "m1", "m2"], "a done record before each ack")

    def test_shutdown_gives_back_and_a_second_lease_shares_the_fate(self):
        turn, event = self.hand("m1", "s")
        second = Later()
        self.assertIsNone(self.tracker.begin("m1", {"id": "e-m1"}, second, self.loop.create_future()))
        self.tracker.shutting_down()
        self.idle.add("s")
        self.tracker.check_idle()
        self.tracker.turn_completed(event, cancelled=True)
        self.assertEqual((turn.state, second.state), ("given back", "given back"))
        self.assertEqual(self.records, [])


class Shutdown(unittest.TestCase):
    def test_a_message_leased_while_hermes_cancels_its_turns_goes_back_untouched(self):
        """Seen under a full CI load: a message given back at shutdown was leased again by the same
        stopping gateway, met Hermes's own dedup, passed for dropped, and was acked."""
        sys.path.insert(0, os.path.join(HERE, "..", "python"))
        import bridge_relay

        relay = object.__new__(bridge_relay.BridgeRelay)
        relay._name = "test"
        relay.journal = types.SimpleNamespace(is_done=lambda event: False)
        relay.tracker = TurnTracker(lambda e: None, lambda s: True, lambda h: None)
        relay.tracker.shutting_down()
        later = asyncio.run(relay._deliver({"id": "e1", "kind": "robot", "payload": {"msgId": "m1"}}))
        self.assertIsNone(later._verdict, "left for the drain's hand-back at its stop, attempt not counted")
        self.assertEqual(relay.tracker.waiting, [], "never handed to Hermes")


class JournalFile(unittest.TestCase):
    def test_it_survives_a_reopen_and_compacts(self):
        path = os.path.join(tempfile.mkdtemp(prefix="journal-"), "j.jsonl")
        now = [1_000_000.0]
        journal = Journal(path, clock=lambda: now[0])
        journal.open()
        old = {"id": "e-old", "seq": 1, "attempt": 1, "payload": {"msgId": "m-old", "conversationId": "c1"}}
        new = {"id": "e-new", "seq": 2, "attempt": 1, "payload": {"msgId": "m-new", "conversationId": "c2"}}
        journal.record_done(old)
        journal.record_acked("e-old")
        journal.record_done(new)  # its ack never confirmed: a crash
        journal.record_stream_message("m-stream")
        journal.record_stream_open()
        journal.close()
        with open(path, "a") as f:
            f.write('{"d": "e-torn", "s"')  # a record torn by kill -9
        now[0] += 2 * 3600  # two hours later
        again = Journal(path, clock=lambda: now[0])
        again.open()
        self.assertTrue(again.is_done(dict(new, attempt=2)))
        self.assertFalse(again.is_done({"id": "e-other", "payload": {"msgId": "m-other"}}))
        self.assertEqual(again.unconfirmed(), [("e-new", 2)])
        self.assertEqual(again.chats, {"c1": "e-old", "c2": "e-new"}, "the latest event per chat stays for replies")
        self.assertNotIn("m-stream", again.done_msgs, "Stream msgIds only matter for an hour")
        self.assertEqual((again.opens, "e-torn" in again.done), ([], False))
        again.close()


if __name__ == "__main__":
    unittest.main()
