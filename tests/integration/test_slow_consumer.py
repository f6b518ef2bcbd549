"""Slow consumers: a connection that stops reading is closed with 4010 once its outbound queue
passes gateway.outbound_queue_bytes; the other members keep receiving promptly; the slow
client resumes without loss (docs/protocol.md: "Errors and limits", close codes)."""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parley_harness import (  # noqa: E402
    RawWebSocket, Server, gateway, main, metric_value)

import unittest  # noqa: E402

SLOW_METRIC = "parley_gateway_slow_consumer_disconnects_total"


class SlowConsumerTest(unittest.IsolatedAsyncioTestCase):

    async def asyncSetUp(self):
        self.server = Server(["--gateway.outbound_queue_bytes=32768"]).start()
        self.api = self.server.http()
        self.clients = []
        self.raw = None

    async def asyncTearDown(self):
        for c in self.clients:
            await c.close()
        if self.raw:
            self.raw.close()
        self.server.stop()

    def slow_disconnects(self):
        r = self.api.get("/metrics")
        self.assertEqual(r.status, 200, r)
        return metric_value(r.body.decode(), SLOW_METRIC) or 0

    async def test_slow_consumer_is_cut_off_others_unaffected_and_resume_is_lossless(self):
        slow, fast, s1, s2 = self.api.new_users(4, "sc")
        room = s1.create_room(members=[slow, fast, s2])
        rid = room["id"]

        # The slow client: a raw WebSocket with a tiny receive buffer that stops reading
        # right after `ready`.
        self.raw = raw = RawWebSocket(self.server.port, rcvbuf=4096)
        hello = raw.recv_json()
        self.assertEqual(hello["op"], "hello")
        raw.send_json({"op": "identify", "id": "1", "d": {"token": slow.token, "protocol": 1}})
        ready = raw.recv_json()
        self.assertEqual(ready["op"], "ready", ready)
        epoch = ready["d"]["epoch"]
        base = next(s["room"]["last_seq"] for s in ready["d"]["rooms"] if s["room"]["id"] == rid)

        fast_c = await gateway(self.server, fast.token, "fast")
        self.clients.append(fast_c)
        before = await asyncio.to_thread(self.slow_disconnects)

        # A message frame carries the body twice (source and rendered html), so 6,000
        # characters make a frame of about 12.5 KB: a few of them pass the 32 KiB cap.
        filler = "x" * 6000
        sent = []  # (seq, body)

        async def flood(user, tag, n):
            for k in range(n):
                body = f"{tag}:{k}:" + filler
                r = await asyncio.to_thread(user.send, rid, body)
                self.assertEqual(r.status, 201, r)
                sent.append((r.json["message"]["seq"], body))

        cut_off = False
        batch = 0
        while len(sent) < 400:
            await asyncio.gather(flood(s1, f"a{batch}", 10), flood(s2, f"b{batch}", 10))
            batch += 1
            top = max(seq for seq, _ in sent)
            # The normal reader keeps up: the whole batch arrives within a few seconds.
            t0 = time.monotonic()
            await fast_c.wait_room_seq(rid, top, timeout=5)
            self.assertLess(time.monotonic() - t0, 5)
            if await asyncio.to_thread(self.slow_disconnects) > before:
                cut_off = True
                break
        self.assertTrue(cut_off, f"{SLOW_METRIC} did not move after {len(sent)} messages of "
                                 "12 KB to a client that does not read (queue cap 32 KiB)")
        # A few more after the cut-off, so the resume has something live-ish to catch up on.
        await flood(s1, "late", 5)
        sent.sort()
        final = sent[-1][0]
        await fast_c.wait_room_seq(rid, final, timeout=10)
        fast_seqs = [e["seq"] for e in fast_c.room_events(rid, "message.created")]
        self.assertEqual(fast_seqs, [seq for seq, _ in sent], "the normal reader got everything")
        self.assertEqual(fast_c.anomalies, [])
        self.assertFalse(fast_c.closed, "the normal reader was not disconnected")

        # Now the slow client reads what reached it: its data, then a close frame with 4010.
        frames = await asyncio.to_thread(raw.read_until_closed, 20)
        self.assertEqual(raw.close_code, 4010,
                         "the slow consumer's connection ends with a 4010 close frame "
                         f"(eof={raw.eof}, got {len(frames)} frames)")
        got = [f["d"] for f in frames if f.get("op") == "message.created"
               and f["d"]["room_id"] == rid]
        seen_seqs = [e["seq"] for e in got]
        self.assertEqual(seen_seqs, list(range(base + 1, base + 1 + len(seen_seqs))),
                         "what did reach the slow client is in order without gaps")
        last_seen = seen_seqs[-1] if seen_seqs else base
        print(f"\n  slow consumer: cut off after {len(sent)} messages of 12 KB; it had received "
              f"{len(seen_seqs)}", file=sys.stderr)
        self.assertLess(last_seen, final, "the slow client really fell behind")

        # Reconnect with resume: everything after last_seen, exactly once, in order.
        again = await gateway(self.server, slow.token, "slow-again",
                              resume={"epoch": epoch, "rooms": {rid: last_seen}})
        self.clients.append(again)
        await again.wait_room_seq(rid, final, timeout=20)
        replayed = again.room_events(rid)
        self.assertEqual(again.resets, [])
        self.assertEqual([e["seq"] for e in replayed], list(range(last_seen + 1, final + 1)))
        bodies = [e["message"]["body"] for e in got + replayed]
        self.assertEqual(bodies, [b for _, b in sent], "no message lost or duplicated")


if __name__ == "__main__":
    main()
