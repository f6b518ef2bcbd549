"""Operations: health endpoints, metrics, the OpenAPI document, graceful SIGTERM
(docs/protocol.md "Operations", docs/operations.md)."""

import asyncio
import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parley_harness import (  # noqa: E402
    AsyncServerTestCase, Http, Server, gateway, main)

import unittest  # noqa: E402

DOCUMENTED_METRICS = [
    "parley_http_requests_total", "parley_http_request_seconds", "parley_gateway_connections",
    "parley_gateway_events_delivered_total", "parley_gateway_slow_consumer_disconnects_total",
    "parley_gateway_delivery_seconds", "parley_rate_limited_total",
    "parley_store_commit_seconds", "parley_store_batch_size", "parley_store_commits_total",
    "parley_store_writes_total", "parley_store_queue_depth",
]

# Every REST route in docs/protocol.md, as (method, path under /api/v1 with {} for parameters).
ROUTES = [
    ("post", "/auth/register"), ("post", "/auth/login"), ("post", "/auth/logout"),
    ("get", "/auth/sessions"), ("delete", "/auth/sessions/{}"), ("post", "/auth/password"),
    ("get", "/users/me"), ("patch", "/users/me"), ("get", "/users"), ("get", "/users/{}"),
    ("get", "/rooms"), ("post", "/rooms"), ("post", "/dms"), ("get", "/rooms/{}"),
    ("patch", "/rooms/{}"), ("post", "/rooms/{}/members"), ("delete", "/rooms/{}/members/{}"),
    ("get", "/rooms/{}/messages"), ("post", "/rooms/{}/messages"),
    ("patch", "/rooms/{}/messages/{}"), ("delete", "/rooms/{}/messages/{}"),
    ("get", "/rooms/{}/events"),
    ("get", "/admin/users"), ("post", "/admin/users"), ("patch", "/admin/users/{}"),
    ("post", "/rooms/{}/read"), ("post", "/rooms/{}/unread"), ("post", "/rooms/{}/delivered"),
    ("post", "/users/me/read-all"), ("get", "/rooms/{}/messages/{}/receipts"),
    ("post", "/rooms/{}/messages/{}/reactions"),
    ("get", "/rooms/{}/pins"), ("post", "/rooms/{}/pins"), ("delete", "/rooms/{}/pins/{}"),
    ("get", "/rooms/{}/threads/{}"), ("post", "/rooms/{}/threads/{}/follow"),
    ("delete", "/rooms/{}/threads/{}/follow"), ("post", "/rooms/{}/threads/{}/read"),
    ("get", "/users/me/threads"), ("get", "/rooms/{}/messages/{}/revisions"),
    ("post", "/uploads"), ("get", "/attachments/{}"), ("get", "/attachments/{}/thumbnail"),
    ("get", "/attachments/{}/preview"), ("post", "/uploads/resumable"), ("get", "/uploads/{}"),
    ("patch", "/uploads/{}"), ("delete", "/uploads/{}"), ("post", "/uploads/{}/complete"),
]


def normalise(path):
    path = re.sub(r"\{[^}]*\}", "{}", path)
    if path.startswith("/api/v1/"):
        path = path[len("/api/v1"):]
    return path


class OpsTest(AsyncServerTestCase):

    def test_livez_and_readyz(self):
        r = self.api.get("/livez")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body.strip(), b"ok")
        r = self.api.get("/readyz")
        self.assertEqual(r.status, 200, r)

    async def test_metrics_has_the_documented_series(self):
        u = self.api.new_user("met")
        room = u.create_room()
        c = await gateway(self.server, u.token, "metrics")
        try:
            ack = await c.send(room["id"], "count me")
            self.assertEqual(ack["op"], "ack", ack)
            await c.wait_room_seq(room["id"], ack["d"]["seq"])
            r = self.api.get("/metrics")
            self.assertEqual(r.status, 200, r)
            self.assertTrue((r.header("content-type") or "").startswith("text/plain"), r.headers)
            text = r.body.decode()
            for name in DOCUMENTED_METRICS:
                with self.subTest(metric=name):
                    self.assertRegex(text, rf"(?m)^# TYPE {name} (counter|gauge|histogram)$")
            samples = re.findall(r"(?m)^parley_gateway_connections(?:\{[^}]*\})? (\S+)$", text)
            self.assertTrue(samples and float(samples[0]) >= 1, "a connected client is counted")
            self.assertRegex(text, r'(?m)^parley_http_requests_total\{[^}]*status="201"[^}]*\} [1-9]')
            self.assertRegex(text, r"(?m)^parley_store_commit_seconds_count(\{[^}]*\})? [1-9]")
            self.assertNotIn(u.id, text, "no user ids in metrics")
            self.assertNotIn(room["id"], text, "no room ids in metrics")
            self.assertNotIn("/rooms/" + room["id"], text, "routes are patterns, not paths")
        finally:
            await c.close()

    def test_openapi_document(self):
        r = self.api.get("/api/v1/openapi.json")
        self.assertEqual(r.status, 200, r)
        doc = json.loads(r.body)
        self.assertRegex(doc.get("openapi", ""), r"^3\.1\.\d+$")
        self.assertIn("info", doc)
        paths = doc.get("paths", {})
        listed = {(m.lower(), normalise(p)) for p, ops in paths.items() for m in ops
                  if m.lower() in ("get", "post", "put", "patch", "delete")}
        missing = [f"{m.upper()} {p}" for m, p in ROUTES if (m, p) not in listed]
        self.assertEqual(missing, [], "routes missing from the OpenAPI document")


class LogHygieneTest(AsyncServerTestCase):
    server_flags = ["--log.level=debug"]

    async def test_no_secrets_or_bodies_in_logs(self):
        u = self.api.new_user("log")
        other = self.api.new_user("log")
        room = u.create_room(members=[other])
        secret_body = "top secret body " + u.username
        self.assertEqual(u.send(room["id"], secret_body + " rest").status, 201)
        c = await gateway(self.server, u.token, "log")
        try:
            ack = await c.send(room["id"], secret_body + " gateway")
            self.assertEqual(ack["op"], "ack", ack)
        finally:
            await c.close()
        self.api.login(u.username, "a wrong password attempt")
        self.api.post("/api/v1/auth/password",
                      {"old_password": u.password, "new_password": "fresh new password"},
                      token=u.token)
        self.api.get("/livez")  # flush
        with open(self.server.stderr_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
        self.assertIn("http", log, "the server does log requests at debug level")
        for secret in (u.password, "a wrong password attempt", "fresh new password", u.token,
                       other.token, secret_body):
            self.assertNotIn(secret, log)
        for line in log.splitlines():
            self.assertTrue(line.startswith("{") and line.endswith("}"), f"JSON lines: {line!r}")


class ShutdownTest(unittest.IsolatedAsyncioTestCase):

    async def test_sigterm_closes_gateway_1012_and_exits_0(self):
        server = Server().start()
        clients = []
        try:
            api = server.http()
            u = api.new_user("bye")
            room = u.create_room()
            for i in range(2):
                clients.append(await gateway(server, u.token, f"c{i}"))
            api.get("/readyz")

            server.proc.send_signal(signal.SIGTERM)
            t0 = time.monotonic()
            codes = [await c.wait_closed(10) for c in clients]
            self.assertEqual(codes, [1012, 1012], "gateway clients are told to reconnect")
            # Draining has begun: readiness must not say 200 any more (if it answers at all).
            try:
                r = Http(server.port).get("/readyz", timeout=2)
                self.assertEqual(r.status, 503, "/readyz while draining")
            except OSError:
                pass  # no longer accepting: also fine
            code = await asyncio.to_thread(server.proc.wait, 10)
            took = time.monotonic() - t0
            self.assertEqual(code, 0, server.stderr_tail())
            self.assertLess(took, 5.0, "idle server drains within a few seconds")
            server._reap()

            # The data is still there after a restart.
            server.start()
            api = server.http()
            u.api = api
            u.login()
            self.assertEqual(u.get(f"/api/v1/rooms/{room['id']}").status, 200)
            self.assertEqual(api.get("/readyz").status, 200)
        finally:
            for c in clients:
                await c.close()
            server.stop()


if __name__ == "__main__":
    main()
