"""Resumable uploads on the real binary (docs/protocol.md, "Resumable uploads"): open with a
size, append chunks at Upload-Offset, ask the acknowledged offset (GET/HEAD), complete into the
same attachment a one-shot upload gives, cancel; and the bad cases: wrong offset (409 with the
current offset), chunk past the declared size, parallel appends, a chunk cut off mid-body, a
crash (kill -9) between chunks, another user's upload id, zero and oversized declared sizes,
quota, a lying type at completion, and idle uploads swept with their bytes."""

import io
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parley_harness import ServerTestCase, assert_problem, main  # noqa: E402

from PIL import Image  # noqa: E402

MAX_UPLOAD = 2_000_000
QUOTA = 3_000_000


def png(w=400, h=300, color=(10, 120, 250)):
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


class ResumableBase(ServerTestCase):
    def open(self, user, size, name="big.bin"):
        return user.post("/api/v1/uploads/resumable", {"name": name, "size": size})

    def opened(self, user, size, name="big.bin"):
        r = self.open(user, size, name)
        self.assertEqual(r.status, 201, r)
        up = r.json["upload"]
        self.assertEqual(r.header("location"), up["url"])
        return up

    def patch(self, user, up, offset, data, token=None):
        headers = {"Content-Type": "application/offset+octet-stream"}
        if offset is not None:
            headers["Upload-Offset"] = str(offset)
        return user.api.request("PATCH", up["url"], raw=data, token=token or user.token,
                                headers=headers)

    def complete(self, user, up):
        return user.post(up["url"] + "/complete")

    def parts(self):
        d = os.path.join(self.server.data_dir, "blobs", "parts")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def staging_files(self):
        return os.listdir(os.path.join(self.server.data_dir, "blobs", "tmp"))

    def wait_until(self, pred, what, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.05)
        self.fail(f"timed out waiting for {what}")


class ResumableUploadsTest(ResumableBase):
    server_flags = [f"--files.max_upload_bytes={MAX_UPLOAD}", f"--files.quota_bytes={QUOTA}"]

    def setUp(self):
        self.alice = self.api.new_user("al")
        self.bob = self.api.new_user("bo")

    def test_chunks_then_complete_give_the_same_attachment_as_one_shot(self):
        data = png(900, 700, (3, 140, 77))
        up = self.opened(self.alice, len(data), "photo.png")
        self.assertEqual((up["offset"], up["size"], up["name"]), (0, len(data), "photo.png"))
        self.assertGreater(up["expires_at"], up["created_at"])
        step = max(1, len(data) // 3 + 1)
        offset = 0
        while offset < len(data):
            chunk = data[offset:offset + step]
            r = self.patch(self.alice, up, offset, chunk)
            self.assertEqual(r.status, 200, r)
            offset += len(chunk)
            # Progress = the acknowledged offset, in the header and the body.
            self.assertEqual(r.header("upload-offset"), str(offset))
            self.assertEqual(r.json["upload"]["offset"], offset)
            head = self.alice.api.request("HEAD", up["url"], token=self.alice.token)
            self.assertEqual(head.status, 200, head)
            self.assertEqual(head.header("upload-offset"), str(offset))
            self.assertEqual(head.header("upload-length"), str(len(data)))
            self.assertEqual(head.header("cache-control"), "no-store")
        r = self.complete(self.alice, up)
        self.assertEqual(r.status, 201, r)
        a = r.json["attachment"]
        self.assertEqual(a["id"], up["id"])
        self.assertEqual((a["mime"], a["kind"], a["width"], a["height"], a["size"]),
                         ("image/png", "image", 900, 700, len(data)))
        self.assertIsNotNone(a["thumbnail_url"])
        self.assertEqual(self.alice.get(a["url"]).body, data)
        self.assertEqual(self.alice.get(a["thumbnail_url"]).header("content-type"), "image/webp")
        self.assertEqual(self.parts(), [], "the part file became the blob")
        # A repeated completion (lost response) answers the same attachment.
        again = self.complete(self.alice, up)
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json["attachment"]["id"], a["id"])
        assert_problem(self, self.alice.get(up["url"]), 404, "not_found")
        room = self.alice.create_room(members=[self.bob])
        sent = self.alice.post(f"/api/v1/rooms/{room['id']}/messages",
                               {"client_txn_id": "t-res-1", "attachments": [a["id"]]})
        self.assertEqual(sent.status, 201, sent)
        self.assertEqual(self.bob.get(a["url"]).body, data)

    def test_wrong_offset_is_409_with_the_current_offset(self):
        up = self.opened(self.alice, 1000)
        self.assertEqual(self.patch(self.alice, up, 0, b"a" * 300).status, 200)
        for off in (0, 200, 301, 999):
            with self.subTest(offset=off):
                r = self.patch(self.alice, up, off, b"b" * 10)
                assert_problem(self, r, 409, "conflict")
                self.assertEqual(r.header("upload-offset"), "300")
                self.assertEqual(r.json["offset"], 300)
        # Past the declared size: refused, nothing written.
        assert_problem(self, self.patch(self.alice, up, 300, b"c" * 701), 413, "too_large")
        for bad in (None, "-1", "abc", "1e3", ""):
            with self.subTest(header=bad):
                assert_problem(self, self.patch(self.alice, up, bad, b"d"), 400, "invalid_argument")
        self.assertEqual(self.alice.get(up["url"]).json["upload"]["offset"], 300)
        # Completing early is refused with how far it got.
        r = self.complete(self.alice, up)
        assert_problem(self, r, 409, "conflict")
        self.assertEqual(r.json["offset"], 300)
        self.assertEqual(self.patch(self.alice, up, 300, b"e" * 700).status, 200)
        a = self.complete(self.alice, up).json["attachment"]
        self.assertEqual(self.alice.get(a["url"]).body, b"a" * 300 + b"e" * 700)

    def test_parallel_appends_to_one_upload_one_wins(self):
        up = self.opened(self.alice, 400_000)
        results = []

        def raw_patch(fill):
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=20)
            body = fill * 200_000
            head = (f"PATCH {up['url']} HTTP/1.1\r\nHost: x\r\n"
                    f"Authorization: Bearer {self.alice.token}\r\nUpload-Offset: 0\r\n"
                    f"Content-Type: application/offset+octet-stream\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n")
            s.sendall(head.encode() + body[:-10])
            return s, body[-10:]

        a = raw_patch(b"A")
        b = raw_patch(b"B")

        def finish(conn):
            s, rest = conn
            s.sendall(rest)
            data = b""
            while b"\r\n\r\n" not in data:
                part = s.recv(4096)
                if not part:
                    break
                data += part
            s.close()
            results.append(int(data.split(b" ", 2)[1]))

        threads = [threading.Thread(target=finish, args=(c,)) for c in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(sorted(results), [200, 409], results)
        got = self.alice.get(up["url"]).json["upload"]
        self.assertEqual(got["offset"], 200_000, "exactly one chunk was appended")
        # The next chunk goes on from there and the file is one writer's bytes, not a mix.
        self.assertEqual(self.patch(self.alice, up, 200_000, b"C" * 200_000).status, 200)
        att = self.complete(self.alice, up).json["attachment"]
        body = self.alice.get(att["url"]).body
        self.assertIn(body[:200_000], (b"A" * 200_000, b"B" * 200_000))
        self.assertEqual(body[200_000:], b"C" * 200_000)

    def test_chunk_cut_off_mid_body_leaves_the_offset(self):
        up = self.opened(self.alice, 300_000)
        self.assertEqual(self.patch(self.alice, up, 0, b"x" * 100_000).status, 200)
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        head = (f"PATCH {up['url']} HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {self.alice.token}\r\nUpload-Offset: 100000\r\n"
                f"Content-Length: 200000\r\n\r\n")
        s.sendall(head.encode() + b"y" * 50_000)
        self.wait_until(lambda: len(self.staging_files()) == 1, "the chunk being staged")
        s.close()
        self.wait_until(lambda: self.staging_files() == [], "the cut chunk to be removed")
        self.assertEqual(self.alice.get(up["url"]).json["upload"]["offset"], 100_000)
        self.assertEqual(self.patch(self.alice, up, 100_000, b"z" * 200_000).status, 200)
        a = self.complete(self.alice, up).json["attachment"]
        self.assertEqual(self.alice.get(a["url"]).body, b"x" * 100_000 + b"z" * 200_000)

    def test_another_users_upload_id(self):
        up = self.opened(self.alice, 100)
        self.assertEqual(self.patch(self.alice, up, 0, b"q" * 50).status, 200)
        assert_problem(self, self.bob.get(up["url"]), 404, "not_found")
        assert_problem(self, self.patch(self.bob, up, 50, b"w" * 50), 404, "not_found")
        assert_problem(self, self.complete(self.bob, up), 404, "not_found")
        assert_problem(self, self.bob.delete(up["url"]), 404, "not_found")
        for path in ("/api/v1/uploads/123456789", "/api/v1/uploads/nope"):
            assert_problem(self, self.alice.get(path), 404, "not_found")
        # Nothing of Alice's changed.
        self.assertEqual(self.alice.get(up["url"]).json["upload"]["offset"], 50)
        # Bob cannot complete it into "his" attachment either, nor fetch it once complete.
        self.assertEqual(self.patch(self.alice, up, 50, b"r" * 50).status, 200)
        a = self.complete(self.alice, up).json["attachment"]
        assert_problem(self, self.complete(self.bob, up), 404, "not_found")
        assert_problem(self, self.bob.get(a["url"]), 404, "not_found")
        # Without credentials: 401.
        assert_problem(self, self.api.get(up["url"]), 401, "unauthorized")

    def test_declared_size_zero_over_limit_and_over_quota(self):
        assert_problem(self, self.open(self.alice, 0), 400, "invalid_argument")
        assert_problem(self, self.open(self.alice, -5), 400, "invalid_argument")
        assert_problem(self, self.open(self.alice, MAX_UPLOAD + 1), 413, "too_large")
        r = self.alice.post("/api/v1/uploads/resumable", {"name": "x", "size": "10"})
        assert_problem(self, r, 400, "invalid_argument")
        r = self.alice.post("/api/v1/uploads/resumable", {"size": 10})
        assert_problem(self, r, 400, "invalid_argument")
        assert_problem(self, self.open(self.alice, 10, "n" * 300), 400, "invalid_argument")
        # The declared size is reserved against the quota until completed or cancelled.
        u = self.api.new_user("qu")
        first = self.opened(u, MAX_UPLOAD)
        assert_problem(self, self.open(u, QUOTA - MAX_UPLOAD + 1), 413, "quota_exceeded")
        self.assertEqual(u.delete(first["url"]).status, 204)
        self.opened(u, QUOTA - MAX_UPLOAD + 1)

    def test_names_are_sanitised(self):
        up = self.opened(self.alice, 3, "../../etc/pass\u202ewd\u0007.txt")
        self.assertEqual(up["name"], "passwd.txt")

    def test_cancel_removes_the_bytes(self):
        up = self.opened(self.alice, 1000)
        self.assertEqual(self.patch(self.alice, up, 0, b"k" * 500).status, 200)
        self.assertEqual(self.parts(), [f"{up['id']}.part"])
        self.assertEqual(self.alice.delete(up["url"]).status, 204)
        self.assertEqual(self.parts(), [])
        assert_problem(self, self.alice.get(up["url"]), 404, "not_found")
        assert_problem(self, self.patch(self.alice, up, 500, b"k" * 500), 404, "not_found")

    def test_lying_type_at_completion_ends_the_upload(self):
        html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
        up = self.opened(self.alice, len(html), "cat.jpg")
        self.assertEqual(self.patch(self.alice, up, 0, html).status, 200)
        r = self.complete(self.alice, up)
        assert_problem(self, r, 415, "unsupported_type")
        self.assertEqual(self.parts(), [])
        assert_problem(self, self.alice.get(up["url"]), 404, "not_found")
        assert_problem(self, self.complete(self.alice, up), 404, "not_found")

    def test_decompression_bomb_at_completion(self):
        buf = io.BytesIO()
        Image.new("1", (10000, 10000)).save(buf, "PNG")
        bomb = buf.getvalue()
        up = self.opened(self.alice, len(bomb), "bomb.png")
        self.assertEqual(self.patch(self.alice, up, 0, bomb).status, 200)
        r = self.complete(self.alice, up)
        assert_problem(self, r, 413, "too_large")
        self.assertIn("pixels", r.json["detail"])
        self.assertEqual(self.parts(), [])


class ResumableCrashTest(ResumableBase):
    """The acknowledged offset survives kill -9; idle uploads are swept with their bytes."""
    server_flags = ["--files.unsent_ttl_ms=2000", "--files.sweep_interval_ms=200"]

    def test_offset_survives_a_crash_and_the_upload_resumes(self):
        alice = self.api.new_user("cr")
        up = self.opened(alice, 600_000)
        self.assertEqual(self.patch(alice, up, 0, b"1" * 250_000).status, 200)
        self.server.kill9()
        self.server.start()
        alice.api.port = self.server.port
        got = alice.get(up["url"])
        self.assertEqual(got.status, 200, got)
        self.assertEqual(got.json["upload"]["offset"], 250_000)
        self.assertEqual(self.patch(alice, up, 250_000, b"2" * 350_000).status, 200)
        a = self.complete(alice, up)
        self.assertEqual(a.status, 201, a)
        self.assertEqual(alice.get(a.json["attachment"]["url"]).body,
                         b"1" * 250_000 + b"2" * 350_000)

    def test_idle_upload_is_swept_with_its_bytes(self):
        bob = self.api.new_user("sw")
        up = self.opened(bob, 1000)
        self.assertEqual(self.patch(bob, up, 0, b"s" * 400).status, 200)
        self.assertIn(f"{up['id']}.part", self.parts())
        # Activity keeps it: appends move the idle clock.
        time.sleep(1.2)
        self.assertEqual(self.patch(bob, up, 400, b"s" * 100).status, 200)
        time.sleep(1.2)
        self.assertEqual(bob.get(up["url"]).status, 200, "still there: it was active 1.2 s ago")
        self.wait_until(lambda: bob.get(up["url"]).status == 404, "the idle upload to be swept")
        self.wait_until(lambda: f"{up['id']}.part" not in self.parts(), "its part file removed")


if __name__ == "__main__":
    main()
