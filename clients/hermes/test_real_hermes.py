"""The plugin, and the patch for older Hermes, on a real Hermes checkout (skipped without one).

    HERMES_CHECKOUT=/path/to/hermes-agent \\
    HERMES_PYTHON=/usr/bin/python3 \\
    DINGTALK_STREAM_SDK=/path/to/dingtalk-stream-sdk-python \\
    python3 -m unittest discover -s clients/hermes -p 'test_real_hermes.py' -v

HERMES_PYTHON is an interpreter with Hermes's DingTalk dependencies (dingtalk-stream's websockets,
requests and aiohttp, plus httpx and PyYAML; on Debian: python3-websockets python3-requests
python3-aiohttp python3-httpx python3-yaml, and python3-pytest for Hermes's own adapter tests);
DINGTALK_STREAM_SDK is a directory holding the `dingtalk_stream` package (the version Hermes pins,
0.24.3) when that interpreter does not have it. `RealHermes` runs every case of plugin_cases.py
(the ones test_plugin.py runs on the stub) with Hermes's own plugin manager and adapter; the
checkout is never modified (the cases check it byte for byte). The patch tests copy the bundled
plugin out of the checkout and patch the copy. Figures go to $HERMES_RESULTS (default: a file in
the scratch directory) and standard error.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from plugin_cases import HERE, Gateway, PluginCases, robot_message, shared_bridge, wait_for

CHECKOUT = os.environ.get("HERMES_CHECKOUT", "")
PYTHON = os.environ.get("HERMES_PYTHON") or sys.executable
SDK = os.environ.get("DINGTALK_STREAM_SDK", "")
PLUGIN = os.path.join("plugins", "platforms", "dingtalk")
MSG_TYPES = ("text", "richText", "picture", "audio", "video", "file", "unknownMsgType")
results = {}


def setUpModule():
    if not CHECKOUT:
        raise unittest.SkipTest("no Hermes checkout: set HERMES_CHECKOUT to run the plugin on real Hermes")
    if not os.path.isfile(os.path.join(CHECKOUT, PLUGIN, "adapter.py")):
        raise unittest.SkipTest("HERMES_CHECKOUT=%s has no %s/adapter.py" % (CHECKOUT, PLUGIN))
    probe = subprocess.run([PYTHON, "-c", "import sys; sys.path[:0] = [p for p in sys.argv[1:] if p]; "
                            "import dingtalk_stream, httpx, yaml, websockets", SDK, CHECKOUT], capture_output=True, text=True)
    if probe.returncode:
        raise RuntimeError("HERMES_PYTHON=%s cannot import Hermes's DingTalk dependencies:\n%s" % (PYTHON, probe.stderr[-800:]))


def tearDownModule():
    if results:
        path = os.environ.get("HERMES_RESULTS") or os.path.join(tempfile.gettempdir(), "hermes-real-results.json")
        with open(path, "w") as f:
            json.dump(results, f, indent=2)
        sys.stderr.write("\nreal-Hermes figures (%s):\n%s\n" % (path, json.dumps(results, indent=2)))


class RealHermes(PluginCases, unittest.TestCase):
    tree, python, sdk = CHECKOUT, PYTHON, SDK

    def payloads(self):
        """One message of every type, a mentioned group message and one the mention gate drops."""
        return [robot_message(t, text="real-%s" % t) for t in MSG_TYPES] + [
            robot_message("text", text="group, mentioned", group=True),
            robot_message("text", text="group, not for the bot", group=True, isInAtList=False)]

    def over_stream(self, app, sent, **gateway):
        """A gateway holding its own Stream; ``sent`` pushed over it; its turns once settled."""
        gw = Gateway(self, app, **gateway)
        wait_for(lambda: self.dingtalk.live_connections(app), 15, "the adapter's Stream connection")
        ids = [self.dingtalk.push(body, app) for body in sent]
        wait_for(lambda: all(self.dingtalk.acked(i) for i in ids), 15, "Stream acks")
        time.sleep(1.0)
        gw.stop()
        return sorted(({k: v for k, v in t.items() if k not in ("pid", "at")} for t in gw.read_turns()),
                      key=lambda t: t["message_id"])

    def test_without_bridge_url_the_plugin_is_the_stock_adapter(self):
        sent = self.payloads()
        stock_home = tempfile.mkdtemp(dir=self.scratch)
        stock = self.over_stream(shared_bridge.next_app(), sent, home=stock_home, extra={"require_mention": True})
        plugin = self.over_stream(shared_bridge.next_app(), sent, extra={"require_mention": True})
        for turn in stock + plugin:
            turn["raw"] and turn["raw"].pop("conversationTitle", None)
        self.assertEqual(stock, plugin)
        results["types_hermes_hands_to_the_agent"] = sorted({t["raw"]["msgtype"] for t in stock if t["raw"]})

    def test_kill_storm_loses_nothing_and_runs_no_turn_twice(self):
        """Messages arrive steadily (8 conversations) while the gateway is SIGKILLed at random moments,
        again and again, then a last gateway drains the rest."""
        app = shared_bridge.next_app()
        total = int(os.environ.get("STORM_MESSAGES", "60"))
        sent = [robot_message("text", text="storm-%03d" % i, conversation_id="cidStorm%d==" % (i % 8)) for i in range(total)]
        home, turns = self.new_home(), os.path.join(self.scratch, "storm-turns.jsonl")

        def feed():
            for body in sent:
                self.bridge.post_callback(app, body)
                time.sleep(float(os.environ.get("STORM_INTERVAL_S", "0.1")))

        feeder = threading.Thread(target=feed)
        feeder.start()
        rng, kills = random.Random(int(os.environ.get("STORM_SEED", "7"))), 0
        while feeder.is_alive():
            gw = Gateway(self, app, self.extra(app), home=home, turns=turns, agent_s=0.05)
            time.sleep(rng.uniform(0.3, 1.0))
            gw.kill()
            kills += 1
        feeder.join()
        gw = Gateway(self, app, self.extra(app), home=home, turns=turns, agent_s=0.05)
        wait_for(lambda: self.client(app).status()["depth"] == 0, 90, "the backlog drained")
        gw.stop()
        records = gw.read_records()
        started, completed = {}, {}  # message text -> record indexes of the turns that carried it
        for i, record in enumerate(records):
            for text in (record.get("text") or record.get("completed_text") or "").split("\n"):
                (started if "text" in record else completed).setdefault(text, []).append(i)
        names = [b["text"]["content"].strip() for b in sent]
        again = [m for m in names if completed.get(m) and any(i > completed[m][0] for i in started.get(m, []))]
        results["kill_storm"] = {"messages": total, "sigkills": kills, "turns": sum(1 for r in records if "text" in r),
                                 "lost": [m for m in names if m not in started],
                                 "run_again_after_a_cut_short_turn": [m for m in names if len(started.get(m, [])) > 1 and m not in again],
                                 "run_again_after_its_turn_completed": again}
        self.assertEqual(results["kill_storm"]["lost"], [], "every message reached the agent")
        self.assertEqual(again, [], "no completed turn ran again")

class Patch(unittest.TestCase):
    """The fallback for older Hermes: adapter.patch on a copy of the bundled plugin."""

    def test_the_patch_applies_stays_small_and_installs_and_removes(self):
        root = tempfile.mkdtemp(prefix="hermes-patch-")
        shutil.copytree(os.path.join(CHECKOUT, PLUGIN), os.path.join(root, PLUGIN), ignore=shutil.ignore_patterns("__pycache__"))
        plain = {name: open(os.path.join(root, PLUGIN, name)).read() for name in ("adapter.py", "plugin.yaml")}
        script = os.path.join(HERE, "install.sh")
        for _ in range(2):  # the second run finds it patched and refreshes the files
            subprocess.run([script, root], check=True, capture_output=True, cwd="/")
        names = set(os.listdir(os.path.join(root, PLUGIN)))
        self.assertTrue({"bridge_relay.py", "journal.py", "turns.py", "dingtalk_bridge"} <= names, names)
        with open(os.path.join(HERE, "adapter.patch")) as f:
            added = sum(1 for line in f if line.startswith("+") and not line.startswith("+++"))
        results["patch_added_lines"] = added
        self.assertLess(added, 60)
        probe = subprocess.run([PYTHON, "-c", "import sys; sys.path[:0] = [p for p in sys.argv[1:] if p]; "
                                "from hermes_cli.plugins import PluginManager, PluginManifest, PluginContext; m = PluginManager(); "
                                "mf = PluginManifest(name='dingtalk-platform', source='bundled', path=sys.argv[3], kind='platform', key='dingtalk-platform'); "
                                "mod = m._load_directory_module(mf); import importlib; a = importlib.import_module(mod.__name__ + '.adapter'); "
                                "print(a.bridge_relay is not None)", SDK, CHECKOUT, os.path.join(root, PLUGIN)],
                               capture_output=True, text=True)
        self.assertEqual(probe.stdout.strip(), "True", probe.stderr[-2000:])
        subprocess.run([script, "--remove", root], check=True, capture_output=True)
        for name, text in plain.items():
            with open(os.path.join(root, PLUGIN, name)) as f:
                self.assertEqual(f.read(), text, name)
        self.assertEqual(sorted(os.listdir(os.path.join(root, PLUGIN))), sorted(n for n in os.listdir(os.path.join(CHECKOUT, PLUGIN)) if n != "__pycache__"))


if __name__ == "__main__":
    unittest.main()
