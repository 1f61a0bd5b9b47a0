"""Test support: a fake DingTalk on 127.0.0.1, standard library only.

It serves what the bridge and the Stream SDK call: `connections/open` and a Stream WebSocket
(enough of RFC 6455 for DingTalk's JSON frames), access tokens, the robot send API and session
webhooks. It records every request and every frame a client sends back, and pushes robot
CALLBACK frames on demand.
"""

import base64
import hashlib
import json
import socket
import struct
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class StreamConnection:
    """One open Stream WebSocket."""

    def __init__(self, sock, ticket, ua):
        self.sock = sock
        self.ticket = ticket
        self.ua = ua
        self.closed = False
        self._lock = threading.Lock()

    def send_json(self, frame):
        self._send(0x1, json.dumps(frame).encode())

    def close(self):
        if not self.closed:
            try:
                self._send(0x8, struct.pack(">H", 1000))
            except OSError:
                pass
            self.closed = True

    def _send(self, opcode, payload):
        n = len(payload)
        if n < 126:
            head = struct.pack(">BB", 0x80 | opcode, n)
        elif n < 65536:
            head = struct.pack(">BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack(">BBQ", 0x80 | opcode, 127, n)
        with self._lock:
            self.sock.sendall(head + payload)


def _read_exact(rfile, n):
    data = rfile.read(n)
    if len(data) < n:
        raise EOFError
    return data


def _read_frame(rfile):
    b1, b2 = _read_exact(rfile, 2)
    n = b2 & 0x7F
    if n == 126:
        n = struct.unpack(">H", _read_exact(rfile, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", _read_exact(rfile, 8))[0]
    mask = _read_exact(rfile, 4) if b2 & 0x80 else b""
    data = _read_exact(rfile, n)
    if mask:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return b1 & 0x0F, data


class FakeDingTalk:
    def __init__(self):
        self.requests = []       # {"method", "path", "query", "headers", "body"} for every HTTP call
        self.opens = []          # connections/open bodies
        self.connections = []    # every Stream connection, open or closed
        self.frames_back = []    # frames clients sent on their sockets (acks)
        self.send_failures = 0   # answer this many robot sends / session webhook posts with 503
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.headers.get("Upgrade", "").lower() == "websocket":
                    fake._serve_stream(self)
                else:
                    fake._record(self, None)
                    self._answer(404, {"code": "notFound"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                fake._record(self, body)
                status, answer = fake._route(self.path, body)
                self._answer(status, answer)

            def _answer(self, status, answer):
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.server.serve_forever, name="fake-dingtalk", daemon=True).start()

    def stop(self):
        for conn in self.connections:
            conn.close()
        self.server.shutdown()
        self.server.server_close()

    # ---- what tests use ---------------------------------------------------------------------------

    def session_webhook(self, name="s"):
        """A session webhook URL on this fake (the bridge calls webhooks on its DINGTALK_API_BASE host)."""
        return "%s/robot/sendBySession?session=%s" % (self.url, name)

    def open_connections(self, ua_prefix=""):
        return [c for c in self.connections if not c.closed and c.ua.startswith(ua_prefix)]

    def push(self, data, conn=None, topic=ROBOT_TOPIC):
        """Sends a robot CALLBACK frame on ``conn`` (default: the newest open connection)."""
        conn = conn or self.wait_for(lambda: (self.open_connections() or [None])[-1], 10, "an open Stream connection")
        message_id = uuid.uuid4().hex
        conn.send_json({
            "specVersion": "1.0", "type": "CALLBACK",
            "headers": {"topic": topic, "messageId": message_id, "contentType": "application/json",
                        "time": str(int(time.time() * 1000)), "appId": "fake-app", "connectionId": conn.ticket},
            "data": json.dumps(data, ensure_ascii=False),
        })
        return message_id

    def system(self, topic, data, conn):
        conn.send_json({"specVersion": "1.0", "type": "SYSTEM",
                        "headers": {"topic": topic, "messageId": uuid.uuid4().hex, "contentType": "application/json"},
                        "data": json.dumps(data)})

    def sent(self, path_part):
        """The bodies of the requests whose path contains ``path_part``."""
        with self._lock:
            return [r["body"] for r in self.requests if path_part in r["path"]]

    def wait_for(self, probe, timeout=10.0, what="the condition"):
        return wait_for(probe, timeout, what)

    # ---- serving ----------------------------------------------------------------------------------

    def _record(self, handler, body):
        parsed = urllib.parse.urlsplit(handler.path)
        with self._lock:
            self.requests.append({"method": handler.command, "path": parsed.path, "query": parsed.query,
                                  "headers": dict(handler.headers), "body": body})

    def _route(self, path, body):
        path = urllib.parse.urlsplit(path).path
        if path == "/v1.0/gateway/connections/open":
            ticket = uuid.uuid4().hex
            with self._lock:
                self.opens.append(dict(body or {}, ticket=ticket))
            return 200, {"endpoint": "ws://127.0.0.1:%d/connect" % self.port, "ticket": ticket}
        if path == "/v1.0/oauth2/accessToken":
            return 200, {"accessToken": "fake-access-token", "expireIn": 7200}
        if path in ("/v1.0/robot/groupMessages/send", "/v1.0/robot/oToMessages/batchSend", "/robot/sendBySession"):
            with self._lock:
                if self.send_failures > 0:
                    self.send_failures -= 1
                    return 503, {"code": "unavailable"}
            return 200, {"errcode": 0, "errmsg": "ok"} if path == "/robot/sendBySession" else {"processQueryKey": "pqk"}
        return 404, {"code": "notFound", "message": path}

    def _serve_stream(self, handler):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            known = next((o for o in self.opens if o["ticket"] == ticket), None)
        if known is None:
            handler.send_error(401)
            return
        accept = base64.b64encode(hashlib.sha1((handler.headers["Sec-WebSocket-Key"] + _WS_GUID).encode()).digest())
        handler.send_response(101)
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept.decode())
        handler.end_headers()
        handler.wfile.flush()
        conn = StreamConnection(handler.connection, ticket, str(known.get("ua", "")))
        with self._lock:
            self.connections.append(conn)
        try:
            while True:
                opcode, data = _read_frame(handler.rfile)
                if opcode == 0x8:
                    conn.close()
                    break
                if opcode == 0x9:
                    conn._send(0xA, data)
                elif opcode == 0x1:
                    with self._lock:
                        self.frames_back.append(json.loads(data))
        except (EOFError, OSError, ValueError):
            pass
        finally:
            conn.closed = True
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def wait_for(probe, timeout=10.0, what="the condition"):
    """Polls ``probe`` until it answers something truthy, which it returns; fails after ``timeout`` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s" % what)
