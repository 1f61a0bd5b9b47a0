"""Test support: a real local bridge (`wrangler dev` on 127.0.0.1) and DingTalk-shaped callbacks.

Used by the Python client's tests and by the Hermes plugin's tests. Needs `npm ci` at the
repository root; standard library only.
"""

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from processes import stop_group

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SECRET = "python-test-secret"
MSG_TYPES = ("text", "richText", "picture", "audio", "video", "file", "unknownMsgType")
WRANGLER_ENV = {
    "WRANGLER_SEND_METRICS": "false",
    "WRANGLER_SEND_ERROR_REPORTS": "false",
    "WRANGLER_HIDE_BANNER": "true",
    "CLOUDFLARE_CF_FETCH_ENABLED": "false",
    "CI": "true",
}


def token_for(app):
    return "token-%s" % app


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign(timestamp, secret=SECRET):
    mac = hmac.new(secret.encode(), ("%s\n%s" % (timestamp, secret)).encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def robot_message(msgtype="text", text="hi", msg_id=None, group=False, conversation_id=None, webhook=None,
                  webhook_expires_in_ms=90 * 60_000, **extra):
    """A robot callback body of any documented type, shaped like DingTalk's (and `dtbridge simulate`'s)."""
    now = int(time.time() * 1000)
    body = {
        "msgId": msg_id or "msg%s+/=" % uuid.uuid4().hex,
        "msgtype": msgtype,
        "createAt": now,
        "conversationType": "2" if group else "1",
        "conversationId": conversation_id or ("cidGroup+/=" if group else "cidSingle%s==" % uuid.uuid4().hex[:6]),
        "senderId": "$:LWCP_v1:$sender",
        "senderNick": "测试用户 🚀",
        "senderStaffId": "staff001",
        "senderCorpId": "dingcorp",
        "chatbotUserId": "$:LWCP_v1:$robot",
        "chatbotCorpId": "dingcorp",
        "robotCode": "dingrobot",
        "isAdmin": False,
        "sessionWebhook": webhook or "https://oapi.dingtalk.com/robot/sendBySession?session=s%s" % uuid.uuid4().hex[:8],
        "sessionWebhookExpiredTime": now + webhook_expires_in_ms,
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$robot"}],
    }
    if group:
        body.update(conversationTitle="Bridge test group", isInAtList=True)
    content = {
        "text": None,
        "richText": {"richText": [{"text": text}, {"pictureDownloadCode": "pdc1", "downloadCode": "dc1", "type": "picture"}]},
        "picture": {"pictureDownloadCode": "pdc2", "downloadCode": "dc2"},
        "audio": {"downloadCode": "dc3", "recognition": text, "duration": "4000"},
        "video": {"downloadCode": "dc4", "duration": 12, "videoType": "mp4"},
        "file": {"downloadCode": "dc5", "fileName": "report.pdf", "spaceId": "1", "fileId": "f1"},
        "unknownMsgType": {"unknownMsgType": "someFutureType"},
    }[msgtype]
    if msgtype == "text":
        body["text"] = {"content": " " + text}
    else:
        body["content"] = content
    body.update(extra)
    return body


class LocalBridge:
    """A real `wrangler dev` with one app per name in ``apps`` and the given extra variables."""

    def __init__(self, apps, extra_env=None, app_options=None):
        self.dir = tempfile.mkdtemp(prefix="dtbridge-py-")
        self._last_ts = 0
        self._ts_lock = threading.Lock()
        app_config = {a: dict({"clientId": a, "clientSecret": SECRET, "consumerTokens": [token_for(a)]},
                              **(app_options or {})) for a in apps}
        env_file = os.path.join(self.dir, "test.env")
        with open(os.path.join(ROOT, "config", "local.env")) as src, open(env_file, "w") as dst:
            dst.write(src.read())
            dst.write("\nBRIDGE_APPS=%s\n" % json.dumps(app_config))
            for name, value in (extra_env or {}).items():
                dst.write("%s=%s\n" % (name, value))
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(self.dir, "wrangler.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(ROOT, "node_modules", ".bin", "wrangler"), "dev", "--env-file", env_file,
             "--ip", "127.0.0.1", "--port", str(self.port), "--inspector-port", str(free_port()),
             "--persist-to", os.path.join(self.dir, "state"), "--show-interactive-dev-session=false"],
            cwd=ROOT, env=dict(os.environ, **WRANGLER_ENV), stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
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
        stop_group(self.proc)
        self.log.close()

    def post_callback(self, app, body):
        """Posts a signed robot callback; ``body`` is a dict or the exact bytes to send."""
        # One timestamp carries one msgId only: two callbacks in one millisecond need two.
        with self._ts_lock:
            self._last_ts = max(int(time.time() * 1000), self._last_ts + 1)
            ts = str(self._last_ts)
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        request = urllib.request.Request(
            "%s/dingtalk/%s/robot" % (self.url, app), data=data, method="POST",
            headers={"Content-Type": "application/json", "timestamp": ts, "sign": sign(ts)})
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as error:
            return error.code

    def callback(self, app, msg_id=None, text="hi", **options):
        options.setdefault("conversation_id", "cid1")
        body = robot_message(text=text, msg_id=msg_id, **options)
        status = self.post_callback(app, body)
        assert status == 200, status
        return body

    def api(self, app, method, path, body=None):
        """One consumer API call: (status, parsed JSON answer)."""
        request = urllib.request.Request(
            "%s/v1/%s/%s" % (self.url, app, path), method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": "Bearer %s" % token_for(app), "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, text.decode("utf-8", "replace")

