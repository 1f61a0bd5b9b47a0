"""The drop-in on the real Hermes DingTalk adapter, from a Hermes checkout (skipped without one).

    HERMES_CHECKOUT=/path/to/hermes-agent \\
    HERMES_PYTHON=/usr/bin/python3 \\
    DINGTALK_STREAM_SDK=/path/to/dingtalk-stream-sdk-python \\
    python3 -m unittest discover -s clients/hermes -p 'test_real_hermes.py' -v

HERMES_PYTHON is an interpreter with Hermes's DingTalk dependencies (dingtalk-stream's websockets,
requests and aiohttp, plus httpx and PyYAML; on Debian: python3-websockets python3-requests
python3-aiohttp python3-httpx python3-yaml, and python3-pytest for Hermes's own adapter tests);
DINGTALK_STREAM_SDK is a directory holding the `dingtalk_stream` package when that interpreter does
not have it installed. The checkout is never modified: the plugin is copied twice into a scratch
root, one copy patched with `patch -p1`, and each is loaded by Hermes's own plugin loader in a
gateway process (hermes_harness.py) against a real local bridge and a fake DingTalk (Stream
included). The figures (disconnect times, kill-storm duplicates and losses) are printed and written
to $HERMES_RESULTS (default: a file in the scratch directory).
"""

import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_CLIENT = os.path.join(HERE, "..", "python")
sys.path[:0] = [HERE, PYTHON_CLIENT]

from dingtalk_bridge import BridgeClient  # noqa: E402
from fake_dingtalk import FakeDingTalk, wait_for as fake_wait_for  # noqa: E402
from local_bridge import MSG_TYPES, LocalBridge, robot_message, token_for  # noqa: E402

CHECKOUT = os.environ.get("HERMES_CHECKOUT", "")
PYTHON = os.environ.get("HERMES_PYTHON") or sys.executable
SDK = os.environ.get("DINGTALK_STREAM_SDK", "")
PLUGIN = os.path.join("plugins", "platforms", "dingtalk")
SDK_UA = "dingtalk-sdk-python"

APPS = ["r%d" % i for i in range(12)]
_apps = iter(APPS)
bridge = dingtalk = None
scratch = plain_plugin = patched_plugin = None
results = {}


def setUpModule():
    global bridge, dingtalk, scratch, plain_plugin, patched_plugin
    if not CHECKOUT:
        raise unittest.SkipTest("no Hermes checkout: set HERMES_CHECKOUT to run the drop-in on the real adapter")
    if not os.path.isfile(os.path.join(CHECKOUT, PLUGIN, "adapter.py")):
        raise unittest.SkipTest("HERMES_CHECKOUT=%s has no %s/adapter.py" % (CHECKOUT, PLUGIN))
    probe = subprocess.run([PYTHON, "-c", "import sys; sys.path[:0] = [p for p in sys.argv[1:] if p]; "
                            "import dingtalk_stream, httpx, yaml, websockets", SDK, CHECKOUT], capture_output=True, text=True)
    if probe.returncode:
        raise RuntimeError("HERMES_PYTHON=%s cannot import Hermes's DingTalk dependencies:\n%s" % (PYTHON, probe.stderr[-800:]))
    scratch = tempfile.mkdtemp(prefix="hermes-real-")
    plain_plugin = os.path.join(scratch, "plain", PLUGIN)
    patched_root = os.path.join(scratch, "patched")
    patched_plugin = os.path.join(patched_root, PLUGIN)
    shutil.copytree(os.path.join(CHECKOUT, PLUGIN), plain_plugin, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(plain_plugin, patched_plugin)
    with open(os.path.join(HERE, "adapter.patch")) as patch:
        subprocess.run(["patch", "-p1", "--forward", "--quiet"], cwd=patched_root, stdin=patch, check=True)
    shutil.copy(os.path.join(HERE, "bridge_relay.py"), patched_plugin)
    shutil.copy(os.path.join(PYTHON_CLIENT, "dingtalk_bridge.py"), patched_plugin)
    dingtalk = FakeDingTalk()
    bridge = LocalBridge(APPS, {"DINGTALK_API_BASE": dingtalk.url})


def tearDownModule():
    if bridge:
        bridge.stop()
        dingtalk.stop()
    if results:
        path = os.environ.get("HERMES_RESULTS") or os.path.join(scratch, "results.json")
        with open(path, "w") as f:
            json.dump(results, f, indent=2)
        sys.stderr.write("\nreal-adapter figures (%s):\n%s\n" % (path, json.dumps(results, indent=2)))


class Gateway:
    """One gateway process running the adapter from ``plugin`` with a stub agent."""

    def __init__(self, test, plugin, app=None, extra=None, home=None, **config):
        self.turns = config.pop("turns", None) or os.path.join(scratch, "turns-%d.jsonl" % time.monotonic_ns())
        self.home = home or tempfile.mkdtemp(dir=scratch, prefix="home-")
        env = {"DINGTALK_CLIENT_ID": "dingfakeclient", "DINGTALK_CLIENT_SECRET": "fake-secret",
               "DINGTALK_OPENAPI_ENDPOINT": dingtalk.url, "HERMES_HOME": self.home,
               "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        if app:
            env["DINGTALK_BRIDGE_TOKEN"] = token_for(app)
        path = os.path.join(scratch, "gateway-%d.json" % time.monotonic_ns())
        with open(path, "w") as f:
            json.dump(dict({"hermes": CHECKOUT, "sdk": SDK, "plugin_dir": plugin, "extra": extra or {}, "env": env,
                            "turns": self.turns}, **config), f)
        self.log = open(os.path.join(scratch, "gateway-%d.log" % time.monotonic_ns()), "w")
        self.proc = subprocess.Popen([PYTHON, os.path.join(HERE, "hermes_harness.py"), path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        test.addCleanup(self.close)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("the gateway did not start; see %s" % self.log.name)
        self.started = json.loads(line)

    def stop(self):
        """Disconnects (bounded at 5 s, as the gateway bounds it): the seconds it took."""
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        if not ready:
            raise AssertionError("the gateway did not answer stop; see %s" % self.log.name)
        answer = json.loads(self.proc.stdout.readline())
        self.proc.wait(10)
        self.timed_out = answer["timed_out"]
        return answer["disconnected_s"]

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.log.close()

    def read_turns(self):
        try:
            with open(self.turns) as f:
                return [json.loads(line) for line in f]
        except FileNotFoundError:
            return []


def wait_for(probe, timeout=15.0, what="the condition"):
    return fake_wait_for(probe, timeout, what)


def settled_turns(gw, quiet_s=0.6, timeout=15.0):
    """The gateway's turns once no new one has come for ``quiet_s`` (Hermes drops some messages:
    audio, video, file and unknown types carry no text or media it reads, and gated ones)."""
    deadline, last, since = time.time() + timeout, None, time.time()
    while time.time() < deadline:
        turns = gw.read_turns()
        if len(turns) != last:
            last, since = len(turns), time.time()
        elif time.time() - since >= quiet_s:
            return turns
        time.sleep(0.05)
    raise AssertionError("the gateway's turns did not settle")


def comparable(turns):
    """What the agent was handed, without the process and the moment."""
    return sorted(({k: v for k, v in t.items() if k not in ("pid", "at")} for t in turns), key=lambda t: t["message_id"])


def payloads():
    """One message of every type, a mentioned group message and one the mention gate drops."""
    return [robot_message(t, text="real-%s" % t) for t in MSG_TYPES] + [
        robot_message("text", text="group, mentioned", group=True),
        robot_message("text", text="group, not for the bot", group=True, isInAtList=False)]


def sdk_opens():
    return len([o for o in dingtalk.opens if str(o.get("ua", "")).startswith(SDK_UA)])


def over_stream(test, plugin, sent, **gateway):
    """Runs a gateway whose adapter holds its own Stream, pushes ``sent`` over it, lets the turns
    settle, and stops it."""
    gw = Gateway(test, plugin, **gateway)
    before = len(dingtalk.connections)
    conn = wait_for(lambda: [c for c in dingtalk.connections[before:] if not c.closed], what="the adapter's Stream connection")[0]
    ids = [dingtalk.push(body, conn) for body in sent]
    acks = wait_for(lambda: (lambda a: a if len(a) == len(ids) else None)(
        [f for f in dingtalk.frames_back if f.get("headers", {}).get("messageId") in ids]), what="Stream acks")
    settled_turns(gw)
    return gw, acks, gw.stop()


class RealAdapter(unittest.TestCase):
    def test_the_patch_applies_and_stays_small(self):
        with open(os.path.join(HERE, "adapter.patch")) as f:
            added, current = 0, None
            for line in f:
                if line.startswith("+++ "):
                    current = line.split()[1]
                elif line.startswith("+") and current.endswith("adapter.py"):
                    added += 1
        results["patch_added_lines_in_adapter"] = added
        self.assertLess(added, 50)
        with open(os.path.join(patched_plugin, "plugin.yaml")) as f:
            self.assertIn("DINGTALK_BRIDGE_TOKEN", f.read())

    def test_install_script_patches_refreshes_and_removes(self):
        root = os.path.join(scratch, "install")
        shutil.copytree(os.path.join(CHECKOUT, PLUGIN), os.path.join(root, PLUGIN), ignore=shutil.ignore_patterns("__pycache__"))
        script = os.path.join(HERE, "install.sh")
        for _ in range(2):  # the second run finds it patched and refreshes the files
            subprocess.run([script, root], check=True, capture_output=True)
            for name in ("adapter.py", "bridge_relay.py", "dingtalk_bridge.py", "plugin.yaml"):
                with open(os.path.join(root, PLUGIN, name)) as got, open(os.path.join(patched_plugin, name)) as want:
                    self.assertEqual(got.read(), want.read(), name)
        subprocess.run([script, "--remove", root], check=True, capture_output=True)
        self.assertEqual(sorted(os.listdir(os.path.join(root, PLUGIN))), sorted(os.listdir(plain_plugin)))
        for name in ("adapter.py", "plugin.yaml"):
            with open(os.path.join(root, PLUGIN, name)) as got, open(os.path.join(plain_plugin, name)) as want:
                self.assertEqual(got.read(), want.read(), name)

    def test_no_bridge_is_indistinguishable_from_unpatched(self):
        sent = payloads()
        runs = {}
        for name, plugin in (("unpatched", plain_plugin), ("patched, no bridge", patched_plugin)):
            opens = sdk_opens()
            gw, acks, seconds = over_stream(self, plugin, sent)
            runs[name] = {"turns": comparable(gw.read_turns()), "acks": sorted((a["code"], a.get("data")) for a in acks),
                          "started": {k: v for k, v in gw.started.items() if k != "module"},
                          "files": sorted(os.listdir(gw.home))}
            # Timing-dependent in both alike: the SDK reconnects while the adapter closes its socket.
            results.setdefault("disconnect_s", {})[name] = round(seconds, 3)
            results.setdefault("stream_opens_per_run", {})[name] = sdk_opens() - opens
            results.setdefault("disconnect_timed_out_at_5s", {})[name] = gw.timed_out
        self.assertEqual(runs["unpatched"], runs["patched, no bridge"])
        results["types_hermes_hands_to_the_agent"] = sorted({t["raw"]["msgtype"] for t in runs["unpatched"]["turns"]})

    def test_hermes_own_adapter_tests_pass_on_the_patched_adapter(self):
        if subprocess.run([PYTHON, "-c", "import pytest"], capture_output=True).returncode:
            self.skipTest("HERMES_PYTHON has no pytest for Hermes's own tests")
        overlay = os.path.join(scratch, "overlay")
        os.makedirs(os.path.join(overlay, "tests", "gateway"))
        for entry in os.listdir(CHECKOUT):
            if entry not in ("plugins", "tests"):
                os.symlink(os.path.join(CHECKOUT, entry), os.path.join(overlay, entry))
        for rel in ("tests/__init__.py", "tests/conftest.py", "tests/gateway/__init__.py", "tests/gateway/conftest.py",
                    "tests/gateway/test_dingtalk.py"):
            if os.path.exists(os.path.join(CHECKOUT, rel)):
                shutil.copy(os.path.join(CHECKOUT, rel), os.path.join(overlay, rel))
        for directory in ("plugins", "plugins/platforms"):
            os.makedirs(os.path.join(overlay, directory), exist_ok=True)
            for entry in os.listdir(os.path.join(CHECKOUT, directory)):
                target = os.path.join(overlay, directory, entry)
                if not os.path.exists(target) and os.path.join(directory, entry) not in ("plugins/platforms", PLUGIN):
                    os.symlink(os.path.join(CHECKOUT, directory, entry), target)
        shutil.copytree(patched_plugin, os.path.join(overlay, PLUGIN))
        run = subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/gateway/test_dingtalk.py"],
                             cwd=overlay, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=SDK), timeout=300)
        results["hermes_dingtalk_tests_on_patched_adapter"] = run.stdout.strip().splitlines()[-1:]
        self.assertEqual(run.returncode, 0, run.stdout[-2000:] + run.stderr[-2000:])

    def test_only_mode_opens_no_stream_and_hands_every_type_as_stream_does(self):
        sent = payloads()
        gw, _, _ = over_stream(self, plain_plugin, sent, extra={"require_mention": True})
        via_stream = comparable(gw.read_turns())
        app = next(_apps)
        opens, connections = sdk_opens(), len(dingtalk.connections)
        gw = Gateway(self, patched_plugin, app, {"bridge_url": bridge.url, "bridge_app": app, "bridge_mode": "only",
                                                 "require_mention": True})
        self.assertFalse(gw.started["stream_task"])
        for body in sent:
            self.assertEqual(bridge.post_callback(app, body), 200)
        client = BridgeClient(bridge.url, token_for(app), app=app)
        wait_for(lambda: client.status()["depth"] == 0, what="every event acked (those Hermes drops too)")
        settled_turns(gw)
        seconds = gw.stop()
        self.assertEqual(comparable(gw.read_turns()), via_stream, "the agent gets the same fields as over Stream")
        self.assertGreaterEqual(len(via_stream), 4)
        self.assertEqual((sdk_opens() - opens, len(dingtalk.connections) - connections), (0, 0), "no Stream connection")
        results.setdefault("disconnect_s", {})["only, idle"] = round(seconds, 3)

    def test_disconnect_under_two_seconds_with_a_long_poll_in_flight(self):
        for mode in ("only", "hedge"):
            with self.subTest(mode=mode):
                app = next(_apps)
                gw = Gateway(self, patched_plugin, app, {"bridge_url": bridge.url, "bridge_app": app, "bridge_mode": mode})
                if mode == "hedge":
                    wait_for(lambda: dingtalk.open_connections(SDK_UA), what="the adapter's Stream connection")
                time.sleep(1.5)  # the relay is in a 20 s long poll
                seconds = gw.stop()
                results.setdefault("disconnect_s", {})["%s, long poll in flight" % mode] = round(seconds, 3)
                self.assertLess(seconds, 2.0)
                body = bridge.callback(app)
                rival = BridgeClient(bridge.url, token_for(app), app=app, consumer="rival").pull(wait_ms=3000)["events"]
                self.assertEqual([e["payload"] for e in rival], [body], "the bridge ended the long poll at once")

    def test_hedge_reports_stream_health_across_a_restart(self):
        app = next(_apps)
        extra = {"bridge_url": bridge.url, "bridge_app": app, "bridge_mode": "hedge", "bridge_heartbeat_s": 0.3}
        client = BridgeClient(bridge.url, token_for(app), app=app)
        body = robot_message("text", text="over the gateway's Stream")
        gw, _, seconds = over_stream(self, patched_plugin, [body], app=app, extra=extra)
        self.assertEqual(len(gw.read_turns()), 1)
        self.assertLess(seconds, 2.0)
        self.assertEqual(bridge.post_callback(app, body), 200)  # the same message reaches the bridge too
        rival = BridgeClient(bridge.url, token_for(app), app=app, consumer="rival").pull(wait_ms=500)["events"]
        self.assertEqual(rival, [], "the msgId seen over Stream was reported, at the latest on stop")
        before = len(dingtalk.connections)
        again = Gateway(self, patched_plugin, app, extra, home=gw.home)  # a restart, same HERMES_HOME
        wait_for(lambda: client.status()["stream"]["connected"] and client.status()["stream"]["recentReconnects"],
                 what="the restart's Stream open reported as a reconnect")
        conn = wait_for(lambda: [c for c in dingtalk.connections[before:] if not c.closed], what="the new Stream")[0]
        redelivered = dingtalk.push(body, conn)  # DingTalk redelivers it to the new connection
        wait_for(lambda: any(f.get("headers", {}).get("messageId") == redelivered for f in dingtalk.frames_back), what="its ack")
        self.assertEqual(settled_turns(again), [], "a message the agent had before the restart is not run again")

    def test_kill_storm_loses_nothing_and_runs_no_turn_twice(self):
        """Messages arrive steadily (8 conversations) while the gateway is SIGKILLed at random moments,
        again and again, then a last gateway drains the rest."""
        app = next(_apps)
        extra = {"bridge_url": bridge.url, "bridge_app": app, "bridge_mode": "only"}
        total = int(os.environ.get("STORM_MESSAGES", "100"))
        interval = float(os.environ.get("STORM_INTERVAL_S", "0.1"))
        sent = [robot_message("text", text="storm-%03d" % i, conversation_id="cidStorm%d==" % (i % 8)) for i in range(total)]
        turns_file = os.path.join(scratch, "storm-turns.jsonl")
        home = tempfile.mkdtemp(dir=scratch, prefix="home-storm-")

        def feed():
            for body in sent:
                bridge.post_callback(app, body)
                time.sleep(interval)

        feeder = threading.Thread(target=feed)
        feeder.start()
        rng = random.Random(int(os.environ.get("STORM_SEED", "7")))
        logs, kills = [], 0
        while feeder.is_alive():
            gw = Gateway(self, patched_plugin, app, extra, home=home, turns=turns_file, agent_s=0.05)
            logs.append(gw.log.name)
            time.sleep(rng.uniform(0.2, 0.9))
            gw.kill()
            kills += 1
        feeder.join()
        gw = Gateway(self, patched_plugin, app, extra, home=home, turns=turns_file, agent_s=0.05)
        logs.append(gw.log.name)
        client = BridgeClient(bridge.url, token_for(app), app=app)
        wait_for(lambda: client.status()["depth"] == 0, timeout=90, what="the backlog drained")
        time.sleep(0.5)
        gw.stop()
        turns = gw.read_turns()
        by_id = {}
        for t in turns:
            by_id[t["message_id"]] = by_id.get(t["message_id"], 0) + 1
        texts = " ".join(t["text"] or "" for t in turns)
        duplicates = sum(n - 1 for n in by_id.values() if n > 1)
        never_handed = [b["msgId"] for b in sent if b["msgId"] not in by_id and b["text"]["content"].strip() not in texts]
        merged = [b["msgId"] for b in sent if b["msgId"] not in by_id and b["text"]["content"].strip() in texts]
        gw.log.flush()
        spared = sum(open(name).read().count("reached the agent before; acked without a second turn") for name in logs)
        results["kill_storm"] = {"messages": total, "sigkills": kills, "turns": len(turns), "duplicate_turns": duplicates,
                                 "lost": len(never_handed), "merged_into_another_turn": len(merged),
                                 "redelivered_after_the_agent_had_them_acked_without_a_turn": spared,
                                 "dead_letters": client.status()["deadLetters"]}
        self.assertEqual(never_handed, [], "every message reached the agent")
        self.assertEqual(duplicates, 0, "no turn ran twice")


class RepliesThroughTheBridge(unittest.TestCase):
    """The bridge's `send` route, for a reply whose session webhook is about to expire."""

    def test_a_reply_to_a_stale_message_is_delivered_through_the_bridge(self):
        app = next(_apps)
        gw = Gateway(self, patched_plugin, app, {"bridge_url": bridge.url, "bridge_app": app, "bridge_mode": "only"},
                     reply="pong")
        body = robot_message("text", text="asked long ago", webhook=dingtalk.session_webhook("old"), webhook_expires_in_ms=60_000)
        bridge.post_callback(app, body)
        wait_for(lambda: any("pong %s" % body["msgId"] in json.dumps(b, ensure_ascii=False) for b in dingtalk.sent("/v1.0/robot/")),
                 what="the reply through the bridge and DingTalk's robot API")
        gw.stop()


if __name__ == "__main__":
    unittest.main()
