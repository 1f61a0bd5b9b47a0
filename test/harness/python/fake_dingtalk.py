"""Test support: the one fake DingTalk (test/harness/fake-dingtalk, TypeScript), from Python.

``FakeDingTalk`` starts its command line (`tsx test/harness/fake-dingtalk/cli.ts`) on a free port
and reads what it recorded through its control API under /_fake/. Needs `npm ci` at the
repository root; standard library only.
"""

import json
import os
import subprocess
import time
import urllib.request

from local_bridge import ROOT, SECRET
from processes import stop_group

ROBOT_CODE = "dingrobot"  # the robotCode of local_bridge.robot_message()
SESSION_PATH = "/robot/sendBySession"


class FakeDingTalk:
    """A fake DingTalk process that accepts each app in ``apps`` (client ids; ``secret`` is their
    client secret, and ``dingrobot`` their robot code besides the client id)."""

    def __init__(self, apps, secret=SECRET, redeliver_ms=60_000):
        args = [os.path.join(ROOT, "node_modules", ".bin", "tsx"), os.path.join(ROOT, "test", "harness", "fake-dingtalk", "cli.ts"),
                "--quiet", "--redeliver-ms", str(redeliver_ms)]
        for app in apps:
            args += ["--app", "%s:%s:%s" % (app, secret, ROBOT_CODE)]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.stop()
            raise RuntimeError("the fake DingTalk did not start (is `npm ci` done?)")

    def stop(self):
        stop_group(self.proc)
        self.proc.stdout.close()

    def control(self, route, body=None):
        """One control call: ``GET /_fake/<route>`` without a body, POST with one."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request("%s/_fake/%s" % (self.url, route), data=data, method="GET" if body is None else "POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def state(self):
        return self.control("state")

    # ---- sending side

    def session_webhook(self, name="s"):
        """A session webhook on this fake (the bridge calls webhooks on its DINGTALK_API_BASE host)."""
        return "%s%s?session=%s" % (self.url, SESSION_PATH, name)

    def session_sends(self):
        """The bodies posted to session webhooks."""
        return [record["body"] for record in self.state()["sessionSends"]]

    def robot_sends(self):
        """The bodies sent through the robot API (group and one-to-one), ``msgParam`` parsed."""
        return [dict(record["body"], msgParam=record["param"]) for record in self.state()["robotSends"]]

    # ---- Stream side

    def opens(self, ua_prefix=""):
        """connections/open tickets asked for by clients whose `ua` starts with ``ua_prefix``."""
        return [o for o in self.state()["opens"] if o["kind"] == "ticket" and str(o.get("ua", "")).startswith(ua_prefix)]

    def live_connections(self, client_id=None):
        return [c for c in self.state()["connections"]
                if c["state"] == "open" and (client_id is None or c["clientId"] == client_id)]

    def push(self, data, client_id):
        """A robot CALLBACK to one live connection of ``client_id``'s app: its Stream messageId."""
        return self.control("robot-message", {"data": data, "clientId": client_id})["messageId"]

    def acked(self, message_id):
        return any(d["messageId"] == message_id and d["ackedAt"] for d in self.state()["deliveries"])


def wait_for(probe, timeout=10.0, what="the condition"):
    """Polls ``probe`` until it answers something truthy, which it returns; fails after ``timeout`` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)
