"""Resume after a disconnect: exactly the missed events, in order; room.reset past the replay
cap or on a different epoch; acknowledged messages survive kill -9 (docs/protocol.md:
"Session lifecycle", "Delivery guarantees")."""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parley_harness import (  # noqa: E402
    EVENT_OPS, AsyncServerTestCase, GatewayClient, GatewayClosed, Server, gateway, main, unique)

import unittest  # noqa: E402


def is_msg(frame, room_id):
    return frame.get("op") == "message.created" and frame["d"]["room_id"] == room_id


class ResumeTest(AsyncServerTestCase):
    server_flags = ["--gateway.replay_cap=50"]

    async def asyncSetUp(self):
        self.clients = []

    async def asyncTearDown(self):
        for c in self.clients:
            await c.close()

    async def gw(self, token, name, resume=None):
        c = await gateway(self.server, token, name, resume=resume)
        self.clients.append(c)
        return c

    async def test_resume_replays_exactly_the_missed_events_then_live(self):
        alice, bob = self.api.new_users(2, "res")
        room = alice.create_room(members=[bob])
        other_room = alice.create_room(members=[bob])
        rid = room["id"]

        b1 = await self.gw(bob.token, "bob-1")
        first = alice.send(rid, "before").json["message"]
        await b1.wait_room_seq(rid, first["seq"])
        state = b1.resume_state()
        self.assertTrue(state["epoch"], "ready carries an epoch")
        self.assertEqual(state["rooms"][rid], first["seq"])
        await b1.close()

        missed = [alice.send(rid, f"missed {i}").json["message"] for i in range(20)]
        # While bob is away: an edit and a delete of missed messages, and traffic elsewhere.
        edit = alice.patch(f"/api/v1/rooms/{rid}/messages/{missed[3]['id']}", {"body": "edited 3"})
        self.assertEqual(edit.status, 200, edit)
        self.assertEqual(alice.delete(f"/api/v1/rooms/{rid}/messages/{missed[5]['id']}").status, 204)
        alice.send(other_room["id"], "elsewhere")
        last_seq = alice.get(f"/api/v1/rooms/{rid}").json["room"]["last_seq"]
        self.assertEqual(last_seq, first["seq"] + 22)

        b2 = await self.gw(bob.token, "bob-2",
                           resume={"epoch": state["epoch"], "rooms": {rid: state["rooms"][rid]}})
        self.assertEqual(b2.ready["d"]["epoch"], state["epoch"])
        await b2.wait_room_seq(rid, last_seq)
        live = alice.send(rid, "live").json["message"]
        await b2.wait_room_seq(rid, live["seq"])

        evs = b2.room_events(rid)
        self.assertEqual([e["seq"] for e in evs], list(range(first["seq"] + 1, live["seq"] + 1)),
                         "exactly the missed events, in order, then live ones")
        created = [e["message"] for e in evs if e["type"] == "message.created"]
        self.assertEqual([m["id"] for m in created], [m["id"] for m in missed] + [live["id"]])
        bodies = [m["body"] for m in created]
        self.assertEqual(bodies[3], "edited 3", "replayed messages are as stored now")
        self.assertEqual(bodies[5], "", "a deleted message replays as a tombstone")
        self.assertNotIn("missed 5", str(b2.frames), "deleted content is never sent again")
        self.assertEqual([e["type"] for e in evs[20:22]], ["message.updated", "message.deleted"])
        self.assertEqual(b2.anomalies, [])
        self.assertEqual(b2.resets, [])
        self.assertEqual(b2.room_events(other_room["id"]), [],
                         "rooms not named in resume are not replayed")
        snap = {s["room"]["id"]: s for s in b2.ready["d"]["rooms"]}
        self.assertEqual(snap[other_room["id"]]["room"]["last_seq"],
                         alice.get(f"/api/v1/rooms/{other_room['id']}").json["room"]["last_seq"])

    async def test_resume_with_nothing_missed_replays_nothing(self):
        alice, bob = self.api.new_users(2, "res0")
        room = alice.create_room(members=[bob])
        msg = alice.send(room["id"], "only").json["message"]
        b = await self.gw(bob.token, "bob")
        epoch = b.epoch
        await b.close()
        b2 = await self.gw(bob.token, "bob-2",
                           resume={"epoch": epoch, "rooms": {room["id"]: msg["seq"]}})
        live = alice.send(room["id"], "next").json["message"]
        await b2.wait_room_seq(room["id"], live["seq"])
        self.assertEqual([e["seq"] for e in b2.room_events(room["id"])], [live["seq"]])
        self.assertEqual(b2.resets, [])

    async def test_gap_at_the_cap_replays_and_past_the_cap_resets(self):
        alice, bob = self.api.new_users(2, "cap")
        room = alice.create_room(members=[bob])
        rid = room["id"]
        base = alice.send(rid, "base").json["message"]["seq"]
        epoch = (await self.gw(bob.token, "probe")).epoch
        for i in range(50):
            alice.send(rid, f"m{i}")
        exact = await self.gw(bob.token, "exact", resume={"epoch": epoch, "rooms": {rid: base}})
        await exact.wait_room_seq(rid, base + 50)
        self.assertEqual(len(exact.room_events(rid)), 50, "50 missed with replay_cap=50: replayed")
        self.assertEqual(exact.resets, [])

        over = await self.gw(bob.token, "over", resume={"epoch": epoch, "rooms": {rid: base - 1}})
        reset = await over.wait_op("room.reset")
        self.assertEqual(reset["d"], {"room_id": rid, "last_seq": base + 50})
        live = alice.send(rid, "after reset").json["message"]
        ev = await over.wait_for(lambda f: is_msg(f, rid))
        self.assertEqual(ev["d"]["message"]["id"], live["id"],
                         "after room.reset only live events follow, no partial replay")
        self.assertEqual(ev["d"]["seq"], base + 51)

    async def test_wrong_epoch_resets(self):
        alice, bob = self.api.new_users(2, "epoch")
        room = alice.create_room(members=[bob])
        seq = alice.send(room["id"], "x").json["message"]["seq"]
        alice.send(room["id"], "y")
        b = await self.gw(bob.token, "bob",
                          resume={"epoch": "not-the-epoch", "rooms": {room["id"]: seq}})
        reset = await b.wait_op("room.reset")
        self.assertEqual(reset["d"]["room_id"], room["id"])
        self.assertEqual(reset["d"]["last_seq"], seq + 1)
        self.assertNotEqual(b.epoch, "not-the-epoch")

    async def test_resume_of_a_room_you_left_replays_nothing(self):
        alice, bob = self.api.new_users(2, "gone")
        room = alice.create_room(members=[bob])
        b = await self.gw(bob.token, "bob")
        epoch = b.epoch
        seq = alice.send(room["id"], "hi").json["message"]["seq"]
        await b.wait_room_seq(room["id"], seq)
        await b.close()
        self.assertEqual(bob.delete(f"/api/v1/rooms/{room['id']}/members/{bob.id}").status, 204)
        alice.send(room["id"], "after bob left")
        b2 = await self.gw(bob.token, "bob-2", resume={"epoch": epoch, "rooms": {room["id"]: seq}})
        probe = await b2.request("ping")
        await b2.wait_reply(probe)
        await asyncio.sleep(0.3)
        bodies = [e["message"]["body"] for e in b2.room_events(room["id"])
                  if e["type"] == "message.created"]
        self.assertNotIn("after bob left", bodies, "no events of rooms you are no longer in")


class KillNineTest(unittest.IsolatedAsyncioTestCase):
    """Acknowledged messages survive kill -9 in the middle of a stream of concurrent sends."""

    async def asyncSetUp(self):
        self.server = Server(["--gateway.frames_per_second=1000", "--gateway.burst_frames=1000"])
        self.server.start()
        self.clients = []

    async def asyncTearDown(self):
        for c in self.clients:
            await c.close()
        self.server.stop()

    async def test_acknowledged_sends_survive_kill_9(self):
        api = self.server.http()
        senders = api.new_users(4, "k9")
        reader = api.new_user("k9r")
        room = senders[0].create_room(members=senders[1:] + [reader])
        rid = room["id"]
        clients = []
        for i, u in enumerate(senders):
            c = await gateway(self.server, u.token, f"sender{i}")
            self.clients.append(c)
            clients.append(c)
        r = await gateway(self.server, reader.token, "reader")
        self.clients.append(r)
        epoch = r.epoch
        start_seq = r.last_seq[rid]

        acked = {}  # message_id -> (seq, body)
        enough = asyncio.Event()

        async def stream(c, i):
            k = 0
            while True:
                body = f"s{i}-{k}"
                try:
                    reply = await c.send(rid, body, timeout=10)
                except (GatewayClosed, Exception):  # noqa: BLE001 - the server was killed
                    return
                if reply["op"] != "ack":
                    if reply["d"].get("code") == "unavailable":
                        return
                    raise AssertionError(f"send failed: {reply}")
                acked[reply["d"]["message_id"]] = (reply["d"]["seq"], body)
                if len(acked) >= 80:
                    enough.set()
                k += 1

        tasks = [asyncio.create_task(stream(c, i)) for i, c in enumerate(clients)]
        await asyncio.wait_for(enough.wait(), 30)
        self.server.kill9()
        await asyncio.wait_for(asyncio.gather(*tasks), 20)
        self.assertGreaterEqual(len(acked), 80)
        print(f"\n  kill -9 after {len(acked)} acknowledged sends", file=sys.stderr)

        self.server.start()
        api = self.server.http()
        for u in senders + [reader]:
            u.api = api
        detail = reader.get(f"/api/v1/rooms/{rid}")
        self.assertEqual(detail.status, 200, detail)
        last_seq = detail.json["room"]["last_seq"]
        print(f"  after restart: last_seq {last_seq} (acknowledged up to "
              f"{max(seq for seq, _ in acked.values())})", file=sys.stderr)
        events = reader.all_events(rid)
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, list(range(1, last_seq + 1)), "gap-free seqs after the crash")
        by_id = {e["message"]["id"]: e for e in events if e["type"] == "message.created"}
        for mid, (seq, body) in acked.items():
            self.assertIn(mid, by_id, f"acknowledged message {body} lost")
            self.assertEqual(by_id[mid]["seq"], seq)
            self.assertEqual(by_id[mid]["message"]["body"], body)
        history = reader.all_messages(rid)
        self.assertTrue({m["id"] for m in history} >= set(acked))

        # Resumable across the restart: same epoch, exactly the events after start_seq.
        c = await gateway(self.server, reader.token, "resumer",
                          resume={"epoch": epoch, "rooms": {rid: start_seq}})
        self.clients.append(c)
        self.assertEqual(c.epoch, epoch, "the epoch survives a restart on the same store")
        await c.wait_room_seq(rid, last_seq, timeout=20)
        self.assertEqual([e["seq"] for e in c.room_events(rid)],
                         list(range(start_seq + 1, last_seq + 1)))
        self.assertEqual(c.resets, [])
        self.assertEqual(c.anomalies, [])
        # And sending works again.
        ack = await c.send(rid, "after restart")
        self.assertEqual(ack["op"], "ack", ack)
        self.assertEqual(ack["d"]["seq"], last_seq + 1)


if __name__ == "__main__":
    main()
