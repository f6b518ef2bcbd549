"""Attachments on the real binary (docs/protocol.md, "Attachments"): upload, send with a
message, download by members only (file and renditions), thumbnails of a JPEG and a PNG with
EXIF/GPS stripped, Range requests, deletion and the sweep, and each bad-input case: zero-byte
file, file over the limit, lying extension, truncated upload, decompression bomb, path
traversal and RTL override in names, another user's attachment id, quota exceeded.

Test images are made here with Debian's python3-pil."""

import asyncio
import io
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parley_harness import (  # noqa: E402
    AsyncServerTestCase, assert_problem, gateway, main, unique)

import unittest  # noqa: E402
from urllib.parse import quote  # noqa: E402

from PIL import Image  # noqa: E402

MAX_UPLOAD = 1_000_000
QUOTA = 600_000
GPS_IFD = 0x8825


def jpeg_with_exif(w=640, h=480):
    img = Image.new("RGB", (w, h), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010E] = "SECRET-DESCRIPTION"  # ImageDescription
    exif[GPS_IFD] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 1.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def png(w=300, h=200, color=(10, 120, 250)):
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


def has_exif(data):
    img = Image.open(io.BytesIO(data))
    exif = img.getexif()
    return len(exif) > 0 or len(exif.get_ifd(GPS_IFD)) > 0 or b"Exif" in data


class AttachmentsTest(AsyncServerTestCase):
    server_flags = [f"--files.max_upload_bytes={MAX_UPLOAD}", f"--files.quota_bytes={QUOTA}",
                    "--files.max_image_pixels=40000000", "--files.sweep_interval_ms=200"]

    def setUp(self):
        self.alice = self.api.new_user("al")
        self.bob = self.api.new_user("bo")
        self.eve = self.api.new_user("ev")
        self.room = self.alice.create_room(members=[self.bob])
        self.rid = self.room["id"]

    # -- helpers

    def upload(self, user, data, name="file.bin", token=None):
        return user.api.request("POST", f"/api/v1/uploads?name={quote(name)}", raw=data,
                                token=token or user.token,
                                headers={"Content-Type": "application/octet-stream"})

    def uploaded(self, user, data, name):
        r = self.upload(user, data, name)
        self.assertEqual(r.status, 201, r)
        return r.json["attachment"]

    def send(self, user, ids, body=None):
        payload = {"client_txn_id": unique("t"), "attachments": ids}
        if body is not None:
            payload["body"] = body
        return user.post(f"/api/v1/rooms/{self.rid}/messages", payload)

    def fetch(self, user, path, headers=None):
        return user.get(path, headers=headers)

    def blob_files(self):
        root = os.path.join(self.server.data_dir, "blobs")
        out = set()
        for d, _, files in os.walk(root):
            if os.path.basename(d) == "tmp":
                continue
            out.update(files)
        return out

    def staging_files(self):
        return os.listdir(os.path.join(self.server.data_dir, "blobs", "tmp"))

    def wait_until(self, pred, what, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.05)
        self.fail(f"timed out waiting for {what}")

    # -- the happy path

    def test_upload_send_and_download_by_a_member(self):
        text = b"quarterly numbers\n" * 100
        a = self.uploaded(self.alice, text, "report.txt")
        self.assertEqual(a["name"], "report.txt")
        self.assertEqual(a["mime"], "text/plain")
        self.assertEqual(a["kind"], "file")
        self.assertEqual(a["size"], len(text))
        self.assertIsNone(a["thumbnail_url"])
        # Before sending, only the uploader may fetch it.
        self.assertEqual(self.fetch(self.alice, a["url"]).body, text)
        assert_problem(self, self.fetch(self.bob, a["url"]), 404, "not_found")

        img = self.uploaded(self.alice, png(), "chart.png")
        r = self.send(self.alice, [a["id"], img["id"]], "see attached")
        self.assertEqual(r.status, 201, r)
        msg = r.json["message"]
        self.assertEqual([x["id"] for x in msg["attachments"]], [a["id"], img["id"]])
        self.assertEqual(msg["attachments"][1]["width"], 300)
        hist = self.bob.all_messages(self.rid)
        self.assertEqual([x["name"] for x in hist[-1]["attachments"]], ["report.txt", "chart.png"])

        got = self.fetch(self.bob, a["url"])
        self.assertEqual(got.status, 200, got)
        self.assertEqual(got.body, text)
        self.assertEqual(got.header("content-type"), "text/plain")
        self.assertEqual(got.header("content-disposition"),
                         "attachment; filename=\"report.txt\"; filename*=UTF-8''report.txt")
        self.assertEqual(got.header("x-content-type-options"), "nosniff")
        self.assertTrue(got.header("content-security-policy").startswith("sandbox; default-src 'none'"))
        self.assertIn("private", got.header("cache-control"))
        self.assertNotIn("public", got.header("cache-control"))
        self.assertEqual(got.header("etag"), f"\"{a['sha256']}\"")
        again = self.fetch(self.bob, a["url"], headers={"If-None-Match": got.header("etag")})
        self.assertEqual(again.status, 304, again)
        self.assertEqual(again.body, b"")

    async def test_gateway_send_with_attachments_and_no_body(self):
        a = self.uploaded(self.alice, b"gateway file\n", "g.txt")
        gw = await gateway(self.server, self.alice.token)
        try:
            fid = await gw.request("send", {"room_id": self.rid, "client_txn_id": unique("t"),
                                            "attachments": [a["id"]]})
            reply = await gw.wait_reply(fid)
            self.assertEqual(reply["op"], "ack", reply)
            created = await gw.wait_for(lambda f: f.get("op") == "message.created"
                                        and f["d"]["message"]["id"] == reply["d"]["message_id"],
                                        what="message.created")
            m = created["d"]["message"]
            self.assertEqual(m["body"], "")
            self.assertEqual([x["id"] for x in m["attachments"]], [a["id"]])
        finally:
            await gw.close()

    def test_non_member_is_refused_file_and_renditions(self):
        img = self.uploaded(self.alice, png(), "secret.png")
        self.assertEqual(self.send(self.alice, [img["id"]]).status, 201)
        for path in (img["url"], img["thumbnail_url"], img["preview_url"]):
            with self.subTest(path=path):
                assert_problem(self, self.fetch(self.eve, path), 404, "not_found")
                self.assertEqual(self.fetch(self.bob, path).status, 200)
        assert_problem(self, self.api.get(img["url"]), 401, "unauthorized")
        # Leaving the room ends access at once (checked on every request, thumbnails too).
        r = self.bob.delete(f"/api/v1/rooms/{self.rid}/members/{self.bob.id}")
        self.assertIn(r.status, (200, 204), r)
        for path in (img["url"], img["thumbnail_url"]):
            assert_problem(self, self.fetch(self.bob, path), 404, "not_found")

    def test_thumbnails_of_jpeg_and_png_without_exif(self):
        original = jpeg_with_exif()
        self.assertTrue(has_exif(original), "the fixture carries EXIF and GPS")
        j = self.uploaded(self.alice, original, "holiday.jpg")
        p = self.uploaded(self.alice, png(800, 600), "diagram.png")
        self.assertEqual((j["kind"], j["mime"], j["width"], j["height"]),
                         ("image", "image/jpeg", 640, 480))
        self.assertEqual((p["kind"], p["mime"], p["width"], p["height"]),
                         ("image", "image/png", 800, 600))
        for att, box in ((j, 320), (p, 320)):
            thumb = self.fetch(self.alice, att["thumbnail_url"])
            self.assertEqual(thumb.status, 200, thumb)
            self.assertEqual(thumb.header("content-type"), "image/webp")
            self.assertTrue(thumb.header("content-disposition").startswith("inline"))
            timg = Image.open(io.BytesIO(thumb.body))
            self.assertEqual(timg.format, "WEBP")
            self.assertLessEqual(max(timg.size), box)
            self.assertFalse(has_exif(thumb.body), "thumbnail carries no EXIF")
            preview = self.fetch(self.alice, att["preview_url"]).body
            self.assertEqual(Image.open(io.BytesIO(preview)).format, "WEBP")
            self.assertFalse(has_exif(preview), "preview carries no EXIF")
            self.assertNotIn(b"SECRET-DESCRIPTION", thumb.body + preview)
        # The original is the user's file, unchanged.
        self.assertEqual(self.fetch(self.alice, j["url"]).body, original)

    def test_exif_rotated_photo_reports_its_upright_size(self):
        # A phone photo: 300x200 pixels stored sideways with EXIF orientation 6 (rotate 90°
        # clockwise to view) is a 200x300 portrait. The renditions are turned upright, and the
        # width/height a client reserves space with must be the upright ones too.
        buf = io.BytesIO()
        exif = Image.Exif()
        exif[0x0112] = 6  # Orientation
        Image.new("RGB", (300, 200), (20, 160, 90)).save(buf, "JPEG", exif=exif.tobytes())
        att = self.uploaded(self.alice, buf.getvalue(), "sideways.jpg")
        self.assertEqual((att["width"], att["height"]), (200, 300))
        for url in (att["thumbnail_url"], att["preview_url"]):
            img = Image.open(io.BytesIO(self.fetch(self.alice, url).body))
            self.assertLess(img.size[0], img.size[1], f"{url} is upright (portrait): {img.size}")
            self.assertAlmostEqual(img.size[0] / img.size[1], 200 / 300, places=1)

    def test_range_requests_on_media(self):
        data = png(640, 480, (1, 2, 3))
        a = self.uploaded(self.alice, data, "range.png")
        n = len(data)
        r = self.fetch(self.alice, a["url"], headers={"Range": "bytes=0-99"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(r.body, data[:100])
        self.assertEqual(r.header("content-range"), f"bytes 0-99/{n}")
        self.assertEqual(r.header("accept-ranges"), "bytes")
        r = self.fetch(self.alice, a["url"], headers={"Range": "bytes=-10"})
        self.assertEqual((r.status, r.body), (206, data[-10:]))
        r = self.fetch(self.alice, a["url"], headers={"Range": f"bytes=100-"})
        self.assertEqual((r.status, r.body), (206, data[100:]))
        r = self.fetch(self.alice, a["url"], headers={"Range": f"bytes={n}-"})
        self.assertEqual(r.status, 416, r)
        self.assertEqual(r.header("content-range"), f"bytes */{n}")
        r = self.fetch(self.alice, a["url"], headers={"Range": "bytes=0-1,5-6"})
        self.assertEqual((r.status, r.body), (200, data))

    def test_deleting_the_message_deletes_the_attachment_once_unreferenced(self):
        data = b"shared content " + unique("x").encode() + b"\n"
        a = self.uploaded(self.alice, data, "one.txt")
        b = self.uploaded(self.bob, data, "two.txt")
        self.assertEqual(a["sha256"], b["sha256"])
        m1 = self.send(self.alice, [a["id"]]).json["message"]
        m2 = self.send(self.bob, [b["id"]]).json["message"]
        self.assertIn(a["sha256"], self.blob_files())
        self.assertIn(self.alice.delete(f"/api/v1/rooms/{self.rid}/messages/{m1['id']}").status,
                      (200, 204))
        assert_problem(self, self.fetch(self.alice, a["url"]), 404, "not_found")
        deleted = [m for m in self.alice.all_messages(self.rid) if m["id"] == m1["id"]][0]
        self.assertEqual(deleted["attachments"], [])
        time.sleep(0.6)  # a few sweeps: the blob is still referenced by Bob's attachment
        self.assertIn(a["sha256"], self.blob_files())
        self.assertEqual(self.fetch(self.alice, b["url"]).body, data)
        self.assertIn(self.bob.delete(f"/api/v1/rooms/{self.rid}/messages/{m2['id']}").status,
                      (200, 204))
        self.wait_until(lambda: a["sha256"] not in self.blob_files(), "the blob to be swept")

    # -- bad input

    def raw_head(self, head, body=b""):
        """Sends a request head (and maybe some body) on a raw socket; returns the status line,
        the head of the answer and the socket."""
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        s.sendall(head.encode() + body)
        data = b""
        while b"\r\n\r\n" not in data:
            part = s.recv(65536)
            if not part:
                break
            data += part
        return data.split(b"\r\n", 1)[0].decode(), data, s

    def test_upload_without_credentials(self):
        r = self.upload(self.alice, b"x" * 200_000, "a.txt", token="not-a-valid-token")
        assert_problem(self, r, 401, "unauthorized")
        self.assertEqual(self.staging_files(), [], "nothing was written")
        # A small one without any credentials: 401, not a complaint about its Content-Type.
        r = self.api.request("POST", "/api/v1/uploads?name=a.txt", raw=b"abc",
                             headers={"Content-Type": "text/plain"})
        assert_problem(self, r, 401, "unauthorized")

    def test_refused_before_the_body_is_read(self):
        # A huge declared body with a bad token: the answer comes at once, without the body,
        # and without inviting it (no 100 Continue).
        for auth in ("Authorization: Bearer not-a-valid-token\r\n", ""):
            with self.subTest(auth=auth):
                line, data, s = self.raw_head(
                    "POST /api/v1/uploads?name=big.bin HTTP/1.1\r\nHost: x\r\n" + auth +
                    "Content-Type: application/octet-stream\r\nExpect: 100-continue\r\n"
                    f"Content-Length: {MAX_UPLOAD - 1}\r\n\r\n")
                s.close()
                self.assertIn(" 401 ", line, data)
                self.assertNotIn(b"100 Continue", data)
                self.assertIn(b"application/problem+json", data)
                self.assertEqual(self.staging_files(), [])
        # Over the quota by its declared length: 413 quota_exceeded before any byte is sent.
        u = self.api.new_user("qe")
        self.uploaded(u, b"q" * 400_000, "first.txt")
        line, data, s = self.raw_head(
            "POST /api/v1/uploads?name=second.bin HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {u.token}\r\nExpect: 100-continue\r\n"
            "Content-Length: 300000\r\n\r\n")
        s.close()
        self.assertIn(" 413 ", line, data)
        self.assertIn(b"quota_exceeded", data)
        self.assertNotIn(b"100 Continue", data)
        # A good one is invited and stored.
        line, data, s = self.raw_head(
            "POST /api/v1/uploads?name=ok.txt HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {u.token}\r\nExpect: 100-continue\r\n"
            "Content-Length: 6\r\n\r\n")
        self.assertIn(" 100 ", line, data)
        s.sendall(b"hello\n")
        rest = s.recv(65536)
        s.close()
        self.assertIn(b" 201 ", rest)

    def test_zero_byte_file(self):
        assert_problem(self, self.upload(self.alice, b"", "empty.txt"), 400, "invalid_argument")

    def test_file_over_the_limit(self):
        r = self.upload(self.alice, b"a" * (MAX_UPLOAD + 1), "big.txt")
        assert_problem(self, r, 413, "too_large")
        self.assertEqual(self.staging_files(), [])

    def test_lying_extension(self):
        html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
        r = self.upload(self.alice, html, "cute-cat.jpg")
        assert_problem(self, r, 415, "unsupported_type")
        self.assertIn("text/html", r.json["detail"])
        # A real PNG named .pdf: stored, the name kept, served as what it is.
        a = self.uploaded(self.alice, png(), "invoice.pdf")
        self.assertEqual((a["name"], a["mime"], a["kind"]), ("invoice.pdf", "image/png", "image"))
        self.assertEqual(self.fetch(self.alice, a["url"]).header("content-type"), "image/png")

    def test_truncated_upload_leaves_nothing(self):
        before = self.blob_files()
        declared = 500_000
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        head = (f"POST /api/v1/uploads?name=cut.txt HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {self.alice.token}\r\n"
                f"Content-Type: application/octet-stream\r\nContent-Length: {declared}\r\n\r\n")
        s.sendall(head.encode() + b"a" * 200_000)
        # The body is arriving: the transport is writing it to a staging file.
        self.wait_until(lambda: len(self.staging_files()) == 1, "the staging file")
        s.close()  # connection dropped mid-body
        self.wait_until(lambda: self.staging_files() == [], "the staging file to be removed")
        self.assertEqual(self.blob_files(), before, "no blob was stored")
        # Restarting the upload works.
        a = self.uploaded(self.alice, b"a" * declared, "cut.txt")
        self.assertEqual(a["size"], declared)

    def test_decompression_bomb(self):
        buf = io.BytesIO()
        Image.new("1", (10000, 10000)).save(buf, "PNG")  # 12 KB claiming 100 megapixels
        r = self.upload(self.alice, buf.getvalue(), "bomb.png")
        assert_problem(self, r, 413, "too_large")
        self.assertIn("pixels", r.json["detail"])
        self.assertEqual(self.staging_files(), [])
        self.assertEqual(self.upload(self.alice, png(), "fine.png").status, 201, "server is fine")

    def test_path_traversal_in_names(self):
        for raw, want in (("../../../etc/passwd", "passwd"), ("..\\..\\boot.ini", "boot.ini"),
                          ("/abs/olute.txt", "olute.txt"), ("..", "file")):
            with self.subTest(raw=raw):
                a = self.uploaded(self.alice, b"x\n", raw)
                self.assertEqual(a["name"], want)
        assert_problem(self, self.upload(self.alice, b"x\n", "n" * 256), 400, "invalid_argument")

    def test_rtl_override_in_names(self):
        a = self.uploaded(self.alice, b"x\n", "invoice\u202efdp.exe")
        self.assertEqual(a["name"], "invoicefdp.exe")
        a = self.uploaded(self.alice, b"x\n", "a\u2067b\u200fc\u0007.txt")
        self.assertEqual(a["name"], "abc.txt")
        self.assertEqual(self.send(self.alice, [a["id"]]).status, 201)
        got = self.fetch(self.bob, a["url"])
        self.assertEqual(got.header("content-disposition"),
                         "attachment; filename=\"abc.txt\"; filename*=UTF-8''abc.txt")

    def test_another_users_attachment_id(self):
        theirs = self.uploaded(self.bob, b"bob's\n", "bob.txt")
        r = self.send(self.alice, [theirs["id"]], "stealing")
        assert_problem(self, r, 404, "not_found")
        assert_problem(self, self.send(self.alice, ["123456789"], "unknown"), 404, "not_found")
        assert_problem(self, self.send(self.alice, ["nope"], "malformed"), 400, "invalid_argument")
        mine = self.uploaded(self.alice, b"mine\n", "mine.txt")
        self.assertEqual(self.send(self.alice, [mine["id"]]).status, 201)
        assert_problem(self, self.send(self.alice, [mine["id"]], "again"), 409, "conflict")
        self.assertEqual(self.alice.all_messages(self.rid)[-1]["attachments"][0]["id"], mine["id"])
        self.assertEqual(len(self.alice.all_messages(self.rid)), 1, "nothing else was stored")
        # Bob's unsent upload is still his to send.
        self.assertEqual(self.send(self.bob, [theirs["id"]]).status, 201)

    def test_quota_exceeded(self):
        u = self.api.new_user("qu")
        first = self.uploaded(u, b"q" * 400_000, "first.txt")
        r = self.upload(u, b"r" * 300_000, "second.txt")
        assert_problem(self, r, 413, "quota_exceeded")
        self.assertEqual(self.staging_files(), [])
        self.assertIsNotNone(first)
        self.assertEqual(self.upload(u, b"s" * 100_000, "small.txt").status, 201, "room left")


class UploadRateLimitTest(AsyncServerTestCase):
    server_flags = ["--files.upload_burst=3", "--files.uploads_per_minute=1"]

    def test_upload_requests_are_rate_limited_per_user(self):
        u = self.api.new_user("rl")
        other = self.api.new_user("rl")

        def up(user):
            return user.api.request("POST", "/api/v1/uploads?name=r.txt", raw=b"rate\n",
                                    token=user.token,
                                    headers={"Content-Type": "application/octet-stream"})

        for _ in range(3):
            self.assertEqual(up(u).status, 201)
        r = up(u)
        assert_problem(self, r, 429, "rate_limited")
        self.assertGreaterEqual(int(r.header("retry-after")), 1)
        # Chunks of resumable uploads count too; other users are not affected.
        self.assertEqual(up(other).status, 201)
        opened = other.post("/api/v1/uploads/resumable", {"name": "c.txt", "size": 10})
        self.assertEqual(opened.status, 201, opened)
        url = opened.json["upload"]["url"]
        for i in range(3):
            r = other.api.request("PATCH", url, raw=b"chunk", token=other.token,
                                  headers={"Upload-Offset": str(5 * i)})
            self.assertEqual(r.status, 200 if i < 2 else 429, r)


if __name__ == "__main__":
    main()
