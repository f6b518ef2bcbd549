"""The live conversation (docs/protocol.md, "Read state and receipts", "Typing", "Presence",
"Reactions"): read markers across devices, delivered/read receipts, typing that expires by
itself, presence online -> away -> offline with last seen, invisible users, reactions that
survive a restart and replay on resume. Two devices of one user plus two other users."""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parley_harness import (  # noqa: E402
    AsyncServerTestCase, GatewayClient, main)


def op_in_room(op, room_id):
    return lambda f: f.get("op") == op and (f.get("d") or {}).get("room_id") == room_id


def presence_of(user_id, status=None):
    def pred(f):
        if f.get("op") != "presence":
            return False
        u = f["d"]["users"].get(user_id)
        return u is not None and (status is None or u["status"] == status)
    return pred


class LiveBase(AsyncServerTestCase):
    server_flags = ["--gateway.frames_per_second=500", "--gateway.burst_frames=500"]

    async def asyncSetUp(self):
        self.clients = []

    async def asyncTearDown(self):
        for c in self.clients:
            await c.close()

    async def gw(self, token, name, resume=None, subscribe=("presence", "typing")):
        c = GatewayClient(self.server, name)
        self.clients.append(c)
        await c.connect()
        await c.identify(token, resume=resume, extra={"subscribe": list(subscribe)})
        return c

    async def reply(self, client, op, d):
        fid = await client.request(op, d)
        return await client.wait_reply(fid)

    def assert_error(self, frame, code):
        self.assertEqual(frame.get("op"), "error", frame)
        self.assertEqual(frame["d"]["code"], code, frame)

    def summary(self, user, room_id):
        r = user.get("/api/v1/rooms")
        self.assertEqual(r.status, 200, r)
        for s in r.json["rooms"]:
            if s["room"]["id"] == room_id:
                return s
        self.fail(f"room {room_id} not in the room list")


class ReadStateTest(LiveBase):

    async def test_read_on_one_device_clears_unread_on_the_other(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        carol = self.api.new_user("carol")
        dave = self.api.new_user("dave")
        room = alice.create_room(members=[bob, carol])
        a1 = await self.gw(alice.tokens[0], "alice-laptop")
        a2 = await self.gw(alice.login(device="phone"), "alice-phone")
        b = await self.gw(bob.token, "bob")
        rid = room["id"]
        ids = []
        for i in range(3):
            r = bob.send(rid, f"from bob {i}")
            self.assertEqual(r.status, 201, r)
            ids.append(r.json["message"])
        last = ids[-1]["seq"]
        await a1.wait_room_seq(rid, last)
        self.assertEqual(self.summary(alice, rid)["unread"], 3)

        # Reading on the laptop: the phone's badge follows.
        ok = await self.reply(a1, "read", {"room_id": rid, "seq": ids[1]["seq"]})
        self.assertEqual(ok["op"], "ok", ok)
        self.assertEqual(ok["d"]["unread"], 1)
        upd = await a2.wait_for(lambda f: f.get("op") == "read.updated"
                                and f["d"]["room_id"] == rid, what="read.updated")
        self.assertEqual(upd["d"]["last_read_seq"], ids[1]["seq"])
        self.assertEqual(upd["d"]["unread"], 1)

        # Mark room read over REST: both devices hear it; the room list agrees.
        mark = len(a2.frames)
        r = alice.post(f"/api/v1/rooms/{rid}/read", {})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["read"]["last_read_seq"], last)
        self.assertEqual(r.json["read"]["unread"], 0)
        for c in (a1, a2):
            u = await c.wait_for(lambda f: f.get("op") == "read.updated"
                                 and f["d"]["unread"] == 0, since=mark if c is a2 else 0)
            self.assertEqual(u["d"]["last_read_seq"], last)
        self.assertEqual(self.summary(alice, rid)["unread"], 0)
        self.assertFalse([f for f in b.frames if f.get("op") == "read.updated"],
                         "other members do not get someone's read markers")

        # Bad input: backwards, beyond last_seq, outsiders, malformed.
        self.assert_error(await self.reply(a1, "read", {"room_id": rid, "seq": 1}), "conflict")
        self.assert_error(await self.reply(a1, "read", {"room_id": rid, "seq": last + 5}),
                          "invalid_argument")
        self.assert_error(await self.reply(a1, "read", {"room_id": rid, "seq": -1}),
                          "invalid_argument")
        self.assert_error(await self.reply(a1, "read", {"room_id": rid, "seq": "x"}),
                          "invalid_argument")
        r = alice.post(f"/api/v1/rooms/{rid}/read", {"seq": 1})
        self.assertEqual((r.status, r.json["code"]), (409, "conflict"), r)
        r = dave.post(f"/api/v1/rooms/{rid}/read", {})
        self.assertEqual((r.status, r.json["code"]), (404, "not_found"), r)

        # Mark unread from the second message: two unread again, on every device and in ready.
        r = alice.post(f"/api/v1/rooms/{rid}/unread", {"message_id": ids[1]["id"]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["read"]["unread"], 2)
        await a2.wait_for(lambda f: f.get("op") == "read.updated" and f["d"]["unread"] == 2)
        fresh = await self.gw(alice.tokens[0], "alice-tablet")
        s = [x for x in fresh.ready["d"]["rooms"] if x["room"]["id"] == rid][0]
        self.assertEqual((s["last_read_seq"], s["unread"]), (ids[0]["seq"], 2))

        # Mark all read.
        other = bob.create_room(members=[alice])
        self.assertEqual(bob.send(other["id"], "elsewhere").status, 201)
        r = alice.post("/api/v1/users/me/read-all", {})
        self.assertEqual(r.status, 200, r)
        changed = {x["room_id"]: x for x in r.json["rooms"]}
        self.assertEqual(set(changed), {rid, other["id"]})
        self.assertTrue(all(x["unread"] == 0 for x in changed.values()))
        self.assertEqual(self.summary(alice, other["id"])["unread"], 0)

    async def test_dm_receipts_delivered_then_read_and_privacy(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        dm = alice.open_dm(bob)
        a = await self.gw(alice.token, "alice")
        b = await self.gw(bob.token, "bob")
        ack = await a.send_acked(dm["id"], "are you there?")
        seq = ack["seq"]
        await b.wait_room_seq(dm["id"], seq)

        # The client acknowledges the highest seq it holds (one frame, not one per message).
        self.assertEqual((await self.reply(b, "delivered", {"room_id": dm["id"], "seq": seq}))["op"], "ok")
        delivered = await a.wait_for(lambda f: f.get("op") == "receipt" and f["d"]["user_id"] == bob.id
                                     and f["d"]["delivered_seq"] == seq, what="delivered receipt")
        self.assertLess(delivered["d"]["read_seq"], seq)
        self.assertEqual((await self.reply(b, "read", {"room_id": dm["id"], "seq": seq}))["op"], "ok")
        read = await a.wait_for(lambda f: f.get("op") == "receipt" and f["d"]["read_seq"] == seq,
                                what="read receipt")
        self.assertLess(a.frames.index(delivered), a.frames.index(read),
                        "delivered arrives before read")
        # The snapshot carries the peer's positions too.
        a_again = await self.gw(alice.token, "alice-2")
        s = [x for x in a_again.ready["d"]["rooms"] if x["room"]["id"] == dm["id"]][0]
        self.assertEqual((s["peer_delivered_seq"], s["peer_read_seq"]), (seq, seq))

        # Bob stops sharing read receipts: Alice sees delivered only.
        r = bob.patch("/api/v1/users/me", {"read_receipts": False})
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json["user"]["read_receipts"])
        ack2 = await a.send_acked(dm["id"], "and now?")
        await b.wait_room_seq(dm["id"], ack2["seq"])
        mark = len(a.frames)
        await self.reply(b, "read", {"room_id": dm["id"], "seq": ack2["seq"]})
        private = await a.wait_for(lambda f: f.get("op") == "receipt"
                                   and f["d"]["delivered_seq"] == ack2["seq"], since=mark)
        self.assertIsNone(private["d"]["read_seq"])
        self.assert_error(await self.reply(b, "delivered", {"room_id": dm["id"], "seq": 999}),
                          "invalid_argument")

    def test_group_read_by_on_request(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        carol = self.api.new_user("carol")
        dave = self.api.new_user("dave")
        room = alice.create_room(members=[bob, carol])
        m = alice.send(room["id"], "read me").json["message"]
        base = f"/api/v1/rooms/{room['id']}/messages/{m['id']}/receipts"
        r = alice.get(base)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["read_count"], r.json["delivered_count"]), (0, 0))
        self.assertEqual(bob.post(f"/api/v1/rooms/{room['id']}/read", {"seq": m["seq"]}).status, 200)
        self.assertEqual(carol.post(f"/api/v1/rooms/{room['id']}/delivered",
                                    {"seq": m["seq"]}).status, 200)
        r = alice.get(base)
        self.assertEqual(r.json["read_by"], [bob.id])
        self.assertEqual(sorted(r.json["delivered_to"]), sorted([bob.id, carol.id]))
        self.assertEqual((r.json["read_count"], r.json["delivered_count"]), (1, 2))
        # Privacy: Bob's read is no longer shown; he still counts as delivered.
        self.assertEqual(bob.patch("/api/v1/users/me", {"read_receipts": False}).status, 200)
        r = alice.get(base)
        self.assertEqual((r.json["read_count"], r.json["delivered_count"]), (0, 2))
        self.assertEqual(dave.get(base).status, 404, "outsiders do not learn about the room")


class TypingTest(LiveBase):

    async def test_typing_is_fanned_out_coalesced_expires_and_is_bounded(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        carol = self.api.new_user("carol")
        room = alice.create_room(members=[bob])
        rid = room["id"]
        a = await self.gw(alice.token, "alice")
        b = await self.gw(bob.token, "bob")
        t0 = time.monotonic()
        for _ in range(3):  # keystrokes: one notification, refreshed without republishing
            await a.request("typing", {"room_id": rid})
        start = await b.wait_for(lambda f: f.get("op") == "typing" and f["d"]["typing"],
                                 what="typing start")
        self.assertEqual(start["d"]["user_id"], alice.id)
        self.assertEqual(start["d"]["room_id"], rid)
        self.assertGreater(start["d"]["expires_in_ms"], 0)
        stop = await b.wait_for(lambda f: f.get("op") == "typing" and not f["d"]["typing"],
                                timeout=15, what="typing expiry")
        waited = time.monotonic() - t0
        self.assertGreaterEqual(waited, 4.5, "expires after a few seconds, not at once")
        self.assertEqual(stop["d"]["user_id"], alice.id)
        starts = [f for f in b.frames if f.get("op") == "typing" and f["d"]["typing"]]
        self.assertEqual(len(starts), 1, "refreshes within the window are not republished")
        # Typing is never stored: the room's events are unchanged.
        self.assertEqual(alice.events(rid), [])

        # An explicit stop, and sending a message, end typing at once.
        await a.request("typing", {"room_id": rid})
        await b.wait_for(lambda f: f.get("op") == "typing" and f["d"]["typing"],
                         since=b.frames.index(stop) + 1)
        mark = len(b.frames)
        await a.send_acked(rid, "done typing")
        await b.wait_for(lambda f: f.get("op") == "typing" and not f["d"]["typing"], since=mark,
                         timeout=3, what="stop on send")

        # Bad input and storms: clear errors, nothing leaks to other rooms' members.
        other = carol.create_room()
        self.assert_error(await self.reply(a, "typing", {"room_id": other["id"]}), "not_found")
        self.assert_error(await self.reply(a, "typing", {"room_id": rid, "typing": "yes"}),
                          "invalid_argument")
        second = alice.create_room(members=[bob])
        await b.wait_for(lambda f: f.get("op") == "room.joined")
        limited = None
        for i in range(20):  # alternating rooms defeats the refresh window: the limit applies
            r = await self.reply(a, "typing", {"room_id": rid if i % 2 else second["id"]})
            if r.get("op") == "error":
                limited = r
                break
        self.assertIsNotNone(limited, "a typing storm is rate limited")
        self.assert_error(limited, "rate_limited")
        self.assertGreater(limited["d"]["retry_after_ms"], 0)
        self.assertFalse(a.closed)


class PresenceIdleTest(LiveBase):
    server_flags = LiveBase.server_flags + ["--gateway.presence_idle_ms=2000"]

    async def test_silent_connection_goes_away_after_the_configured_idle_time(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        room = bob.create_room(members=[alice])
        b = await self.gw(bob.token, "bob")
        a = await self.gw(alice.tokens[0], "alice")
        await b.wait_for(presence_of(alice.id, "online"), what="alice online")
        mark = len(b.frames)
        silent_since = time.monotonic()
        # Alice sends nothing: after 2 s (not the default 5 minutes) she is away.
        away = await b.wait_for(presence_of(alice.id, "away"), since=mark, what="alice idle")
        self.assertGreater(time.monotonic() - silent_since, 1.0, "idle before the configured time")
        self.assertEqual(away["d"]["room_id"], room["id"])
        mark = len(b.frames)
        # Any request but a ping is activity: she is back.
        self.assertEqual((await self.reply(a, "typing", {"room_id": room["id"]}))["op"], "ok")
        await b.wait_for(presence_of(alice.id, "online"), since=mark, what="alice back")


class PresenceTest(LiveBase):

    async def test_online_away_offline_with_last_seen(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        room = bob.create_room(members=[alice])
        b = await self.gw(bob.token, "bob")
        a1 = await self.gw(alice.tokens[0], "alice-laptop")
        self.assertNotIn(alice.id, b.ready["d"]["presence"])
        on = await b.wait_for(presence_of(alice.id, "online"), what="alice online")
        self.assertEqual(on["d"]["room_id"], room["id"])
        a2 = await self.gw(alice.login(device="phone"), "alice-phone")
        # A later connection gets the snapshot in ready (never a replay).
        b2 = await self.gw(bob.token, "bob-2")
        self.assertEqual(b2.ready["d"]["presence"].get(alice.id, {}).get("status"), "online")

        # Away only when every device is idle.
        mark = len(b.frames)
        self.assertEqual((await self.reply(a1, "presence", {"status": "away"}))["op"], "ok")
        await asyncio.sleep(2.5)  # more than one announcement interval
        self.assertFalse([f for f in b.frames[mark:] if presence_of(alice.id)(f)],
                         "the phone is still active: no change announced")
        await self.reply(a2, "presence", {"status": "away"})
        await b.wait_for(presence_of(alice.id, "away"), since=mark, what="alice away")
        await self.reply(a2, "presence", {"status": "online"})
        await b.wait_for(presence_of(alice.id, "online"), since=mark + 1, what="alice back")

        before = int(time.time() * 1000)
        await a1.close()
        await a2.close()
        off = await b.wait_for(presence_of(alice.id, "offline"), what="alice offline")
        last_seen = off["d"]["users"][alice.id]["last_seen"]
        self.assertIsInstance(last_seen, int)
        self.assertGreaterEqual(last_seen, before - 1000)
        # last_seen is written to the store beside the announcement, not before it: poll the
        # profile (bounded) instead of guessing how long the write takes on a loaded machine.
        deadline = time.monotonic() + 10
        while True:
            r = bob.get(f"/api/v1/users/{alice.id}")
            if r.json["user"]["last_seen"] is not None or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        self.assertEqual(r.json["user"]["last_seen"], last_seen)
        self.assertEqual(self.bad_presence(b), [])

    async def test_a_room_joined_later_brings_its_members_presence(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        a = await self.gw(alice.token, "alice")
        b = await self.gw(bob.token, "bob")
        self.assertNotIn(bob.id, a.ready["d"]["presence"])  # no shared room yet
        room = alice.open_dm(bob)
        # Nothing about bob changes, yet alice learns he is online right after room.joined.
        on = await a.wait_for(presence_of(bob.id, "online"), what="bob's presence with the new DM")
        self.assertEqual(on["d"]["room_id"], room["id"])
        await b.wait_for(presence_of(alice.id, "online"), what="alice's presence with the new DM")

    async def test_presence_and_typing_only_for_subscribers(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        room = bob.create_room(members=[alice])
        quiet = await self.gw(bob.token, "bob-bot", subscribe=())
        loud = await self.gw(bob.token, "bob-app")
        a = await self.gw(alice.token, "alice")
        await loud.wait_for(presence_of(alice.id, "online"))
        await a.request("typing", {"room_id": room["id"]})
        await loud.wait_for(lambda f: f.get("op") == "typing")
        await asyncio.sleep(0.3)
        self.assertFalse([f for f in quiet.frames if f.get("op") in ("presence", "typing")])
        self.assertEqual(quiet.ready["d"]["presence"], {})

    def bad_presence(self, c):
        return [f for f in c.frames if f.get("op") == "presence" and not f["d"].get("users")]

    async def test_invisible_users_look_offline(self):
        bob = self.api.new_user("bob")
        carol = self.api.new_user("carol")
        room = bob.create_room(members=[carol])
        r = carol.patch("/api/v1/users/me", {"invisible": True})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["user"]["invisible"])
        b = await self.gw(bob.token, "bob")
        c = await self.gw(carol.token, "carol")
        await asyncio.sleep(2.5)
        self.assertFalse([f for f in b.frames if presence_of(carol.id)(f)],
                         "an invisible user is never announced")
        b2 = await self.gw(bob.token, "bob-2")
        self.assertNotIn(carol.id, b2.ready["d"]["presence"])
        self.assertIsNone(bob.get(f"/api/v1/users/{carol.id}").json["user"]["last_seen"])
        # Becoming visible (gateway op: at once, and stored) is announced to room members only.
        self.assertEqual((await self.reply(c, "presence", {"invisible": False}))["op"], "ok")
        on = await b.wait_for(presence_of(carol.id, "online"), what="carol visible")
        self.assertEqual(on["d"]["room_id"], room["id"])
        self.assertFalse(carol.get("/api/v1/users/me").json["user"]["invisible"])
        self.assert_error(await self.reply(c, "presence", {"status": "busy"}), "invalid_argument")


class ReactionsTest(LiveBase):

    async def test_reactions_are_events_that_survive_a_restart_and_replay_on_resume(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        carol = self.api.new_user("carol")
        room = alice.create_room(members=[bob])
        rid = room["id"]
        m = alice.send(rid, "react to me").json["message"]
        a = await self.gw(alice.token, "alice")
        b = await self.gw(bob.token, "bob")
        ok = await self.reply(a, "react", {"room_id": rid, "message_id": m["id"], "emoji": "👍"})
        self.assertEqual(ok["op"], "ok", ok)
        self.assertTrue(ok["d"]["changed"])
        ev = await b.wait_for(op_in_room("reaction.added", rid), what="reaction.added")
        self.assertEqual((ev["d"]["emoji"], ev["d"]["count"], ev["d"]["user_id"], ev["d"]["message_id"]),
                         ("👍", 1, alice.id, m["id"]))
        self.assertEqual(ev["d"]["seq"], ok["d"]["seq"])
        again = await self.reply(a, "react", {"room_id": rid, "message_id": m["id"], "emoji": "👍"})
        self.assertFalse(again["d"]["changed"], "toggling on twice changes nothing")

        # Bob goes away; reactions change while he is gone; the server restarts.
        resume = b.resume_state()
        await b.close()
        r = bob.post(f"/api/v1/rooms/{rid}/messages/{m['id']}/reactions", {"emoji": ":tada:"})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["changed"])
        r = alice.post(f"/api/v1/rooms/{rid}/messages/{m['id']}/reactions",
                       {"emoji": "👍", "add": False})
        self.assertEqual(r.json["event"]["type"], "reaction.removed")
        self.assertEqual(r.json["event"]["count"], 0)
        await a.close()
        self.server.restart()
        self.api = self.server.http()
        for u in (alice, bob, carol):
            u.api = self.api  # the restarted server listens on a new port

        b2 = await self.gw(bob.token, "bob-resumed", resume=resume)
        removed = await b2.wait_for(op_in_room("reaction.removed", rid), what="replayed removal")
        added = [e for e in b2.room_events(rid, "reaction.added")]
        self.assertEqual([e["emoji"] for e in added], [":tada:"])
        self.assertLess(added[0]["seq"], removed["d"]["seq"])
        self.assertEqual(b2.anomalies, [])
        hist = bob.history(rid).json["messages"]
        self.assertEqual(hist[0]["reactions"], [{"emoji": ":tada:", "count": 1}])

        # Bad input: outsiders, other rooms' messages, malformed emoji, too many kinds.
        base = f"/api/v1/rooms/{rid}/messages/{m['id']}/reactions"
        self.assertEqual(carol.post(base, {"emoji": "👍"}).status, 404)
        elsewhere = carol.create_room()
        cm = carol.send(elsewhere["id"], "mine").json["message"]
        r = bob.post(f"/api/v1/rooms/{rid}/messages/{cm['id']}/reactions", {"emoji": "👍"})
        self.assertEqual((r.status, r.json["code"]), (404, "not_found"))
        for bad in ("", "two words", "x" * 65):
            r = bob.post(base, {"emoji": bad})
            self.assertEqual((r.status, r.json["code"]), (400, "invalid_argument"), bad)
        for i in range(19):
            self.assertEqual(bob.post(base, {"emoji": f":e{i}:"}).status, 200)
        r = bob.post(base, {"emoji": ":one-too-many:"})
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_argument"), r)


if __name__ == "__main__":
    main()
