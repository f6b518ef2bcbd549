"""Bad input over HTTP and the gateway: every refusal has its documented status, stable code
and close code, nothing is stored, and the server keeps serving (docs/protocol.md: "Errors",
"Errors and limits", "Close codes")."""

import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parley_harness import (  # noqa: E402
    AsyncServerTestCase, GatewayClient, RawWebSocket, assert_over_limit, assert_problem, gateway,
    main, raw_http)

import unittest  # noqa: E402


class HttpBadInputTest(AsyncServerTestCase):

    def setUp(self):
        self.u = self.api.new_user("bad")
        self.room = self.u.create_room()
        self.rid = self.room["id"]
        self.good = self.u.send(self.rid, "the only message").json["message"]
        self.path = f"/api/v1/rooms/{self.rid}/messages"

    def assert_nothing_stored(self):
        msgs = self.u.all_messages(self.rid)
        self.assertEqual([m["id"] for m in msgs], [self.good["id"]], "nothing was stored")
        last_seq = self.u.get(f"/api/v1/rooms/{self.rid}").json["room"]["last_seq"]
        self.assertEqual(last_seq, self.good["seq"], "no event was recorded")

    def post_raw(self, raw, path=None, **headers):
        h = {"Content-Type": "application/json", "Authorization": f"Bearer {self.u.token}"}
        h.update(headers)
        return raw_http(self.server.port, "POST", path or self.path, h, raw)

    def test_malformed_json(self):
        for raw in (b'{"client_txn_id": "a", "body": "x"', b"not json", b"", b'{"a":1}}',
                    b"[1, 2]", b'"a string"', b"null"):
            with self.subTest(raw=raw):
                assert_problem(self, self.post_raw(raw), 400, "invalid_json")
        self.assert_nothing_stored()

    def test_wrong_types_and_missing_fields(self):
        cases = [
            {"client_txn_id": "t1", "body": 42},
            {"client_txn_id": 7, "body": "x"},
            {"client_txn_id": "t2", "body": ["x"]},
            {"client_txn_id": "t3", "body": None},
            {"client_txn_id": "t4", "body": "x", "reply_to": {"id": 1}},
            {"body": "no txn id"},
            {"client_txn_id": "t5"},
            {},
            {"client_txn_id": "", "body": "empty txn"},
            {"client_txn_id": "tab\there", "body": "control in txn"},
            {"client_txn_id": "t6", "body": "bad\u0001control"},
            {"client_txn_id": "t7", "body": "escape \u001b[31m"},
        ]
        for body in cases:
            with self.subTest(body=body):
                assert_problem(self, self.u.post(self.path, body), 400, "invalid_argument")
        assert_over_limit(self, self.u.post(self.path, {"client_txn_id": "x" * 65, "body": "t"}))
        self.assert_nothing_stored()
        # Allowed whitespace in bodies is fine (control check, not whitespace).
        ok = self.u.send(self.rid, "line\nbreak\tand\r\nCRLF")
        self.assertEqual(ok.status, 201, ok)
        self.assertEqual(ok.json["message"]["body"], "line\nbreak\tand\r\nCRLF")
        self.assertEqual(self.u.delete(f"{self.path}/{ok.json['message']['id']}").status, 204)

    def test_room_names_and_topics_validated(self):
        for body in ({"name": "two\nlines"}, {"name": 5}, {"name": "ok", "member_ids": "nope"},
                     {"topic": "no name"}, {"name": "ok", "topic": "bell\u0007"}):
            with self.subTest(body=body):
                assert_problem(self, self.u.post("/api/v1/rooms", body), 400, "invalid_argument")
        for body in ({"name": "x" * 81}, {"name": "ok", "topic": "t" * 513}):
            with self.subTest(body=body):
                assert_over_limit(self, self.u.post("/api/v1/rooms", body))
        names = {s["room"]["name"] for s in self.u.get("/api/v1/rooms").json["rooms"]}
        self.assertEqual(names, {self.room["name"]})

    def test_invalid_utf8(self):
        for raw in (b'{"client_txn_id": "u1", "body": "\xff\xfe"}',
                    b'{"client_txn_id": "u2", "body": "\xc3\x28"}',
                    b'{"client_txn_id": "u3", "body": "\xed\xa0\x80"}'):
            with self.subTest(raw=raw):
                r = self.post_raw(raw)
                self.assertEqual(r.status, 400, r)
                assert_problem(self, r, 400, "invalid_json")
        # A lone surrogate escape is not well-formed text either.
        # A lone surrogate escape decodes to no valid text: the JSON parser refuses it.
        r = self.post_raw(b'{"client_txn_id": "u4", "body": "\\ud800"}')
        assert_problem(self, r, 400, "invalid_json")
        self.assert_nothing_stored()

    def test_oversize(self):
        big = json.dumps({"client_txn_id": "big", "body": "x" * (1024 * 1024 + 10)}).encode()
        assert_problem(self, self.post_raw(big), 413, "too_large")
        too_long = {"client_txn_id": "big2", "body": "é" * 8193}  # 16386 bytes
        assert_problem(self, self.u.post(self.path, too_long), 413, "too_large")
        self.assert_nothing_stored()
        at_limit = self.u.send(self.rid, "é" * 8192)  # exactly 16 KiB
        self.assertEqual(at_limit.status, 201, at_limit)
        self.assertEqual(self.u.delete(f"{self.path}/{at_limit.json['message']['id']}").status, 204)

    def test_not_json_content_type(self):
        r = self.post_raw(b'{"client_txn_id": "ct", "body": "x"}', **{"Content-Type": "text/plain"})
        assert_problem(self, r, 400, "invalid_argument")
        r = self.post_raw(b"client_txn_id=ct&body=x",
                          **{"Content-Type": "application/x-www-form-urlencoded"})
        assert_problem(self, r, 400, "invalid_argument")
        self.assert_nothing_stored()

    def test_unknown_and_foreign_rooms(self):
        stranger = self.api.new_user("str")
        foreign = stranger.create_room()
        stranger.send(foreign["id"], "private")
        for rid in ("999999999999", foreign["id"]):
            with self.subTest(room=rid):
                assert_problem(self, self.u.get(f"/api/v1/rooms/{rid}"), 404, "not_found")
                assert_problem(self, self.u.get(f"/api/v1/rooms/{rid}/messages"), 404, "not_found")
                assert_problem(self, self.u.send(rid, "hi"), 404, "not_found")
                assert_problem(self, self.u.patch(f"/api/v1/rooms/{rid}", {"name": "x"}), 404,
                               "not_found")
                assert_problem(self, self.u.post(f"/api/v1/rooms/{rid}/members",
                                                 {"user_id": self.u.id}), 404, "not_found")
        m = stranger.history(foreign["id"]).json["messages"][0]
        assert_problem(self, self.u.delete(f"/api/v1/rooms/{foreign['id']}/messages/{m['id']}"),
                       404, "not_found")
        assert_problem(self, self.u.patch(f"/api/v1/rooms/{foreign['id']}/messages/{m['id']}",
                                          {"body": "mine"}), 404, "not_found")
        # A message id from another room, used in my room, is not found either.
        assert_problem(self, self.u.patch(f"{self.path}/{m['id']}", {"body": "mine"}), 404,
                       "not_found")
        self.assertEqual([x["body"] for x in stranger.history(foreign["id"]).json["messages"]],
                         ["private"])
        assert_problem(self, self.u.get("/api/v1/users/999999999999"), 404, "not_found")
        self.assert_nothing_stored()

    def test_bad_tokens(self):
        for token in ("garbage", "A" * 43, self.u.token[:-2] + "xx"):
            with self.subTest(token=token[:8]):
                assert_problem(self, self.api.post(self.path, {"client_txn_id": "tk", "body": "x"},
                                                   token=token), 401, "unauthorized")
        assert_problem(self, self.api.post(self.path, {"client_txn_id": "tk", "body": "x"}), 401,
                       "unauthorized")
        self.assert_nothing_stored()

    def test_limits_out_of_range(self):
        for q in ("limit=0", "limit=101", "limit=99999999999999999999", "limit=1.5", "limit="):
            with self.subTest(q=q):
                assert_problem(self, self.u.get(f"{self.path}?{q}"), 400, "invalid_argument")
        assert_problem(self, self.u.get(f"/api/v1/rooms/{self.rid}/events?limit=0"), 400,
                       "invalid_argument")
        assert_problem(self, self.u.get(f"/api/v1/users?limit=0"), 400, "invalid_argument")


class GatewayBadInputTest(AsyncServerTestCase):
    server_flags = ["--gateway.identify_timeout_ms=500"]

    async def asyncSetUp(self):
        self.clients = []
        self.u = self.api.new_user("gwbad")
        self.room = self.u.create_room()

    async def asyncTearDown(self):
        for c in self.clients:
            await c.close()

    async def connect(self, name):
        c = GatewayClient(self.server, name)
        self.clients.append(c)
        await c.connect()
        return c

    async def identified(self, name):
        c = await self.connect(name)
        await c.identify(self.u.token)
        return c

    async def assert_alive(self, c):
        fid = await c.request("ping")
        pong = await c.wait_reply(fid)
        self.assertEqual(pong["op"], "pong")

    async def error_for(self, c, raw):
        mark = len(c.frames)
        await c.send_raw(raw)
        return await c.wait_for(lambda f: f.get("op") == "error", since=mark, what="error")

    async def test_hello(self):
        c = await self.connect("hello")
        self.assertEqual(c.hello["d"]["protocol"], 1)
        self.assertEqual(c.hello["d"]["max_frame_bytes"], 65536)
        self.assertIsInstance(c.hello["d"]["heartbeat_ms"], int)

    async def test_malformed_frames_keep_the_connection(self):
        c = await self.identified("malformed")
        err = await self.error_for(c, "{not json")
        self.assertEqual(err["d"]["code"], "invalid_json")
        self.assertIsInstance(err["d"]["message"], str)
        await self.assert_alive(c)
        err = await self.error_for(c, "[1, 2, 3]")
        self.assertEqual(err["d"]["code"], "invalid_json")
        err = await self.error_for(c, json.dumps({"id": "noop", "d": {}}))
        self.assertEqual(err["d"]["code"], "invalid_argument")
        err = await self.error_for(c, json.dumps({"op": 5, "id": "numop"}))
        self.assertEqual(err["d"]["code"], "invalid_argument")
        await self.assert_alive(c)

        err = await self.error_for(c, json.dumps({"op": "frobnicate", "id": "u-1"}))
        self.assertEqual(err["d"]["code"], "invalid_argument")
        self.assertEqual(err["re"], "u-1")

        rid = self.room["id"]
        for d in ({"room_id": rid, "client_txn_id": "g1"},
                  {"room_id": rid, "body": "no txn"},
                  {"client_txn_id": "g2", "body": "no room"},
                  {"room_id": rid, "client_txn_id": "g3", "body": 12},
                  {"room_id": rid, "client_txn_id": "g4", "body": "ctl\u0007"}):
            with self.subTest(d=d):
                fid = await c.request("send", d)
                reply = await c.wait_reply(fid)
                self.assertEqual(reply["op"], "error", reply)
                self.assertEqual(reply["d"]["code"], "invalid_argument", reply)
        fid = await c.request("send", None)
        reply = await c.wait_reply(fid)
        self.assertEqual((reply["op"], reply["d"]["code"]), ("error", "invalid_argument"))
        stranger = self.api.new_user("gws")
        foreign = stranger.create_room()
        for room_id in ("999999999999", foreign["id"]):
            fid = await c.request("send", {"room_id": room_id, "client_txn_id": "nf",
                                           "body": "x"})
            reply = await c.wait_reply(fid)
            self.assertEqual((reply["op"], reply["d"]["code"]), ("error", "not_found"), reply)
        await self.assert_alive(c)
        self.assertFalse(c.closed)
        self.assertEqual(self.u.history(rid).json["messages"], [], "nothing stored")
        self.assertEqual(stranger.history(foreign["id"]).json["messages"], [])

    async def test_second_identify_is_an_error(self):
        c = await self.identified("twice")
        fid = await c.request("identify", {"token": self.u.token, "protocol": 1})
        reply = await c.wait_reply(fid)
        self.assertEqual(reply["op"], "error", reply)
        self.assertEqual(reply["d"]["code"], "invalid_argument")
        await self.assert_alive(c)

    async def test_binary_frame_closes_4002(self):
        c = await self.identified("binary")
        await c.send_raw(b'{"op": "ping"}')
        self.assertEqual(await c.wait_closed(), 4002)

    async def test_oversize_frame_closes_1009(self):
        c = await self.identified("oversize")
        await c.send_raw(json.dumps({"op": "send", "id": "big", "d": {
            "room_id": self.room["id"], "client_txn_id": "big", "body": "x" * 70000}}))
        self.assertEqual(await c.wait_closed(), 1009)
        self.assertEqual(self.u.history(self.room["id"]).json["messages"], [])

    async def test_op_before_identify_closes_4003(self):
        c = await self.connect("early")
        await c.request("send", {"room_id": self.room["id"], "client_txn_id": "e",
                                 "body": "too early"})
        self.assertEqual(await c.wait_closed(), 4003)
        self.assertEqual(self.u.history(self.room["id"]).json["messages"], [])

    async def test_no_identify_in_time_closes_4003(self):
        c = await self.connect("silent")
        t0 = time.monotonic()
        self.assertEqual(await c.wait_closed(5), 4003)
        self.assertLess(time.monotonic() - t0, 3.0, "identify_timeout_ms=500 is honoured")

    async def test_bad_token_closes_4004(self):
        for token in ("garbage-token", "A" * 43):
            with self.subTest(token=token[:8]):
                c = await self.connect("badtoken")
                await c.request("identify", {"token": token, "protocol": 1})
                self.assertEqual(await c.wait_closed(), 4004)
        c = await self.connect("notoken")
        await c.request("identify", {"protocol": 1})
        self.assertEqual(await c.wait_closed(), 4004, "no token and no cookie")

    async def test_unsupported_protocol_closes_4502(self):
        c = await self.connect("proto")
        await c.request("identify", {"token": self.u.token, "protocol": 2})
        self.assertEqual(await c.wait_closed(), 4502)

    async def test_flood_is_rate_limited_then_closed_4008(self):
        c = await self.identified("flood")
        deadline = time.monotonic() + 10
        sent = 0
        while not c.closed and time.monotonic() < deadline:
            try:
                await c.send_frame({"op": "ping", "id": f"f{sent}"})
            except Exception:  # noqa: BLE001 - the server closed on us
                break
            sent += 1
            if sent % 20 == 0:
                await asyncio.sleep(0.01)  # ~2000 frames/s: far more than twice the budget
        code = await c.wait_closed(5)
        limited = [f for f in c.frames if f.get("op") == "error"
                   and f["d"].get("code") == "rate_limited"]
        self.assertTrue(limited, "an error rate_limited comes before the close")
        self.assertIsInstance(limited[0]["d"].get("retry_after_ms"), int)
        self.assertGreater(limited[0]["d"]["retry_after_ms"], 0)
        self.assertTrue(limited[0]["re"].startswith("f"))
        self.assertEqual(code, 4008)
        pongs = [f for f in c.frames if f.get("op") == "pong"]
        self.assertGreaterEqual(len(pongs), 30, "the burst allowance was served")

    async def test_zz_server_still_serves_a_normal_client(self):
        # Runs last in this class (alphabetical): after all the abuse above.
        c = await self.identified("normal")
        other = self.api.new_user("gwok")
        room = self.u.create_room(members=[other])
        oc = await gateway(self.server, other.token, "other")
        self.clients.append(oc)
        ack = await c.send(room["id"], "still works")
        self.assertEqual(ack["op"], "ack", ack)
        ev = await oc.wait_room_seq(room["id"], ack["d"]["seq"])
        self.assertEqual(ev["d"]["message"]["body"], "still works")
        self.assertEqual(self.api.get("/readyz").status, 200)


class HeartbeatTest(AsyncServerTestCase):
    server_flags = ["--gateway.heartbeat_ms=1000"]

    def test_silent_client_closed_4009(self):
        u = self.api.new_user("hb")
        raw = RawWebSocket(self.server.port)
        try:
            hello = raw.recv_json()
            self.assertEqual(hello["d"]["heartbeat_ms"], 1000)
            raw.send_json({"op": "identify", "id": "1", "d": {"token": u.token, "protocol": 1}})
            self.assertEqual(raw.recv_json()["op"], "ready")
            t0 = time.monotonic()
            raw.read_until_closed(8)  # never answers anything, not even WebSocket pings
            self.assertEqual(raw.close_code, 4009)
            self.assertLess(time.monotonic() - t0, 4.0, "closed after about 2 x heartbeat_ms")
        finally:
            raw.close()

    async def test_client_that_pings_stays_connected(self):
        u = self.api.new_user("hb")
        c = await gateway(self.server, u.token, "pinger")
        try:
            for _ in range(10):  # 3 s, well past 2 x heartbeat_ms
                fid = await c.request("ping")
                await c.wait_reply(fid)
                await asyncio.sleep(0.3)
            self.assertFalse(c.closed, f"closed with {c.close_code}")
        finally:
            await c.close()


if __name__ == "__main__":
    main()
