"""Integration test harness: runs the real `parley` binary and talks to it over real sockets.

Owned by the integration test suite (tests/integration). Standard library plus Debian's
python3-websockets 10.4 only; run with /usr/bin/python3.

- Server: starts `parley serve` on 127.0.0.1, port 0, in a fresh temporary data directory,
  waits for the "listening on http://HOST:PORT" line on stdout (20 s), and offers restart on
  the same data directory, kill -9, SIGTERM and the offline `parley admin` commands. Its
  stderr (JSON logs) goes to a file that is dumped when start-up fails.
- Http: a tiny blocking HTTP/1.1 client (http.client) returning Response(status, headers,
  body, json). Safe to use from several threads (one connection per request).
- Users: register + login with unique usernames; extra logins give a user more sessions.
- GatewayClient: an asyncio WebSocket client that reads in the background, records every
  frame, tracks the epoch, per-room events and last seq, and flags gaps and duplicates.
- RawWebSocket: a blocking socket-level WebSocket client for things websockets won't do
  (a client that never reads, with a tiny receive buffer).

Every wait has a timeout. Nothing here skips a test: a missing binary fails loudly.
"""

import asyncio
import base64
import http.client
import itertools
import json
import logging
import os
import random
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import websockets

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BIN = os.path.join(REPO, "build", "src", "app", "parley")
START_TIMEOUT_S = 20.0
WAIT_S = 10.0  # default timeout for one expected frame or reply

EVENT_OPS = {
    "message.created", "message.updated", "message.deleted",
    "member.joined", "member.left", "room.updated",
    "reaction.added", "reaction.removed",
    "message.pinned", "message.unpinned",
}

PASSWORD = "correct horse battery"

# Default flags for test servers: the per-IP login/register limit would otherwise throttle a
# suite that registers many users from 127.0.0.1. Tests of that limit start their own server.
RELAXED_AUTH = ["--auth.ip_attempts_per_minute=100000", "--auth.account_attempts_per_minute=1000"]


def parley_bin():
    path = os.environ.get("PARLEY_BIN", DEFAULT_BIN)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError(
            f"parley binary not found or not executable at {path!r}: build the `parley` target "
            "or set PARLEY_BIN (integration tests never skip)")
    return path


# IsolatedAsyncioTestCase runs the loop in debug mode, which logs every blocking REST call
# made from a test coroutine as a "slow callback". Those calls are deliberate and short.
logging.getLogger("asyncio").setLevel(logging.ERROR)

_unique = itertools.count(1)


def unique(prefix="u"):
    """A short unique, valid username / txn id component."""
    tail = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(6))
    return f"{prefix}{next(_unique)}{tail}"


# ---------------------------------------------------------------------------------------------
# Server process


class Server:
    def __init__(self, flags=None, relaxed_auth=True):
        self.bin = parley_bin()
        self.data_dir = tempfile.mkdtemp(prefix="parley-itest-")
        self.flags = (RELAXED_AUTH if relaxed_auth else []) + list(flags or [])
        self.proc = None
        self.port = None
        self.stderr_path = None
        self._stdout_lines = []
        self._starts = 0

    # -- lifecycle

    def start(self):
        assert self.proc is None, "already running"
        self._starts += 1
        self.stderr_path = os.path.join(self.data_dir, f"stderr-{self._starts}.log")
        err = open(self.stderr_path, "wb")
        cmd = [self.bin, "serve", f"--store.data_dir={self.data_dir}", "--http.port=0",
               "--http.bind=127.0.0.1", *self.flags]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err,
                                     stdin=subprocess.DEVNULL)
        err.close()
        ready = threading.Event()
        found = {}

        def pump(proc=self.proc):
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self._stdout_lines.append(line)
                if "port" not in found and line.startswith("listening on http://"):
                    hostport = line[len("listening on http://"):].strip().rstrip("/")
                    found["port"] = int(hostport.rsplit(":", 1)[1])
                    ready.set()
            proc.stdout.close()
            ready.set()  # EOF: the process ended

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready.wait(0.05):
            if time.monotonic() > deadline:
                break
        if "port" not in found:
            code = self.proc.poll()
            self._force_kill()
            raise RuntimeError(
                f"parley did not print 'listening on' within {START_TIMEOUT_S:.0f}s "
                f"(exit code {code}); cmd: {' '.join(cmd)}\nstdout:\n"
                + "\n".join(self._stdout_lines) + "\nstderr:\n" + self.stderr_tail())
        self.port = found["port"]
        return self

    def stderr_tail(self, n=60):
        try:
            with open(self.stderr_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no stderr)"

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def sigterm(self, timeout=15.0):
        """SIGTERM and wait; returns (exit code, seconds taken)."""
        assert self.proc is not None
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._force_kill()
            raise AssertionError(f"parley did not exit within {timeout}s of SIGTERM\n"
                                 + self.stderr_tail())
        took = time.monotonic() - t0
        self._reap()
        return code, took

    def kill9(self):
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._reap()

    def restart(self):
        if self.proc is not None:
            self.sigterm()
        return self.start()

    def _reap(self):
        """The process has exited: finish reading its stdout and forget it."""
        self._pump.join(5)
        self.proc = None

    def _force_kill(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    pass
            self._reap()

    def stop(self):
        """Teardown: SIGTERM, then SIGKILL if needed; removes the data directory."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self._force_kill()
        if self.proc is not None:
            self._reap()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- offline administration

    def admin(self, *args, password=None, timeout=30):
        """Runs `parley admin ARGS --store.data_dir=...`; `password` goes into a temp file
        passed as --password-file. Returns subprocess.CompletedProcess (text)."""
        cmd = [self.bin, "admin", *args, f"--store.data_dir={self.data_dir}"]
        pw_path = None
        if password is not None:
            fd, pw_path = tempfile.mkstemp(prefix="pw-", dir=self.data_dir)
            with os.fdopen(fd, "w") as f:
                f.write(password + "\n")
            cmd[-1:-1] = ["--password-file", pw_path]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        finally:
            if pw_path:
                os.unlink(pw_path)

    # -- clients

    @property
    def origin(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/api/v1/gateway"

    def http(self):
        return Http(self.port)


class ServerTestCase(unittest.TestCase):
    """One server per test class (start in setUpClass); override `server_flags`."""
    server_flags = []
    relaxed_auth = True

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.server_flags, relaxed_auth=cls.relaxed_auth).start()
        cls.api = cls.server.http()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()


class AsyncServerTestCase(unittest.IsolatedAsyncioTestCase):
    server_flags = []
    relaxed_auth = True

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.server_flags, relaxed_auth=cls.relaxed_auth).start()
        cls.api = cls.server.http()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()


# ---------------------------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.header_list = headers  # [(name, value)] as received
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self.json = None
        ctype = self.headers.get("content-type", "")
        if body and ("json" in ctype):
            try:
                self.json = json.loads(body)
            except ValueError:
                self.json = None

    def header(self, name):
        return self.headers.get(name.lower())

    def all(self, name):
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    def __repr__(self):
        text = self.body[:400].decode("utf-8", "replace") if self.body else ""
        return f"<{self.status} {self.headers.get('content-type', '')} {text}>"


class Http:
    def __init__(self, port, host="127.0.0.1"):
        self.host = host
        self.port = port

    def request(self, method, path, body=None, token=None, headers=None, raw=None,
                timeout=30):
        """`body` is JSON-encoded; `raw` (bytes) is sent as is with Content-Type JSON unless
        `headers` says otherwise. Returns a Response."""
        h = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if raw is not None:
            data = raw
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = f"Bearer {token}"
        if headers:
            for k, v in headers.items():
                if v is None:
                    h.pop(k, None)
                else:
                    h[k] = v
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            payload = r.read()
            return Response(r.status, r.getheaders(), payload)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- accounts

    def register(self, username, password=PASSWORD, **extra):
        return self.post("/api/v1/auth/register", {"username": username, "password": password,
                                                   **extra})

    def login(self, username, password=PASSWORD, device=None, headers=None):
        body = {"username": username, "password": password}
        if device:
            body["device"] = device
        return self.post("/api/v1/auth/login", body, headers=headers)

    def new_user(self, prefix="u", display_name=None):
        """Registers and logs in a fresh user; returns a User."""
        name = unique(prefix)
        extra = {"display_name": display_name} if display_name else {}
        r = self.register(name, **extra)
        if r.status != 201:
            raise AssertionError(f"register {name}: {r}")
        user = User(self, name, PASSWORD, r.json["user"]["id"])
        user.login()
        return user

    def new_users(self, n, prefix="u"):
        return [self.new_user(prefix) for _ in range(n)]


class User:
    def __init__(self, api, username, password, user_id):
        self.api = api
        self.username = username
        self.password = password
        self.id = user_id
        self.token = None
        self.session_id = None
        self.tokens = []

    def login(self, device=None):
        """A new session; it becomes the user's default token. Returns the token."""
        r = self.api.login(self.username, self.password, device=device)
        if r.status != 200:
            raise AssertionError(f"login {self.username}: {r}")
        self.token = r.json["token"]
        self.session_id = r.json["session_id"]
        self.tokens.append(self.token)
        return self.token

    # REST shortcuts with this user's token
    def get(self, path, **kw):
        kw.setdefault("token", self.token)
        return self.api.get(path, **kw)

    def post(self, path, body=None, **kw):
        kw.setdefault("token", self.token)
        return self.api.post(path, body, **kw)

    def patch(self, path, body=None, **kw):
        kw.setdefault("token", self.token)
        return self.api.patch(path, body, **kw)

    def delete(self, path, **kw):
        kw.setdefault("token", self.token)
        return self.api.delete(path, **kw)

    def create_room(self, name=None, members=(), topic=None):
        body = {"name": name or unique("room-")}
        if members:
            body["member_ids"] = [m.id if isinstance(m, User) else m for m in members]
        if topic is not None:
            body["topic"] = topic
        r = self.post("/api/v1/rooms", body)
        if r.status != 201:
            raise AssertionError(f"create room: {r}")
        return r.json["room"]

    def open_dm(self, other):
        r = self.post("/api/v1/dms", {"user_id": other.id})
        if r.status not in (200, 201):
            raise AssertionError(f"open dm: {r}")
        return r.json["room"]

    def send(self, room_id, body, txn=None, reply_to=None, thread_root=None):
        payload = {"client_txn_id": txn or unique("t"), "body": body}
        if reply_to is not None:
            payload["reply_to"] = reply_to
        if thread_root is not None:
            payload["thread_root"] = thread_root
        return self.post(f"/api/v1/rooms/{room_id}/messages", payload)

    def history(self, room_id, **params):
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return self.get(f"/api/v1/rooms/{room_id}/messages" + (f"?{q}" if q else ""))

    def all_messages(self, room_id):
        """Every message of a room, ascending, by paging backwards with limit=100."""
        out = []
        r = self.history(room_id, limit=100)
        assert r.status == 200, r
        out = r.json["messages"] + out
        while r.json["has_more_before"]:
            r = self.history(room_id, limit=100, before=out[0]["id"])
            assert r.status == 200, r
            out = r.json["messages"] + out
        return out

    def events(self, room_id, after_seq=0, limit=500):
        r = self.get(f"/api/v1/rooms/{room_id}/events?after_seq={after_seq}&limit={limit}")
        assert r.status == 200, r
        return r.json["events"]

    def all_events(self, room_id):
        out = []
        after = 0
        while True:
            page = self.events(room_id, after_seq=after, limit=500)
            out += page
            if len(page) < 500:
                return out
            after = page[-1]["seq"]


# ---------------------------------------------------------------------------------------------
# Gateway (asyncio, websockets)


class GatewayClosed(AssertionError):
    pass


class GatewayClient:
    """One gateway connection. Frames are read in the background into `frames`.

    Tracking: `epoch` (from ready), `last_seq[room_id]` (from the snapshot, `room.joined`,
    resume positions and events), `events[room_id]` (event payloads in arrival order),
    `resets` (room.reset payloads) and `anomalies` (gaps or duplicates seen per room)."""

    _ids = itertools.count(1)

    def __init__(self, server, name="gw"):
        self.server = server
        self.name = name
        self.ws = None
        self.frames = []
        self.binary = []
        self.closed = False
        self.close_code = None
        self.close_reason = None
        self.epoch = None
        self.ready = None
        self.hello = None
        self.last_seq = {}
        self.events = {}
        self.resets = []
        self.anomalies = []
        self._cond = None
        self._reader = None

    async def connect(self, headers=None, timeout=WAIT_S):
        self._cond = asyncio.Condition()
        self.ws = await asyncio.wait_for(
            websockets.connect(self.server.ws_url, max_size=None, extra_headers=headers,
                               open_timeout=timeout, close_timeout=2, ping_interval=None),
            timeout)
        self._reader = asyncio.create_task(self._read())
        self.hello = await self.wait_op("hello", timeout=timeout)
        return self.hello

    async def _read(self):
        try:
            async for msg in self.ws:
                if isinstance(msg, bytes):
                    self.binary.append(msg)
                    continue
                try:
                    frame = json.loads(msg)
                except ValueError:
                    self.anomalies.append(f"server sent non-JSON text: {msg[:200]!r}")
                    continue
                self._track(frame)
                self.frames.append(frame)
                async with self._cond:
                    self._cond.notify_all()
        except websockets.ConnectionClosed:
            pass
        except Exception as e:  # noqa: BLE001 - recorded, surfaced by the waits
            self.anomalies.append(f"reader error: {e!r}")
        finally:
            self.closed = True
            self.close_code = self.ws.close_code
            self.close_reason = self.ws.close_reason
            async with self._cond:
                self._cond.notify_all()

    def _track(self, frame):
        op = frame.get("op")
        d = frame.get("d") or {}
        if op == "ready":
            self.epoch = d.get("epoch")
            for summary in d.get("rooms", []):
                rid = summary["room"]["id"]
                self.last_seq.setdefault(rid, summary["room"]["last_seq"])
        elif op == "room.joined":
            room = d["room"]["room"]
            self.last_seq[room["id"]] = room["last_seq"]
        elif op == "room.reset":
            self.resets.append(d)
            self.last_seq[d["room_id"]] = d["last_seq"]
        elif op in EVENT_OPS:
            rid = d.get("room_id")
            seq = d.get("seq")
            last = self.last_seq.get(rid)
            if last is not None and seq != last + 1:
                kind = "duplicate" if seq <= last else "gap"
                self.anomalies.append(f"{self.name}: {kind} in room {rid}: seq {seq} after {last}")
            if last is None or seq > last:
                self.last_seq[rid] = seq
            self.events.setdefault(rid, []).append(d)

    def next_id(self):
        return f"{self.name}-{next(self._ids)}"

    async def send_frame(self, frame):
        await self.ws.send(json.dumps(frame))

    async def send_raw(self, data):
        await self.ws.send(data)

    async def request(self, op, d=None, frame_id=None):
        """Sends {op, id, d}; returns the id."""
        fid = frame_id or self.next_id()
        frame = {"op": op, "id": fid}
        if d is not None:
            frame["d"] = d
        await self.send_frame(frame)
        return fid

    async def wait_for(self, pred, timeout=WAIT_S, since=0, what="frame"):
        """The first frame (index >= since) matching pred; fails on timeout or close."""
        deadline = time.monotonic() + timeout
        scanned = since
        async with self._cond:
            while True:
                while scanned < len(self.frames):
                    f = self.frames[scanned]
                    scanned += 1
                    if pred(f):
                        return f
                if self.closed:
                    raise GatewayClosed(
                        f"{self.name}: connection closed ({self.close_code} {self.close_reason!r}) "
                        f"while waiting for {what}; last frames: {self.frames[-3:]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.name}: timed out after {timeout}s waiting for "
                                         f"{what}; last frames: {self.frames[-3:]}")
                try:
                    await asyncio.wait_for(self._cond.wait(), left)
                except asyncio.TimeoutError:
                    pass

    async def wait_op(self, op, timeout=WAIT_S, since=0):
        return await self.wait_for(lambda f: f.get("op") == op, timeout, since, what=op)

    async def wait_reply(self, frame_id, timeout=WAIT_S):
        return await self.wait_for(lambda f: f.get("re") == frame_id, timeout,
                                   what=f"reply to {frame_id}")

    async def wait_closed(self, timeout=WAIT_S):
        """Waits for the server to close the connection; returns the close code."""
        deadline = time.monotonic() + timeout
        async with self._cond:
            while not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.name}: still open after {timeout}s; "
                                         f"last frames: {self.frames[-3:]}")
                try:
                    await asyncio.wait_for(self._cond.wait(), left)
                except asyncio.TimeoutError:
                    pass
        return self.close_code

    async def identify(self, token=None, resume=None, protocol=1, timeout=WAIT_S, extra=None):
        """identify and wait for ready; returns the ready frame. `extra`: more identify fields
        (e.g. {"subscribe": ["presence", "typing"]})."""
        d = {"protocol": protocol, **(extra or {})}
        if token is not None:
            d["token"] = token
        if resume is not None:
            d["resume"] = resume
            for rid, seq in resume.get("rooms", {}).items():
                self.last_seq[rid] = seq
        fid = await self.request("identify", d)
        frame = await self.wait_reply(fid, timeout)
        if frame.get("op") != "ready":
            raise AssertionError(f"{self.name}: identify answered with {frame}")
        self.ready = frame
        return frame

    async def send(self, room_id, body, txn=None, reply_to=None, timeout=WAIT_S, thread_root=None):
        """Gateway send; returns the reply frame (ack or error)."""
        d = {"room_id": room_id, "client_txn_id": txn or unique("t"), "body": body}
        if reply_to is not None:
            d["reply_to"] = reply_to
        if thread_root is not None:
            d["thread_root"] = thread_root
        fid = await self.request("send", d)
        return await self.wait_reply(fid, timeout)

    async def send_acked(self, room_id, body, txn=None, timeout=WAIT_S * 2):
        """Sends until acknowledged, retrying with the same client_txn_id after rate_limited.
        Returns the ack's d."""
        txn = txn or unique("t")
        deadline = time.monotonic() + timeout
        while True:
            reply = await self.send(room_id, body, txn=txn, timeout=max(0.1, deadline - time.monotonic()))
            if reply["op"] == "ack":
                return reply["d"]
            d = reply.get("d") or {}
            if reply["op"] == "error" and d.get("code") == "rate_limited" and time.monotonic() < deadline:
                await asyncio.sleep(max(d.get("retry_after_ms", 100), 10) / 1000)
                continue
            raise AssertionError(f"{self.name}: send failed: {reply}")

    def resume_state(self):
        return {"epoch": self.epoch, "rooms": dict(self.last_seq)}

    def room_events(self, room_id, type_=None):
        evs = self.events.get(room_id, [])
        return [e for e in evs if type_ is None or e["type"] == type_]

    async def wait_room_seq(self, room_id, seq, timeout=WAIT_S):
        """Waits until events of room_id up to `seq` arrived."""
        return await self.wait_for(
            lambda f: f.get("op") in EVENT_OPS and f["d"].get("room_id") == room_id
            and f["d"].get("seq", 0) >= seq, timeout, what=f"room {room_id} seq {seq}")

    async def close(self):
        if self.ws is not None and not self.closed:
            try:
                await asyncio.wait_for(self.ws.close(), 5)
            except Exception:  # noqa: BLE001 - teardown
                pass
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5)
            except Exception:  # noqa: BLE001 - teardown
                self._reader.cancel()


async def gateway(server, token, name="gw", resume=None):
    """Connected and identified client."""
    c = GatewayClient(server, name)
    await c.connect()
    await c.identify(token, resume=resume)
    return c


# ---------------------------------------------------------------------------------------------
# Raw WebSocket (blocking sockets)


class RawWebSocket:
    """Minimal RFC 6455 client over a plain socket. Text frames are masked as required."""

    def __init__(self, port, rcvbuf=None, timeout=WAIT_S):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET /api/v1/gateway HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError("raw websocket: connection closed during handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise AssertionError(f"raw websocket: handshake failed: {head[:300]!r}")
        self.close_code = None
        self.eof = False

    def send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_json(self, obj):
        self.send_frame(0x1, json.dumps(obj).encode())

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.eof = True
                raise EOFError
            self.buf += chunk

    def recv_frame(self):
        """Returns (opcode, payload); raises EOFError at end of stream, socket.timeout on
        timeout. Answers nothing (a reader that only observes)."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            self._need(4)
            n = struct.unpack("!H", self.buf[2:4])[0]
            pos = 4
        elif n == 127:
            self._need(10)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            pos = 10
        if b1 & 0x80:
            raise AssertionError("server frames must not be masked")
        self._need(pos + n)
        payload = self.buf[pos:pos + n]
        self.buf = self.buf[pos + n:]
        opcode = b0 & 0x0F
        if opcode == 0x8:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        return opcode, payload

    def recv_json(self, timeout=WAIT_S):
        """The next text frame as JSON (skipping pings); None at a close frame."""
        self.sock.settimeout(timeout)
        while True:
            opcode, payload = self.recv_frame()
            if opcode == 0x1:
                return json.loads(payload)
            if opcode == 0x8:
                return None

    def read_until_closed(self, timeout=WAIT_S):
        """Reads everything until a close frame or EOF; returns the JSON text frames read."""
        frames = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"raw websocket: not closed within {timeout}s")
            self.sock.settimeout(left)
            try:
                opcode, payload = self.recv_frame()
            except EOFError:
                return frames
            except socket.timeout:
                raise AssertionError(f"raw websocket: not closed within {timeout}s "
                                     f"({len(frames)} frames read)") from None
            if opcode == 0x1:
                frames.append(json.loads(payload))
            elif opcode == 0x8:
                return frames

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# Misc


def raw_http(port, method, path, headers, body=b"", timeout=WAIT_S):
    """One HTTP/1.1 request over a plain socket, tolerant of a server that answers and closes
    before reading the whole body (as it should for 413). Returns a Response."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        for k, v in headers.items():
            head += f"{k}: {v}\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        data = head.encode("latin-1") + body

        def writer():
            try:
                sock.sendall(data)
            except OSError:
                pass  # the server answered early and closed: fine

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        buf = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            buf += chunk
            if b"\r\n\r\n" in buf:
                head_part, rest = buf.split(b"\r\n\r\n", 1)
                length = None
                for line in head_part.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if length is not None and len(rest) >= length:
                    break
        t.join(5)
    finally:
        sock.close()
    if b"\r\n\r\n" not in buf:
        raise AssertionError(f"raw_http: no complete response: {buf[:200]!r}")
    head_part, rest = buf.split(b"\r\n\r\n", 1)
    lines = head_part.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    hdrs = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs.append((k.strip(), v.strip()))
    return Response(status, hdrs, rest)




def metric_value(text, name, labels=None):
    """Sum of the samples of `name` (optionally only those whose label text contains
    `labels`) in Prometheus text; None when the metric has no sample."""
    total = None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        metric = series.split("{", 1)[0]
        if metric != name:
            continue
        if labels and labels not in series:
            continue
        total = (total or 0) + float(value)
    return total


def assert_problem(test, r, status, code):
    """r is a problem+json error with this status and stable code."""
    test.assertEqual(r.status, status, f"expected {status} {code}, got {r}")
    ctype = r.header("content-type") or ""
    test.assertTrue(ctype.startswith("application/problem+json"),
                    f"content-type {ctype!r} for {r}")
    test.assertIsInstance(r.json, dict, r)
    test.assertEqual(r.json.get("code"), code, r)
    test.assertEqual(r.json.get("status"), status, r)
    test.assertEqual(r.json.get("type"), f"https://parley.chat/problems/{code}", r)
    test.assertIsInstance(r.json.get("title"), str, r)
    test.assertTrue(r.json.get("request_id"), r)


def assert_over_limit(test, r):
    """A field (other than a message body) over its length limit: 400 invalid_argument, as
    docs/protocol.md ("Which code applies where there could be doubt") says."""
    assert_problem(test, r, 400, "invalid_argument")


def main():
    """Runs the calling module's tests; exits non-zero on failure."""
    parley_bin()  # fail loudly (non-zero) before anything else when the binary is missing
    unittest.main(module="__main__", verbosity=2)


def run(coro):
    return asyncio.run(coro)


if __name__ == "__main__":
    print("parley_harness is a library; run the test_*.py files", file=sys.stderr)
    sys.exit(2)
