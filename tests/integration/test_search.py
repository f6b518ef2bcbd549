"""Full-text search on the real binary (docs/search.md): words, phrases, prefixes, each
operator, membership (never a member; left: only up to the leave), edits and deletes, ranking
and cursor paging, snippets, files found by name and by their text (a text file and a PDF
read by the real pdftotext), and a clear 400 for every malformed or pathological query."""

import datetime
import io
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parley_harness import (  # noqa: E402
    ServerTestCase, assert_problem, main, unique)


def search(user, q, expect=200, **params):
    """GET /api/v1/search as `user`; returns the JSON body (asserting the status)."""
    query = urllib.parse.urlencode({"q": q, **params}, quote_via=urllib.parse.quote)
    r = user.get("/api/v1/search?" + query)
    assert r.status == expect, f"search {q!r} {params}: {r}"
    return r.json if expect == 200 else r


def bodies(user, q, **params):
    return sorted(hit["message"]["body"] for hit in search(user, q, **params)["results"])


def sent(user, room_id, body):
    r = user.send(room_id, body)
    assert r.status == 201, r
    return r.json["message"]


def png_bytes():
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 250)).save(buf, format="PNG")
    return buf.getvalue()


def pdf_bytes(text):
    """A one-page PDF showing `text` (Helvetica), with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def day(offset_days=0):
    return (datetime.datetime.now(datetime.timezone.utc).date()
            + datetime.timedelta(days=offset_days)).isoformat()


class SearchTest(ServerTestCase):
    # Enough search budget for this file's requests; the limit has its own test below.
    server_flags = ["--search.per_minute=6000", "--search.burst=6000"]

    def setUp(self):
        self.alice = self.api.new_user("alice")
        self.bob = self.api.new_user("bob")
        self.carol = self.api.new_user("carol")
        self.tag = unique("k")  # a word no other test's messages contain
        self.room = self.alice.create_room(name=unique("ops-"), members=[self.bob, self.carol])

    def test_words_phrases_prefixes_and_exclusions(self):
        t = self.tag
        sent(self.alice, self.room["id"], f"{t} Deploy the Café release tonight")
        sent(self.bob, self.room["id"], f"{t} the release is deployed")
        sent(self.bob, self.room["id"], f"{t} tonight we release nothing")
        self.assertEqual(bodies(self.carol, f"{t} cafe"), [f"{t} Deploy the Café release tonight"])
        self.assertEqual(bodies(self.carol, f"{t} RELEASE tonight"),
                         [f"{t} Deploy the Café release tonight", f"{t} tonight we release nothing"])
        self.assertEqual(bodies(self.carol, f'{t} "release tonight"'),
                         [f"{t} Deploy the Café release tonight"])
        self.assertEqual(bodies(self.carol, f'{t} "tonight release"'), [])
        self.assertEqual(bodies(self.carol, f"{t} deplo*"),
                         [f"{t} Deploy the Café release tonight", f"{t} the release is deployed"])
        self.assertEqual(bodies(self.carol, f"{t} release -nothing -cafe"),
                         [f"{t} the release is deployed"])
        self.assertEqual(bodies(self.carol, f'{t} -"release tonight" -nothing'),
                         [f"{t} the release is deployed"])

    def test_each_operator(self):
        t = self.tag
        other = self.alice.create_room(name=unique("Design-"), members=[self.bob])
        dm_ab = self.alice.open_dm(self.bob)
        dm_ac = self.alice.open_dm(self.carol)
        sent(self.bob, self.room["id"], f"{t} from bob in ops https://example.org/x")
        sent(self.alice, self.room["id"], f"{t} from alice in ops")
        sent(self.alice, other["id"], f"{t} from alice in design")
        sent(self.bob, dm_ab["id"], f"{t} bob in the dm http://example.org")
        sent(self.carol, dm_ac["id"], f"{t} carol in the dm")
        b, a, c = self.bob.username, self.alice.username, self.carol.username
        self.assertEqual(bodies(self.alice, f"{t} from:@{b}"),
                         [f"{t} bob in the dm http://example.org",
                          f"{t} from bob in ops https://example.org/x"])
        self.assertEqual(bodies(self.alice, f"{t} from:me"),
                         [f"{t} from alice in design", f"{t} from alice in ops"])
        self.assertEqual(len(bodies(self.alice, f"{t} from:@{b} from:@{c}")), 3)
        # in:#room by name (any case), in:@user for the DM with that user; several are ORed.
        self.assertEqual(bodies(self.alice, f"{t} in:#{other['name'].upper()}"),
                         [f"{t} from alice in design"])
        self.assertEqual(bodies(self.alice, f"{t} in:@{c}"), [f"{t} carol in the dm"])
        self.assertEqual(bodies(self.alice, f"{t} in:@{c} in:#{other['name']}"),
                         [f"{t} carol in the dm", f"{t} from alice in design"])
        self.assertEqual(bodies(self.bob, f"{t} in:@{c}"), [], "bob has no DM with carol")
        # Filters alone, no word.
        self.assertEqual(bodies(self.alice, f"from:@{b} in:@{b}"),
                         [f"{t} bob in the dm http://example.org"])
        self.assertEqual(bodies(self.alice, f"{t} has:link"),
                         [f"{t} bob in the dm http://example.org",
                          f"{t} from bob in ops https://example.org/x"])
        # Dates: messages were sent today (UTC); before: and after: exclude the day named.
        self.assertEqual(len(bodies(self.alice, f"{t} during:{day()}")), 5)
        self.assertEqual(len(bodies(self.alice, f"{t} on:{day()}")), 5)
        self.assertEqual(len(bodies(self.alice, f"{t} during:{day()[:7]}")), 5)
        self.assertEqual(len(bodies(self.alice, f"{t} before:{day(1)} after:{day(-1)}")), 5)
        self.assertEqual(bodies(self.alice, f"{t} before:{day()}"), [])
        self.assertEqual(bodies(self.alice, f"{t} after:{day()}"), [])
        self.assertEqual(bodies(self.alice, f"{t} during:{day(-1)}"), [])
        # A client 14 hours ahead of UTC is already on tomorrow's date for part of today: the
        # same instant falls into a different local day, so "today" is checked both ways.
        ahead = len(bodies(self.alice, f"{t} during:{day()}", tz_offset=840)) + \
            len(bodies(self.alice, f"{t} during:{day(1)}", tz_offset=840))
        self.assertEqual(ahead, 5)
        # Unknown user names are an error, not an empty result.
        r = search(self.alice, f"{t} from:@{unique('nobody')}", expect=400)
        assert_problem(self, r, 400, "invalid_argument")
        self.assertIn("no such user", r.json["detail"])

    # -- files, threads, mentions

    def upload(self, user, data, name):
        r = user.api.request("POST", f"/api/v1/uploads?name={urllib.parse.quote(name)}",
                             raw=data, token=user.token,
                             headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 201, r)
        return r.json["attachment"]

    def send_files(self, user, room_id, ids, body=None):
        payload = {"client_txn_id": unique("t"), "attachments": ids}
        if body is not None:
            payload["body"] = body
        r = user.post(f"/api/v1/rooms/{room_id}/messages", payload)
        self.assertEqual(r.status, 201, r)
        return r.json["message"]

    def eventually(self, user, q, want, timeout=20):
        """The bodies `q` finds once the server has indexed the files' text (it does so off
        the request path, within moments of the upload)."""
        deadline = time.monotonic() + timeout
        while True:
            got = bodies(user, q)
            if got == want or time.monotonic() > deadline:
                self.assertEqual(got, want, q)
                return
            time.sleep(0.1)

    def test_has_file_has_image_and_file_names(self):
        t = self.tag
        doc = self.upload(self.alice, f"plain words {t}\n".encode(), f"{t}-roadmap.txt")
        img = self.upload(self.bob, png_bytes(), f"{t}-whiteboard.png")
        m1 = self.send_files(self.alice, self.room["id"], [doc["id"]], f"numbers for {t}")
        self.send_files(self.bob, self.room["id"], [img["id"]])  # a file alone, no text
        sent(self.carol, self.room["id"], f"{t} roadmap talk, no file")
        # Words find a message by its attachments' names too (split into words).
        self.assertEqual(bodies(self.carol, f"{t} roadmap"),
                         sorted([f"numbers for {t}", f"{t} roadmap talk, no file"]))
        self.assertEqual(bodies(self.carol, f"{t} whiteboard png"), [""])
        self.assertEqual(bodies(self.carol, f"{t} has:file"), ["", f"numbers for {t}"])
        self.assertEqual(bodies(self.carol, f"{t} roadmap has:file"), [f"numbers for {t}"])
        self.assertEqual(bodies(self.carol, f"{t} has:image"), [""])
        # Hits carry the attachments; a files-only hit's snippet is its file names.
        hit = search(self.carol, f"{t} has:image")["results"][0]
        self.assertEqual([a["name"] for a in hit["message"]["attachments"]],
                         [f"{t}-whiteboard.png"])
        self.assertIn("whiteboard", hit["snippet"])
        # Filters alone.
        found = [h["message"]["id"] for h in search(self.carol, "has:image")["results"]]
        self.assertIn(hit["message"]["id"], found)
        # Not for someone who cannot read the room.
        eve = self.api.new_user("eve")
        self.assertEqual(bodies(eve, f"{t} has:file"), [])
        self.assertEqual(bodies(eve, f"{t} roadmap"), [])
        # Deleted: gone at once, by word and by filter.
        r = self.alice.delete(f"/api/v1/rooms/{self.room['id']}/messages/{m1['id']}")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(bodies(self.carol, f"{t} has:file"), [""])
        self.assertEqual(bodies(self.carol, f"{t} roadmap"), [f"{t} roadmap talk, no file"])

    def test_files_are_found_by_their_text(self):
        t = self.tag
        txt = self.upload(self.alice, f"Minutes\n\nthe zeppelin{t} departs at noon\n".encode(),
                          "minutes.md")
        pdf = self.upload(self.alice, pdf_bytes(f"Photosynthesis{t} quarterly figures"),
                          "paper.pdf")
        self.assertEqual(pdf["mime"], "application/pdf")
        m = self.send_files(self.alice, self.room["id"], [txt["id"], pdf["id"]], f"{t} see both")
        self.eventually(self.bob, f"zeppelin{t}", [f"{t} see both"])
        self.eventually(self.bob, f"photosynthesis{t} has:file", [f"{t} see both"])
        hit = search(self.bob, f"photosynthesis{t}")["results"][0]
        self.assertIn(f"<mark>Photosynthesis{t}</mark>", hit["snippet"])
        # The same bytes sent again (another upload, another message) are found at once: the
        # text is kept per file content, extracted once.
        again = self.upload(self.bob, pdf_bytes(f"Photosynthesis{t} quarterly figures"), "copy.pdf")
        self.send_files(self.bob, self.room["id"], [again["id"]], f"{t} again")
        self.eventually(self.carol, f"photosynthesis{t}", [f"{t} again", f"{t} see both"], 5)
        self.assertEqual(bodies(self.api.new_user("eve"), f"photosynthesis{t}"), [])
        # Words from the file are gone with the message.
        r = self.alice.delete(f"/api/v1/rooms/{self.room['id']}/messages/{m['id']}")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(bodies(self.bob, f"zeppelin{t}"), [])
        self.assertEqual(bodies(self.bob, f"photosynthesis{t}"), [f"{t} again"])

    def test_has_file_pages_by_cursor(self):
        t = self.tag
        ids = []
        for i in range(5):
            a = self.upload(self.alice, f"file {i}\n".encode(), f"{t}-{i}.txt")
            ids.append(self.send_files(self.alice, self.room["id"], [a["id"]], f"{t} #{i}")["id"])
        seen, cursor = [], None
        for _ in range(4):
            params = {"limit": 2, "sort": "recent"}
            if cursor:
                params["cursor"] = cursor
            page = search(self.bob, f"has:file in:#{self.room['name']}", **params)
            seen += [h["message"]["id"] for h in page["results"]]
            cursor = page["next"]
            if cursor is None:
                break
        self.assertEqual(seen, list(reversed(ids)))

    def test_is_thread_and_mentions_me(self):
        t = self.tag
        root = sent(self.alice, self.room["id"], f"{t} plan root")
        r = self.bob.send(self.room["id"], f"{t} plan reply", thread_root=root["id"])
        self.assertEqual(r.status, 201, r)
        sent(self.alice, self.room["id"], f"{t} plan lonely")
        self.assertEqual(bodies(self.carol, f"{t} is:thread"), [f"{t} plan reply", f"{t} plan root"])
        self.assertEqual(bodies(self.carol, f"{t} reply is:thread"), [f"{t} plan reply"])

        sent(self.alice, self.room["id"], f"{t} hey @{self.bob.username}")
        sent(self.carol, self.room["id"], f"{t} @room all hands")
        sent(self.bob, self.room["id"], f"{t} @{self.bob.username} note to self")
        self.assertEqual(bodies(self.bob, f"{t} mentions:me"),
                         [f"{t} @room all hands", f"{t} hey @{self.bob.username}"])
        self.assertEqual(bodies(self.alice, f"{t} mentions:me"), [f"{t} @room all hands"])
        self.assertEqual(bodies(self.bob, f"{t} hands mentions:me"), [f"{t} @room all hands"])
        # Left the room: mentions up to the leave only.
        r = self.bob.delete(f"/api/v1/rooms/{self.room['id']}/members/{self.bob.id}")
        self.assertEqual(r.status, 204, r)
        sent(self.alice, self.room["id"], f"{t} @room later")
        self.assertEqual(bodies(self.bob, f"{t} mentions:me"),
                         [f"{t} @room all hands", f"{t} hey @{self.bob.username}"])
        self.assertEqual(bodies(self.bob, "mentions:me is:thread"), [])

    def test_membership_non_member_and_former_member(self):
        t = self.tag
        sent(self.alice, self.room["id"], f"{t} budget draft one")
        sent(self.bob, self.room["id"], f"{t} budget draft two")
        outsider = self.api.new_user("eve")
        self.assertEqual(bodies(outsider, f"{t} budget"), [])
        self.assertEqual(bodies(outsider, f"from:@{self.alice.username}"), [])
        r = self.carol.delete(f"/api/v1/rooms/{self.room['id']}/members/{self.carol.id}")
        self.assertEqual(r.status, 204, r)
        sent(self.alice, self.room["id"], f"{t} budget final after carol left")
        self.assertEqual(bodies(self.carol, f"{t} budget"),
                         [f"{t} budget draft one", f"{t} budget draft two"])
        self.assertEqual(bodies(self.carol, f"{t} final"), [])
        self.assertEqual(len(bodies(self.bob, f"{t} budget")), 3)
        # Back in the room: all of it again.
        r = self.alice.post(f"/api/v1/rooms/{self.room['id']}/members", {"user_id": self.carol.id})
        self.assertIn(r.status, (200, 201), r)
        self.assertEqual(len(bodies(self.carol, f"{t} budget")), 3)

    def test_edits_and_deletes_change_results_at_once(self):
        t = self.tag
        a = sent(self.alice, self.room["id"], f"{t} meeting moved to tuesday")
        b = sent(self.alice, self.room["id"], f"{t} meeting notes attached")
        r = self.alice.patch(f"/api/v1/rooms/{self.room['id']}/messages/{a['id']}",
                             {"body": f"{t} meeting moved to thursday"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(bodies(self.bob, f"{t} tuesday"), [])
        self.assertEqual(bodies(self.bob, f"{t} thursday"), [f"{t} meeting moved to thursday"])
        r = self.alice.delete(f"/api/v1/rooms/{self.room['id']}/messages/{b['id']}")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(bodies(self.bob, f"{t} notes"), [])
        self.assertEqual(bodies(self.bob, f"{t} meeting"), [f"{t} meeting moved to thursday"])
        self.assertEqual(bodies(self.bob, f"from:@{self.alice.username} in:#{self.room['name']}"),
                         [f"{t} meeting moved to thursday"])

    def test_hits_carry_context_to_jump_to_the_message_and_safe_snippets(self):
        t = self.tag
        m = sent(self.bob, self.room["id"], f"{t} the <b>deploy</b> & rollback \"plan\"")
        for i in range(6):
            sent(self.alice, self.room["id"], f"{t} filler {i}")
        hits = search(self.carol, f"{t} rollback")["results"]
        self.assertEqual(len(hits), 1)
        hit = hits[0]
        self.assertEqual(hit["message"]["id"], m["id"])
        self.assertEqual(hit["message"]["seq"], m["seq"])
        self.assertEqual(hit["message"]["room_id"], self.room["id"])
        self.assertEqual(hit["room"], {"id": self.room["id"], "kind": "group",
                                       "name": self.room["name"]})
        self.assertIn("<mark>rollback</mark>", hit["snippet"])
        self.assertIn("&lt;b&gt;deploy&lt;/b&gt; &amp;", hit["snippet"])
        self.assertNotIn("<b>", hit["snippet"])
        # Jump: history around the hit holds it.
        r = self.carol.history(self.room["id"], around=hit["message"]["id"], limit=4)
        self.assertEqual(r.status, 200, r)
        self.assertIn(m["id"], [x["id"] for x in r.json["messages"]])

    def test_ranking_and_cursor_paging(self):
        t = self.tag
        ids = []
        for i in range(25):
            body = f"{t} status update {i}" + (" status status" if i % 6 == 0 else "")
            ids.append(sent(self.alice, self.room["id"], body)["id"])
        for sort in ("relevance", "recent"):
            seen, cursor, pages = [], None, 0
            while True:
                params = {"limit": 10, "sort": sort}
                if cursor:
                    params["cursor"] = cursor
                page = search(self.bob, f"{t} status", **params)
                pages += 1
                seen += [h["message"]["id"] for h in page["results"]]
                cursor = page["next"]
                if cursor is None:
                    break
                self.assertLess(pages, 5)
            self.assertEqual(pages, 3, sort)
            self.assertEqual(sorted(seen), sorted(ids), f"{sort}: every hit exactly once")
            if sort == "recent":
                self.assertEqual(seen, list(reversed(ids)))
            else:  # the five that say "status" three times come first
                top = search(self.bob, f"{t} status", limit=5)["results"]
                self.assertTrue(all("status status" in h["message"]["body"] for h in top), top)
        first = search(self.bob, f"{t} status", limit=10)
        r = search(self.bob, f"{t} status", expect=400, limit=10, sort="recent",
                   cursor=first["next"])
        assert_problem(self, r, 400, "invalid_argument")
        self.assertIn("cursor", r.json["detail"])

    def test_query_syntax_of_the_index_is_searched_as_text(self):
        t = self.tag
        sent(self.alice, self.room["id"], f"{t} near the body of water")
        for q in (f"{t} NEAR(body water)", f"{t} NEAR(the", f'{t} "hi" OR "x"', f"{t} ^near",
                  f"{t} AND OR NOT", f"{t} {{body}}:x", f"{t} '; DROP TABLE messages; --"):
            r = search(self.alice, q)
            self.assertIsInstance(r["results"], list, q)
        self.assertEqual(bodies(self.alice, f"{t} NEAR(the"), [f"{t} near the body of water"])
        self.assertEqual(bodies(self.alice, f'{t} "body of"'), [f"{t} near the body of water"])

    def test_pathological_queries_get_a_clear_400(self):
        u = self.alice
        cases = {
            '"unbalanced phrase': "unbalanced quote",
            'word"': "unbalanced quote",
            " ".join("x" for _ in range(3000)): "longer than",
            " ".join(f"w{i}" for i in range(40)): "too many terms",
            "x" * 513: "longer than",
            "*": "prefix",
            "a*": "prefix",
            "body:secret": "unknown operator body:",
            "-from:@x y": "cannot be negated",
            "has:cats": "has: takes",
            "has:files": "has: takes",
            "is:threads": "is: takes",
            "mentions:bob": "mentions: takes",
            "mentions:": "needs a value",
            "-has:file x": "cannot be negated",
            "-mentions:me x": "cannot be negated",
            "before:2026-02-30": "expects a date",
            "after:2026-02-01 before:2026-02-01": "no time",
            "": "nothing to search for",
            "&& ( )": "nothing to search for",
            "-alone": "-exclusions need",
            "bad\x01control": "control",
        }
        for q, why in cases.items():
            r = search(u, q, expect=400)
            assert_problem(self, r, 400, "invalid_argument")
            self.assertIn(why, r.json["detail"], q[:60])
        bad_params = [
            ("/api/v1/search", "q: required"),
            ("/api/v1/search?q=x&sort=best", "sort"),
            ("/api/v1/search?q=x&limit=0", "limit"),
            ("/api/v1/search?q=x&limit=51", "limit"),
            ("/api/v1/search?q=x&cursor=%21%21", "cursor"),
            ("/api/v1/search?q=x&tz_offset=900", "tz_offset"),
            ("/api/v1/search?q=%FF%FE", "UTF-8"),
        ]
        # Thousands of distinct terms do not even fit the request line (16 KiB with headers).
        huge = urllib.parse.quote(" ".join(f"w{i}" for i in range(3000)))
        bad_params.append((f"/api/v1/search?q={huge}", "malformed HTTP request"))
        for path, why in bad_params:
            r = u.get(path)
            assert_problem(self, r, 400, "invalid_argument")
            self.assertIn(why, r.json["detail"], path)
        r = self.api.get("/api/v1/search?q=x")
        assert_problem(self, r, 401, "unauthorized")


class SearchRateLimitTest(ServerTestCase):
    server_flags = ["--search.per_minute=1", "--search.burst=3"]

    def test_a_flood_of_searches_is_rate_limited_per_user(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        for _ in range(3):
            search(alice, "anything")
        r = search(alice, "anything", expect=429)
        assert_problem(self, r, 429, "rate_limited")
        self.assertGreaterEqual(int(r.header("retry-after")), 1)
        search(bob, "anything")  # another user's budget is untouched


if __name__ == "__main__":
    main()
