"""Richer messages (docs/protocol.md, "Pins, threads and edit history"): pins with a room pin
policy, thread replies with summaries on the root, following threads, quote previews on
replies, edit history; all of it survives a restart and replays on resume."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parley_harness import (  # noqa: E402
    AsyncServerTestCase, GatewayClient, assert_problem, main)


def op_in_room(op, room_id):
    return lambda f: f.get("op") == op and (f.get("d") or {}).get("room_id") == room_id


class Base(AsyncServerTestCase):
    server_flags = ["--gateway.frames_per_second=500", "--gateway.burst_frames=500"]

    async def asyncSetUp(self):
        self.clients = []

    async def asyncTearDown(self):
        for c in self.clients:
            await c.close()

    async def gw(self, token, name, resume=None):
        c = GatewayClient(self.server, name)
        self.clients.append(c)
        await c.connect()
        await c.identify(token, resume=resume)
        return c

    def last_seq(self, user, room_id):
        r = user.get(f"/api/v1/rooms/{room_id}")
        self.assertEqual(r.status, 200, r)
        return r.json["room"]["last_seq"]

    def reply_in_thread(self, user, room_id, root_id, body):
        r = user.send(room_id, body, thread_root=root_id)
        self.assertEqual(r.status, 201, r)
        return r.json["message"]


class PinsTest(Base):

    async def test_pins_follow_the_room_policy_and_are_room_events(self):
        alice = self.api.new_user("alice")  # owner
        bob = self.api.new_user("bob")      # plain member
        carol = self.api.new_user("carol")  # outsider
        room = alice.create_room(members=[bob])
        rid = room["id"]
        self.assertEqual(room["pin_policy"], "members")
        m1 = alice.send(rid, "the plan").json["message"]
        m2 = bob.send(rid, "the other plan").json["message"]
        a = await self.gw(alice.token, "alice")

        r = bob.post(f"/api/v1/rooms/{rid}/pins", {"message_id": m1["id"]})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["changed"])
        ev = await a.wait_for(op_in_room("message.pinned", rid), what="message.pinned")
        self.assertEqual(ev["d"]["message_id"], m1["id"])
        self.assertEqual(ev["d"]["actor_id"], bob.id)
        self.assertEqual(ev["d"]["message"]["body"], "the plan")
        self.assertEqual(ev["d"]["seq"], r.json["event"]["seq"])
        again = bob.post(f"/api/v1/rooms/{rid}/pins", {"message_id": m1["id"]})
        self.assertEqual((again.status, again.json["changed"], again.json["event"]), (200, False, None))
        pins = alice.get(f"/api/v1/rooms/{rid}/pins")
        self.assertEqual(pins.status, 200, pins)
        self.assertEqual([(p["message"]["id"], p["pinned_by"]) for p in pins.json["pins"]],
                         [(m1["id"], bob.id)])

        # The owner reserves pins to moderators; a plain member is refused with 403.
        r = bob.patch(f"/api/v1/rooms/{rid}", {"pin_policy": "moderators"})
        assert_problem(self, r, 403, "forbidden")
        r = alice.patch(f"/api/v1/rooms/{rid}", {"pin_policy": "everyone"})
        assert_problem(self, r, 400, "invalid_argument")
        r = alice.patch(f"/api/v1/rooms/{rid}", {"pin_policy": "moderators"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["room"]["pin_policy"], "moderators")
        self.assertEqual(r.json["event"]["pin_policy"], "moderators")
        upd = await a.wait_for(op_in_room("room.updated", rid), what="room.updated")
        self.assertEqual(upd["d"]["pin_policy"], "moderators")
        before = self.last_seq(alice, rid)
        r = bob.post(f"/api/v1/rooms/{rid}/pins", {"message_id": m2["id"]})
        assert_problem(self, r, 403, "forbidden")
        self.assertIn("moderators", r.json["detail"])
        assert_problem(self, bob.delete(f"/api/v1/rooms/{rid}/pins/{m1['id']}"), 403, "forbidden")
        self.assertEqual(self.last_seq(alice, rid), before, "a refusal stores nothing")
        r = alice.post(f"/api/v1/rooms/{rid}/pins", {"message_id": m2["id"]})
        self.assertEqual(r.status, 200, r)
        r = alice.delete(f"/api/v1/rooms/{rid}/pins/{m1['id']}")
        self.assertEqual((r.status, r.json["changed"]), (200, True))
        self.assertEqual(r.json["event"]["type"], "message.unpinned")
        await a.wait_for(op_in_room("message.unpinned", rid), what="message.unpinned")
        pins = bob.get(f"/api/v1/rooms/{rid}/pins").json["pins"]
        self.assertEqual([p["message"]["id"] for p in pins], [m2["id"]])

        # Bad input: unknown message, another room's message, a deleted one, outsiders.
        assert_problem(self, alice.post(f"/api/v1/rooms/{rid}/pins", {"message_id": "123456789"}),
                       404, "not_found")
        elsewhere = carol.create_room()
        cm = carol.send(elsewhere["id"], "mine").json["message"]
        assert_problem(self, alice.post(f"/api/v1/rooms/{rid}/pins", {"message_id": cm["id"]}),
                       404, "not_found")
        self.assertEqual(alice.delete(f"/api/v1/rooms/{rid}/messages/{m2['id']}").status, 204)
        self.assertEqual(alice.get(f"/api/v1/rooms/{rid}/pins").json["pins"], [],
                         "deleting a message drops its pin")
        assert_problem(self, alice.post(f"/api/v1/rooms/{rid}/pins", {"message_id": m2["id"]}),
                       404, "not_found")
        assert_problem(self, carol.get(f"/api/v1/rooms/{rid}/pins"), 404, "not_found")
        assert_problem(self, carol.post(f"/api/v1/rooms/{rid}/pins", {"message_id": m1["id"]}),
                       404, "not_found")
        assert_problem(self, alice.post(f"/api/v1/rooms/{rid}/pins", {}), 400, "invalid_argument")

    async def test_both_members_of_a_dm_may_pin(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        dm = alice.open_dm(bob)
        m = alice.send(dm["id"], "remember this").json["message"]
        r = bob.post(f"/api/v1/rooms/{dm['id']}/pins", {"message_id": m["id"]})
        self.assertEqual((r.status, r.json["changed"]), (200, True), r)
        r = alice.delete(f"/api/v1/rooms/{dm['id']}/pins/{m['id']}")
        self.assertEqual((r.status, r.json["changed"]), (200, True), r)
        assert_problem(self, alice.patch(f"/api/v1/rooms/{dm['id']}", {"pin_policy": "moderators"}),
                       403, "forbidden")


class ThreadsTest(Base):

    async def test_thread_replies_summaries_paging_and_following(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        carol = self.api.new_user("carol")
        dave = self.api.new_user("dave")
        eve = self.api.new_user("eve")  # outsider
        room = alice.create_room(members=[bob, carol, dave])
        rid = room["id"]
        root = alice.send(rid, "shall we ship on friday?").json["message"]
        a = await self.gw(alice.token, "alice")
        b = await self.gw(bob.token, "bob")

        # A reply over the gateway: an ordinary message.created with thread_root and the
        # root's summary.
        ack = await b.send(rid, "yes", thread_root=root["id"])
        self.assertEqual(ack["op"], "ack", ack)
        ev = await a.wait_for(op_in_room("message.created", rid), what="thread reply")
        self.assertEqual(ev["d"]["message"]["thread_root"], root["id"])
        self.assertEqual(ev["d"]["message"]["id"], ack["d"]["message_id"])
        t = ev["d"]["thread"]
        self.assertEqual((t["root_id"], t["reply_count"], t["last_reply_id"], t["participants"]),
                         (root["id"], 1, ack["d"]["message_id"], [bob.id]))
        r2 = self.reply_in_thread(carol, rid, root["id"], "no, monday")
        r3 = self.reply_in_thread(bob, rid, root["id"], "monday then")
        ev = await a.wait_for(lambda f: op_in_room("message.created", rid)(f)
                              and f["d"]["message"]["id"] == r3["id"], what="third reply")
        self.assertEqual(ev["d"]["thread"]["reply_count"], 3)
        self.assertEqual(ev["d"]["thread"]["participants"], [bob.id, carol.id])
        self.assertEqual(ev["d"]["thread"]["last_reply_at"], r3["created_at"])
        plain = alice.send(rid, "unrelated").json["message"]

        # The room timeline shows the root with its summary, not the replies.
        hist = dave.history(rid).json["messages"]
        self.assertEqual([m["id"] for m in hist], [root["id"], plain["id"]])
        self.assertEqual(hist[0]["thread"]["reply_count"], 3)
        self.assertEqual(hist[0]["thread"]["last_reply_id"], r3["id"])
        self.assertEqual(hist[0]["thread"]["participants"], [bob.id, carol.id])
        self.assertIsNone(hist[1]["thread"])
        rooms = {r["room"]["id"]: r for r in dave.get("/api/v1/rooms").json["rooms"]}
        self.assertEqual(rooms[rid]["unread"], 2, "thread replies do not count in the room's unread")
        self.assertEqual(rooms[rid]["last_message"]["id"], plain["id"])

        # The thread by REST, paged.
        page = dave.get(f"/api/v1/rooms/{rid}/threads/{root['id']}?limit=2")
        self.assertEqual(page.status, 200, page)
        self.assertEqual(page.json["root"]["id"], root["id"])
        self.assertEqual([m["body"] for m in page.json["messages"]], ["no, monday", "monday then"])
        self.assertTrue(page.json["has_more_before"])
        self.assertFalse(page.json["following"])
        older = dave.get(f"/api/v1/rooms/{rid}/threads/{root['id']}?limit=2&before={r2['id']}")
        self.assertEqual([m["body"] for m in older.json["messages"]], ["yes"])
        self.assertFalse(older.json["has_more_before"])

        # Following: the root's author and the repliers follow automatically.
        threads = alice.get("/api/v1/users/me/threads")
        self.assertEqual(threads.status, 200, threads)
        self.assertEqual([(t["root"]["id"], t["unread"]) for t in threads.json["threads"]],
                         [(root["id"], 3)])
        r = alice.post(f"/api/v1/rooms/{rid}/threads/{root['id']}/read", {})
        self.assertEqual((r.status, r.json["thread"]["unread"]), (200, 0), r)
        other = alice.create_room()
        assert_problem(self, alice.post(f"/api/v1/rooms/{other['id']}/threads/{root['id']}/read", {}),
                       404, "not_found")
        self.assertEqual(carol.get("/api/v1/users/me/threads").json["threads"][0]["unread"], 1)
        self.assertEqual(dave.get("/api/v1/users/me/threads").json["threads"], [])
        r = dave.post(f"/api/v1/rooms/{rid}/threads/{root['id']}/follow")
        self.assertEqual((r.status, r.json["following"]), (200, True), r)
        self.assertTrue(dave.get(f"/api/v1/rooms/{rid}/threads/{root['id']}").json["following"])
        self.reply_in_thread(bob, rid, root["id"], "ok")
        followed = dave.get("/api/v1/users/me/threads").json["threads"]
        self.assertEqual([(t["root"]["id"], t["unread"]) for t in followed], [(root["id"], 1)])
        r = dave.delete(f"/api/v1/rooms/{rid}/threads/{root['id']}/follow")
        self.assertEqual((r.status, r.json["following"]), (200, False), r)
        self.assertEqual(dave.get("/api/v1/users/me/threads").json["threads"], [])
        r = alice.delete(f"/api/v1/rooms/{rid}/threads/{root['id']}/follow")
        self.assertEqual(r.status, 200, r)
        self.reply_in_thread(carol, rid, root["id"], "still here")
        self.assertEqual(alice.get("/api/v1/users/me/threads").json["threads"], [],
                         "an unfollow sticks when others reply")

        # Outsiders learn nothing.
        assert_problem(self, eve.get(f"/api/v1/rooms/{rid}/threads/{root['id']}"), 404, "not_found")
        assert_problem(self, eve.post(f"/api/v1/rooms/{rid}/threads/{root['id']}/follow"),
                       404, "not_found")
        self.assertEqual(eve.send(rid, "hi", thread_root=root["id"]).status, 404)

    async def test_bad_thread_roots_are_refused_and_store_nothing(self):
        alice = self.api.new_user("alice")
        room = alice.create_room()
        other = alice.create_room()
        rid = room["id"]
        root = alice.send(rid, "root").json["message"]
        reply = self.reply_in_thread(alice, rid, root["id"], "a reply")
        foreign = alice.send(other["id"], "elsewhere").json["message"]
        gone = alice.send(rid, "soon gone").json["message"]
        self.assertEqual(alice.delete(f"/api/v1/rooms/{rid}/messages/{gone['id']}").status, 204)
        before = self.last_seq(alice, rid)
        for bad in (foreign["id"], reply["id"], gone["id"], "123456789"):
            with self.subTest(thread_root=bad):
                r = alice.send(rid, "x", thread_root=bad)
                assert_problem(self, r, 400, "invalid_argument")
                self.assertIn("thread_root", r.json["detail"])
        self.assertEqual(self.last_seq(alice, rid), before, "nothing stored")
        assert_problem(self, alice.send(rid, "x", thread_root="not-an-id"), 400, "invalid_argument")
        c = await self.gw(alice.token, "alice")
        err = await c.send(rid, "x", thread_root=reply["id"])
        self.assertEqual((err["op"], err["d"]["code"]), ("error", "invalid_argument"), err)
        # A reply is not a thread of its own; neither is another room's message.
        assert_problem(self, alice.get(f"/api/v1/rooms/{rid}/threads/{reply['id']}"), 404, "not_found")
        assert_problem(self, alice.get(f"/api/v1/rooms/{rid}/threads/{foreign['id']}"), 404, "not_found")
        assert_problem(self, alice.post(f"/api/v1/rooms/{rid}/threads/{reply['id']}/follow"),
                       404, "not_found")


class QuotesAndEditsTest(Base):

    async def test_replies_carry_a_preview_of_the_quoted_message(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        room = alice.create_room(members=[bob])
        rid = room["id"]
        long_body = "ü" * 100 + "x" * 100  # 200 characters, 300 bytes
        quoted = alice.send(rid, long_body).json["message"]
        short = alice.send(rid, "short one").json["message"]
        b = await self.gw(bob.token, "bob")
        a = await self.gw(alice.token, "alice")
        ack = await b.send(rid, "agreed", reply_to=quoted["id"])
        self.assertEqual(ack["op"], "ack", ack)
        ev = await a.wait_for(op_in_room("message.created", rid), what="reply")
        p = ev["d"]["message"]["reply_preview"]
        self.assertEqual((p["message_id"], p["sender_id"], p["truncated"], p["deleted"]),
                         (quoted["id"], alice.id, True, False))
        self.assertEqual(p["body"], "ü" * 100 + "x" * 40)
        r = bob.send(rid, "me too", reply_to=short["id"])
        self.assertEqual(r.json["message"]["reply_preview"]["body"], "short one")
        self.assertEqual(alice.delete(f"/api/v1/rooms/{rid}/messages/{short['id']}").status, 204)
        hist = {m["id"]: m for m in bob.history(rid).json["messages"]}
        self.assertEqual(hist[r.json["message"]["id"]]["reply_preview"],
                         {"message_id": short["id"], "sender_id": alice.id, "body": "",
                          "truncated": False, "deleted": True})
        self.assertEqual(hist[ack["d"]["message_id"]]["reply_preview"]["body"], p["body"])
        self.assertIsNone(hist[quoted["id"]]["reply_preview"])

    async def test_edit_history_for_members_only_and_gone_with_the_message(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        carol = self.api.new_user("carol")
        room = alice.create_room(members=[bob])
        rid = room["id"]
        m = alice.send(rid, "teh first").json["message"]
        self.assertEqual(m["edit_count"], 0)
        path = f"/api/v1/rooms/{rid}/messages/{m['id']}"
        r = alice.patch(path, {"body": "the first"})
        self.assertEqual((r.status, r.json["message"]["edit_count"]), (200, 1), r)
        r = alice.patch(path, {"body": "the first (final)"})
        self.assertEqual(r.json["message"]["edit_count"], 2)
        h = bob.get(path + "/revisions")
        self.assertEqual(h.status, 200, h)
        self.assertEqual(h.json["message"]["body"], "the first (final)")
        self.assertEqual([(v["rev"], v["body"]) for v in h.json["revisions"]],
                         [(2, "the first"), (1, "teh first")])
        self.assertEqual(h.json["revisions"][1]["written_at"], m["created_at"])
        hist = bob.history(rid).json["messages"]
        self.assertEqual((hist[0]["edit_count"], hist[0]["edited_at"] is not None), (2, True))
        assert_problem(self, carol.get(path + "/revisions"), 404, "not_found")
        assert_problem(self, bob.get(f"/api/v1/rooms/{rid}/messages/123456789/revisions"),
                       404, "not_found")
        self.assertEqual(alice.delete(path).status, 204)
        assert_problem(self, bob.get(path + "/revisions"), 404, "not_found")


class RestartAndResumeTest(Base):

    async def test_pins_threads_and_edits_survive_a_restart_and_replay_on_resume(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        room = alice.create_room(members=[bob])
        rid = room["id"]
        root = alice.send(rid, "root").json["message"]
        b = await self.gw(bob.token, "bob")
        resume = b.resume_state()
        self.assertEqual(resume["rooms"], {rid: root["seq"]})  # from the ready snapshot
        await b.close()

        # While bob is away: a pin, thread replies, an edit, a quoting reply.
        self.assertEqual(alice.post(f"/api/v1/rooms/{rid}/pins", {"message_id": root["id"]}).status, 200)
        reply = self.reply_in_thread(alice, rid, root["id"], "in the thread")
        self.assertEqual(alice.patch(f"/api/v1/rooms/{rid}/messages/{root['id']}",
                                     {"body": "root, edited"}).status, 200)
        quote = alice.send(rid, "quoting", reply_to=root["id"]).json["message"]

        self.server.restart()
        self.api = self.server.http()
        for u in (alice, bob):
            u.api = self.api  # the restarted server listens on a new port

        b2 = await self.gw(bob.token, "bob-resumed", resume=resume)
        await b2.wait_room_seq(rid, quote["seq"])
        types = [e["type"] for e in b2.room_events(rid)]
        self.assertEqual(types, ["message.pinned", "message.created", "message.updated",
                                 "message.created"])
        evs = b2.room_events(rid)
        self.assertEqual(evs[0]["message_id"], root["id"])
        self.assertEqual(evs[1]["message"]["thread_root"], root["id"])
        self.assertEqual(evs[1]["thread"]["reply_count"], 1)
        self.assertEqual(evs[2]["message"]["edit_count"], 1)
        self.assertEqual(evs[3]["message"]["reply_preview"]["body"], "root, edited")
        self.assertEqual(b2.anomalies, [])

        # REST state after the restart.
        self.assertEqual([p["message"]["id"] for p in bob.get(f"/api/v1/rooms/{rid}/pins").json["pins"]],
                         [root["id"]])
        thread = bob.get(f"/api/v1/rooms/{rid}/threads/{root['id']}").json
        self.assertEqual([m["id"] for m in thread["messages"]], [reply["id"]])
        self.assertEqual(thread["root"]["thread"]["reply_count"], 1)
        revs = bob.get(f"/api/v1/rooms/{rid}/messages/{root['id']}/revisions").json["revisions"]
        self.assertEqual([v["body"] for v in revs], ["root"])
        self.assertEqual([t["root"]["id"] for t in alice.get("/api/v1/users/me/threads").json["threads"]],
                         [root["id"]])


if __name__ == "__main__":
    main()
