"""Messaging over the gateway and REST: DMs, groups, history paging, idempotent sends, edits,
deletes, replies, room administration and the room list (docs/protocol.md)."""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parley_harness import (  # noqa: E402
    AsyncServerTestCase, assert_problem, gateway, main, unique)


def is_event(frame, type_, room_id):
    return frame.get("op") == type_ and frame["d"].get("room_id") == room_id


def joined(room_id):
    return lambda f: f.get("op") == "room.joined" and f["d"]["room"]["room"]["id"] == room_id


class MessagingTest(AsyncServerTestCase):
    # Generous inbound rate so concurrent gateway senders are not throttled here
    # (throttling has its own test in test_bad_input.py).
    server_flags = ["--gateway.frames_per_second=500", "--gateway.burst_frames=500"]

    async def asyncSetUp(self):
        self.clients = []

    async def asyncTearDown(self):
        for c in self.clients:
            await c.close()

    async def gw(self, token, name):
        c = await gateway(self.server, token, name)
        self.clients.append(c)
        return c

    def assert_clean(self, *clients):
        for c in clients:
            self.assertEqual(c.anomalies, [], f"{c.name} saw gaps/duplicates")

    async def test_dm_between_two_users_on_three_devices(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        alice_phone = alice.login(device="phone")
        a1 = await self.gw(alice.tokens[0], "alice-laptop")
        a2 = await self.gw(alice_phone, "alice-phone")
        b1 = await self.gw(bob.token, "bob")

        r = alice.post("/api/v1/dms", {"user_id": bob.id})
        self.assertEqual(r.status, 201, r)
        dm = r.json["room"]
        self.assertEqual(dm["kind"], "dm")
        self.assertEqual(dm["name"], "")
        again = bob.post("/api/v1/dms", {"user_id": alice.id})
        self.assertEqual(again.status, 200, "the DM already exists")
        self.assertEqual(again.json["room"]["id"], dm["id"])

        for c in (a1, a2, b1):
            await c.wait_for(joined(dm["id"]), what="room.joined")
        summary = (await b1.wait_for(joined(dm["id"])))["d"]["room"]
        self.assertEqual(summary["dm_peer_id"], alice.id)

        mark = len(a1.frames)
        fid = await a1.request("send", {"room_id": dm["id"], "client_txn_id": "txn-hello",
                                        "body": "hello bob 👋"})
        ack = await a1.wait_reply(fid)
        self.assertEqual(ack["op"], "ack", ack)
        self.assertEqual(ack["d"]["room_id"], dm["id"])
        self.assertFalse(ack["d"]["duplicate"])
        self.assertIsInstance(ack["d"]["seq"], int)
        mid = ack["d"]["message_id"]
        self.assertIsInstance(mid, str)

        own = await a1.wait_for(lambda f: is_event(f, "message.created", dm["id"]), since=mark)
        self.assertLess(a1.frames.index(own), a1.frames.index(ack),
                        "the sending session gets the event before the ack")
        for c in (a1, a2, b1):
            ev = await c.wait_for(lambda f: is_event(f, "message.created", dm["id"]))
            d = ev["d"]
            self.assertEqual(d["type"], "message.created")
            self.assertEqual(d["seq"], ack["d"]["seq"])
            self.assertEqual(d["actor_id"], alice.id)
            m = d["message"]
            self.assertEqual(m["id"], mid)
            self.assertEqual(m["body"], "hello bob 👋")
            self.assertEqual(m["sender_id"], alice.id)
            self.assertEqual(m["client_txn_id"], "txn-hello")
            self.assertEqual(m["seq"], ack["d"]["seq"])
            self.assertIsNone(m["reply_to"])
            self.assertIsNone(m["edited_at"])
            self.assertIsNone(m["deleted_at"])

        back = await b1.send(dm["id"], "hi alice", reply_to=mid)
        self.assertEqual(back["op"], "ack", back)
        for c in (a1, a2, b1):
            ev = await c.wait_for(lambda f: is_event(f, "message.created", dm["id"])
                                  and f["d"]["message"]["id"] == back["d"]["message_id"])
            self.assertEqual(ev["d"]["message"]["reply_to"], mid)
            self.assertEqual(ev["d"]["message"]["body"], "hi alice")

        hist = alice.history(dm["id"])
        self.assertEqual(hist.status, 200, hist)
        self.assertEqual([m["body"] for m in hist.json["messages"]], ["hello bob 👋", "hi alice"])
        self.assert_clean(a1, a2, b1)
        for c in (a1, a2, b1):
            created = c.room_events(dm["id"], "message.created")
            self.assertEqual(len(created), 2, f"{c.name} got each message once")

    async def test_group_of_five_everyone_gets_everything_once_in_order(self):
        users = self.api.new_users(5, "g")
        owner = users[0]
        room = owner.create_room(members=users[1:])
        clients = [await self.gw(u.token, f"g{i}") for i, u in enumerate(users)]
        # Members of a room created with member_ids: the snapshot or room.joined has it.
        for c in clients:
            if room["id"] not in c.last_seq:
                await c.wait_for(joined(room["id"]), what="room.joined")

        per_user = 6

        async def sender(c, i):
            acks = []
            for k in range(per_user):
                acks.append(await c.send_acked(room["id"], f"from {i} #{k}"))
            return acks

        results = await asyncio.gather(*(sender(c, i) for i, c in enumerate(clients)))
        acks = [a for r in results for a in r]
        self.assertEqual(len({a["message_id"] for a in acks}), 5 * per_user)
        self.assertTrue(all(not a["duplicate"] for a in acks))
        last = max(a["seq"] for a in acks)
        for c in clients:
            await c.wait_room_seq(room["id"], last)
        expected_ids = {a["message_id"] for a in acks}
        for c in clients:
            created = c.room_events(room["id"], "message.created")
            ids = [e["message"]["id"] for e in created]
            self.assertEqual(len(ids), len(set(ids)), f"{c.name}: duplicates")
            self.assertEqual(set(ids), expected_ids, f"{c.name}: missing messages")
            seqs = [e["seq"] for e in created]
            self.assertEqual(seqs, sorted(seqs), f"{c.name}: out of order")
            # Per sender the order is the send order.
            for i in range(5):
                mine = [e["message"]["body"] for e in created if e["message"]["sender_id"] == users[i].id]
                self.assertEqual(mine, [f"from {i} #{k}" for k in range(per_user)])
        self.assert_clean(*clients)
        # The acked seqs are exactly the seqs in history.
        hist = owner.all_messages(room["id"])
        self.assertEqual({m["id"]: m["seq"] for m in hist},
                         {a["message_id"]: a["seq"] for a in acks})

    async def test_rest_send_reaches_the_gateway(self):
        a, b = self.api.new_users(2, "rest")
        room = a.create_room(members=[b])
        bc = await self.gw(b.token, "b")
        r = a.send(room["id"], "over rest", txn="rest-1")
        self.assertEqual(r.status, 201, r)
        self.assertFalse(r.json["duplicate"])
        m = r.json["message"]
        self.assertEqual(m["body"], "over rest")
        self.assertEqual(m["room_id"], room["id"])
        self.assertEqual(m["client_txn_id"], "rest-1")
        ev = await bc.wait_for(lambda f: is_event(f, "message.created", room["id"]))
        self.assertEqual(ev["d"]["message"]["id"], m["id"])
        self.assertEqual(ev["d"]["seq"], m["seq"])

    async def test_history_paging(self):
        u = self.api.new_user("hist")
        room = u.create_room()
        n = 250
        ids = []
        for i in range(n):
            r = u.send(room["id"], f"m{i}")
            self.assertEqual(r.status, 201, r)
            ids.append(r.json["message"]["id"])

        def page(**params):
            r = u.history(room["id"], **params)
            self.assertEqual(r.status, 200, f"{params}: {r}")
            msgs = r.json["messages"]
            seqs = [m["seq"] for m in msgs]
            self.assertEqual(seqs, sorted(seqs), "ascending by seq")
            return [m["id"] for m in msgs], r.json["has_more_before"], r.json["has_more_after"]

        got, before, after = page()
        self.assertEqual(got, ids[-50:], "no cursor: the newest 50")
        self.assertEqual((before, after), (True, False))
        got, before, after = page(limit=100)
        self.assertEqual(got, ids[-100:])
        got, before, after = page(limit=1)
        self.assertEqual(got, ids[-1:])
        got, before, after = page(before=ids[100], limit=30)
        self.assertEqual(got, ids[70:100])
        self.assertEqual((before, after), (True, True))
        got, before, after = page(before=ids[20], limit=100)
        self.assertEqual(got, ids[:20])
        self.assertEqual((before, after), (False, True))
        got, before, after = page(after=ids[200], limit=100)
        self.assertEqual(got, ids[201:])
        self.assertEqual((before, after), (True, False))
        got, before, after = page(after=ids[10], limit=20)
        self.assertEqual(got, ids[11:31])
        self.assertEqual((before, after), (True, True))
        got, before, after = page(around=ids[125], limit=11)
        self.assertIn(ids[125], got)
        start = ids.index(got[0])
        self.assertEqual(got, ids[start:start + 11], "around: contiguous")
        self.assertLessEqual(abs(got.index(ids[125]) - 5), 1, "around: centred")
        self.assertEqual((before, after), (True, True))
        got, before, after = page(around=ids[0], limit=10)
        self.assertEqual(got[0], ids[0])
        self.assertFalse(before)
        got, before, after = page(before=ids[0])
        self.assertEqual(got, [])
        self.assertFalse(before)
        got, before, after = page(after=ids[-1])
        self.assertEqual(got, [])
        self.assertFalse(after)

        everything = u.all_messages(room["id"])
        self.assertEqual([m["id"] for m in everything], ids)
        first_seq = everything[0]["seq"]
        self.assertEqual([m["seq"] for m in everything], list(range(first_seq, first_seq + n)))
        self.assertEqual([m["body"] for m in everything], [f"m{i}" for i in range(n)])

        for bad in ({"limit": 0}, {"limit": 101}, {"limit": -1}, {"limit": "abc"},
                    {"before": ids[5], "after": ids[1]}, {"before": "xyz"}):
            with self.subTest(params=bad):
                assert_problem(self, u.history(room["id"], **bad), 400, "invalid_argument")

        evs = u.events(room["id"], after_seq=0, limit=500)
        seqs = [e["seq"] for e in evs]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)), "events: gap-free from 1")
        evs = u.events(room["id"], after_seq=10, limit=5)
        self.assertEqual([e["seq"] for e in evs], [11, 12, 13, 14, 15])
        assert_problem(self, u.get(f"/api/v1/rooms/{room['id']}/events?after_seq=0&limit=501"),
                       400, "invalid_argument")

    async def test_idempotent_retry_over_gateway_and_rest(self):
        a, b = self.api.new_users(2, "idem")
        room = a.create_room(members=[b])
        ac = await self.gw(a.token, "a")
        bc = await self.gw(b.token, "b")

        first = await ac.send(room["id"], "once", txn="retry-1")
        self.assertEqual(first["op"], "ack", first)
        self.assertFalse(first["d"]["duplicate"])
        again = await ac.send(room["id"], "once (retried)", txn="retry-1")
        self.assertEqual(again["op"], "ack", again)
        self.assertTrue(again["d"]["duplicate"])
        self.assertEqual(again["d"]["message_id"], first["d"]["message_id"])
        self.assertEqual(again["d"]["seq"], first["d"]["seq"])
        r = a.send(room["id"], "once (rest)", txn="retry-1")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["duplicate"])
        self.assertEqual(r.json["message"]["id"], first["d"]["message_id"])
        self.assertEqual(r.json["message"]["body"], "once", "the original is returned")

        r1 = a.send(room["id"], "twice", txn="retry-2")
        self.assertEqual(r1.status, 201, r1)
        r2 = a.send(room["id"], "twice", txn="retry-2")
        self.assertEqual(r2.status, 200, r2)
        self.assertTrue(r2.json["duplicate"])
        self.assertEqual(r2.json["message"]["id"], r1.json["message"]["id"])
        gw_retry = await ac.send(room["id"], "twice", txn="retry-2")
        self.assertEqual(gw_retry["op"], "ack", gw_retry)
        self.assertTrue(gw_retry["d"]["duplicate"])
        self.assertEqual(gw_retry["d"]["message_id"], r1.json["message"]["id"])

        # The key is per user: b's "retry-1" is a new message.
        other = b.send(room["id"], "b's own", txn="retry-1")
        self.assertEqual(other.status, 201, other)
        self.assertNotEqual(other.json["message"]["id"], first["d"]["message_id"])

        sentinel = a.send(room["id"], "sentinel")
        await bc.wait_room_seq(room["id"], sentinel.json["message"]["seq"])
        bodies = [m["body"] for m in a.all_messages(room["id"])]
        self.assertEqual(bodies, ["once", "twice", "b's own", "sentinel"], "nothing stored twice")
        created = [e["message"]["body"] for e in bc.room_events(room["id"], "message.created")]
        self.assertEqual(created, ["once", "twice", "b's own", "sentinel"],
                         "retries are not broadcast again")
        self.assert_clean(ac, bc)

    async def test_edit_and_delete(self):
        owner, sender, other = self.api.new_users(3, "ed")
        room = owner.create_room(members=[sender, other])
        oc = await self.gw(other.token, "other")
        m = sender.send(room["id"], "frist").json["message"]

        r = sender.patch(f"/api/v1/rooms/{room['id']}/messages/{m['id']}", {"body": "first"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["message"]["body"], "first")
        self.assertIsInstance(r.json["message"]["edited_at"], int)
        self.assertEqual(r.json["event"]["type"], "message.updated")
        ev = await oc.wait_for(lambda f: is_event(f, "message.updated", room["id"]))
        self.assertEqual(ev["d"]["message"]["id"], m["id"])
        self.assertEqual(ev["d"]["message"]["body"], "first")
        self.assertEqual(ev["d"]["seq"], r.json["event"]["seq"])

        r = other.patch(f"/api/v1/rooms/{room['id']}/messages/{m['id']}", {"body": "hijack"})
        assert_problem(self, r, 403, "forbidden")
        r = owner.patch(f"/api/v1/rooms/{room['id']}/messages/{m['id']}", {"body": "owner edit"})
        assert_problem(self, r, 403, "forbidden")
        r = other.delete(f"/api/v1/rooms/{room['id']}/messages/{m['id']}")
        assert_problem(self, r, 403, "forbidden")
        self.assertEqual(sender.history(room["id"]).json["messages"][0]["body"], "first")

        r = sender.delete(f"/api/v1/rooms/{room['id']}/messages/{m['id']}")
        self.assertEqual(r.status, 204, r)
        ev = await oc.wait_for(lambda f: is_event(f, "message.deleted", room["id"]))
        tomb = ev["d"]["message"]
        self.assertEqual(tomb["id"], m["id"])
        self.assertEqual(tomb["body"], "")
        self.assertIsInstance(tomb["deleted_at"], int)

        hist = other.history(room["id"]).json["messages"]
        self.assertEqual(len(hist), 1, "tombstones stay in history")
        self.assertEqual(hist[0]["body"], "")
        self.assertIsInstance(hist[0]["deleted_at"], int)
        for e in other.all_events(room["id"]):
            if "message" in e:
                self.assertNotIn("frist", e["message"]["body"])
                self.assertEqual(e["message"]["body"], "", "deleted content is never sent again")

        # A group's owner may delete someone else's message.
        m2 = other.send(room["id"], "rude").json["message"]
        r = owner.delete(f"/api/v1/rooms/{room['id']}/messages/{m2['id']}")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(other.history(room["id"]).json["messages"][-1]["body"], "")
        self.assert_clean(oc)

    async def test_replies(self):
        a, b = self.api.new_users(2, "rep")
        room = a.create_room(members=[b])
        parent = a.send(room["id"], "question?").json["message"]
        r = b.send(room["id"], "answer", reply_to=parent["id"])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["message"]["reply_to"], parent["id"])
        hist = a.history(room["id"]).json["messages"]
        self.assertEqual([(m["body"], m["reply_to"]) for m in hist],
                         [("question?", None), ("answer", parent["id"])])
        # The reply keeps its context after the parent is deleted.
        self.assertEqual(a.delete(f"/api/v1/rooms/{room['id']}/messages/{parent['id']}").status, 204)
        hist = a.history(room["id"], around=r.json["message"]["id"]).json["messages"]
        self.assertEqual([m["id"] for m in hist], [parent["id"], r.json["message"]["id"]])

    async def test_room_administration(self):
        owner, m1, m2, outsider = self.api.new_users(4, "adm")
        room = owner.create_room(name="design", topic="pixels", members=[m1])
        self.assertEqual(room["kind"], "group")
        self.assertEqual(room["name"], "design")
        self.assertEqual(room["topic"], "pixels")
        self.assertEqual(room["created_by"], owner.id)
        rid = room["id"]
        detail = owner.get(f"/api/v1/rooms/{rid}")
        self.assertEqual(detail.status, 200, detail)
        roles = {mm["user_id"]: mm["role"] for mm in detail.json["members"]}
        self.assertEqual(roles, {owner.id: "owner", m1.id: "member"})

        oc = await self.gw(owner.token, "owner")
        m1c = await self.gw(m1.token, "m1")
        m2c = await self.gw(m2.token, "m2")

        r = owner.patch(f"/api/v1/rooms/{rid}", {"name": "design-team", "topic": "pixels & fonts"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["room"]["name"], "design-team")
        self.assertEqual(r.json["event"]["type"], "room.updated")
        ev = await m1c.wait_for(lambda f: is_event(f, "room.updated", rid))
        self.assertEqual((ev["d"]["name"], ev["d"]["topic"]), ("design-team", "pixels & fonts"))

        assert_problem(self, m1.patch(f"/api/v1/rooms/{rid}", {"name": "mine now"}), 403,
                       "forbidden")
        assert_problem(self, outsider.patch(f"/api/v1/rooms/{rid}", {"name": "x"}), 404,
                       "not_found")
        for path in (f"/api/v1/rooms/{rid}", f"/api/v1/rooms/{rid}/messages",
                     f"/api/v1/rooms/{rid}/events?after_seq=0"):
            with self.subTest(outsider_reads=path):
                assert_problem(self, outsider.get(path), 404, "not_found")
        assert_problem(self, outsider.send(rid, "let me in"), 404, "not_found")
        self.assertEqual(owner.get(f"/api/v1/rooms/{rid}").json["room"]["name"], "design-team")

        # Any member of a group may add people.
        r = m1.post(f"/api/v1/rooms/{rid}/members", {"user_id": m2.id})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["event"]["type"], "member.joined")
        self.assertEqual(r.json["event"]["user_id"], m2.id)
        ev = await oc.wait_for(lambda f: is_event(f, "member.joined", rid))
        self.assertEqual(ev["d"]["user_id"], m2.id)
        self.assertEqual(ev["d"]["role"], "member")
        self.assertEqual(ev["d"]["actor_id"], m1.id)
        j = await m2c.wait_for(joined(rid), what="room.joined")
        self.assertEqual(j["d"]["room"]["room"]["name"], "design-team")
        assert_problem(self, m1.post(f"/api/v1/rooms/{rid}/members", {"user_id": m2.id}), 409,
                       "conflict")

        msg = owner.send(rid, "welcome m2").json["message"]
        ev = await m2c.wait_for(lambda f: is_event(f, "message.created", rid))
        self.assertEqual(ev["d"]["message"]["id"], msg["id"])

        # m2 leaves: everyone (m2 included, as its last event) sees member.left.
        r = m2.delete(f"/api/v1/rooms/{rid}/members/{m2.id}")
        self.assertEqual(r.status, 204, r)
        for c in (oc, m1c, m2c):
            ev = await c.wait_for(lambda f: is_event(f, "member.left", rid))
            self.assertEqual(ev["d"]["user_id"], m2.id)
            self.assertEqual(ev["d"]["actor_id"], m2.id, "left by themself")
        assert_problem(self, m2.get(f"/api/v1/rooms/{rid}"), 404, "not_found")
        after = owner.send(rid, "after m2 left").json["message"]
        await m1c.wait_room_seq(rid, after["seq"])
        await asyncio.sleep(0.2)
        self.assertEqual(m2c.room_events(rid)[-1]["type"], "member.left",
                         "member.left is the last event m2 receives")

        # The owner removes m1.
        r = owner.delete(f"/api/v1/rooms/{rid}/members/{m1.id}")
        self.assertEqual(r.status, 204, r)
        ev = await m1c.wait_for(lambda f: is_event(f, "member.left", rid)
                                and f["d"]["user_id"] == m1.id)
        self.assertEqual(ev["d"]["actor_id"], owner.id, "removed by the owner")
        assert_problem(self, m1.send(rid, "still here?"), 404, "not_found")
        members = {mm["user_id"] for mm in owner.get(f"/api/v1/rooms/{rid}").json["members"]}
        self.assertEqual(members, {owner.id})
        self.assert_clean(oc, m1c, m2c)

    def test_dm_rules(self):
        a, b = self.api.new_users(2, "dmr")
        dm = a.open_dm(b)
        r = a.patch(f"/api/v1/rooms/{dm['id']}", {"name": "renamed dm"})
        assert_problem(self, r, 403, "forbidden")
        self.assertEqual(a.get(f"/api/v1/rooms/{dm['id']}").json["room"]["name"], "")
        c = self.api.new_user("dmr")
        r = a.post(f"/api/v1/rooms/{dm['id']}/members", {"user_id": c.id})
        assert_problem(self, r, 403, "forbidden")
        assert_problem(self, c.get(f"/api/v1/rooms/{dm['id']}"), 404, "not_found")

    def test_room_list_with_last_message_and_unread(self):
        me, friend = self.api.new_users(2, "list")
        quiet = me.create_room(name=unique("quiet-"))
        busy = me.create_room(name=unique("busy-"), members=[friend])
        later = me.create_room(name=unique("later-"), members=[friend])
        for i in range(3):
            friend.send(busy["id"], f"f{i}")
        mine = me.send(busy["id"], "mine").json["message"]
        deleted = friend.send(busy["id"], "oops").json["message"]
        self.assertEqual(
            friend.delete(f"/api/v1/rooms/{busy['id']}/messages/{deleted['id']}").status, 204)
        latest = friend.send(later["id"], "newest").json["message"]

        r = me.get("/api/v1/rooms")
        self.assertEqual(r.status, 200, r)
        rooms = r.json["rooms"]
        order = [s["room"]["id"] for s in rooms]
        self.assertEqual(set(order), {quiet["id"], busy["id"], later["id"]})
        self.assertLess(order.index(later["id"]), order.index(busy["id"]),
                        "newest activity first")
        by_id = {s["room"]["id"]: s for s in rooms}
        b = by_id[busy["id"]]
        self.assertEqual(b["unread"], 3, "own and deleted messages are not unread")
        self.assertEqual(b["last_read_seq"], 0)
        self.assertEqual(b["role"], "owner")
        self.assertIn(b["last_message"]["id"], (mine["id"], deleted["id"]))
        if b["last_message"]["id"] == deleted["id"]:
            self.assertEqual(b["last_message"]["body"], "", "no deleted content in the list")
        self.assertEqual(by_id[later["id"]]["last_message"]["id"], latest["id"])
        self.assertEqual(by_id[later["id"]]["unread"], 1)
        self.assertIsNone(by_id[quiet["id"]]["last_message"])
        self.assertEqual(by_id[quiet["id"]]["unread"], 0)
        self.assertIsNone(b["dm_peer_id"])
        f = {s["room"]["id"]: s for s in friend.get("/api/v1/rooms").json["rooms"]}
        self.assertEqual(f[busy["id"]]["unread"], 1, "friend sees only my message as unread")
        self.assertNotIn(quiet["id"], f)

        dm = me.open_dm(friend)
        f = {s["room"]["id"]: s for s in friend.get("/api/v1/rooms").json["rooms"]}
        self.assertEqual(f[dm["id"]]["dm_peer_id"], me.id)


if __name__ == "__main__":
    main()
