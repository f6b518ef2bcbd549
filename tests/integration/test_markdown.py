"""Message markup and mentions (docs/protocol.md, "Message markup", "Mentions"): the server
renders every body to safe HTML, keeps the source, re-renders on edit; a hostile corpus never
yields a script, an event handler or a dangerous URL, and bombs are bounded; @username is
resolved (unknown names stay text); @room/@here follow role and room size; unread mention
counts are right across two devices of one user and two other users."""

import asyncio
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parley_harness import AsyncServerTestCase, GatewayClient, main  # noqa: E402

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "render",
                      "testdata", "hostile_corpus.json")
MAX_BODY = 16384

ALLOWED_TAGS = {"p", "br", "em", "strong", "del", "a", "code", "pre", "blockquote", "ul", "ol",
                "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr",
                "th", "td", "span"}
ALLOWED_ATTRS = {"href", "title", "class", "data-user-id", "data-mention", "start", "align"}
TAG = re.compile(r"<(/?)([a-zA-Z0-9]+)([^>]*)>")
ATTR = re.compile(r'\s+([^\s=]+)(?:="([^"]*)")?')


def corpus():
    with open(CORPUS, encoding="utf-8") as f:
        doc = json.load(f)
    for e in doc["entries"]:
        if "body" in e:
            yield e["name"], e["body"], False
            continue
        body = e.get("prefix", "") + e["unit"] * e["times"] + e.get("suffix", "")
        raw = body.encode("utf-8")[:MAX_BODY]
        yield e["name"], raw.decode("utf-8", errors="ignore"), True


def unsafe(html):
    """What is wrong with rendered HTML, or None. Every '<' in it opens a tag the server wrote
    (text '<' is always &lt;), so checking the tags checks everything."""
    if "<" in TAG.sub("", html):
        return "a '<' outside a well-formed tag"
    for closing, name, rest in TAG.findall(html):
        if name.lower() not in ALLOWED_TAGS:
            return f"tag <{name}>"
        rest = rest.rstrip("/")
        if closing and rest.strip():
            return f"attributes on </{name}>"
        leftover = ATTR.sub("", rest)
        if leftover.strip():
            return f"unparsed attribute text {leftover!r} in <{name}>"
        for attr, value in ATTR.findall(rest):
            if attr.lower() not in ALLOWED_ATTRS:
                return f"attribute {attr} on <{name}>"
            if attr == "href" and not value.startswith(("http://", "https://", "mailto:")):
                return f"href {value!r}"
    low = html.lower()
    if "<script" in low:
        return "<script"
    outside_values = re.sub(r'"[^"]*"', '""', low)
    if re.search(r"<[^>]*\son[a-z]+\s*=", outside_values):
        return "on*= attribute"
    if re.search(r'href="\s*(javascript|vbscript|data|file):', low):
        return "dangerous href"
    if any(ord(ch) < 0x20 and ch not in "\n\t" for ch in html):
        return "control character"
    return None


class MarkdownBase(AsyncServerTestCase):
    server_flags = ["--gateway.frames_per_second=500", "--gateway.burst_frames=500",
                    "--chat.mention_all_min_members=4"]

    async def asyncSetUp(self):
        self.clients = []

    async def asyncTearDown(self):
        for c in self.clients:
            await c.close()

    async def gw(self, token, name):
        c = GatewayClient(self.server, name)
        self.clients.append(c)
        await c.connect()
        await c.identify(token)
        return c

    def summary(self, user, room_id):
        r = user.get("/api/v1/rooms")
        self.assertEqual(r.status, 200, r)
        for s in r.json["rooms"]:
            if s["room"]["id"] == room_id:
                return s
        self.fail(f"room {room_id} not in the room list")

    def send_ok(self, user, room_id, body):
        r = user.send(room_id, body)
        self.assertEqual(r.status, 201, r)
        return r.json["message"]


class RenderingTest(MarkdownBase):

    async def test_ordinary_markdown_is_rendered_and_the_source_kept(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        room = alice.create_room(members=[bob])
        rid = room["id"]
        b = await self.gw(bob.token, "bob")
        body = ("**bold** and *em*, ~~gone~~, `x < y`\nsee [docs](https://example.com/a?b=1&c=2) "
                ":tada:\n\n- one\n- two\n\n> quoted\n\n```\nint x;\n```")
        m = self.send_ok(alice, rid, body)
        want = ("<p><strong>bold</strong> and <em>em</em>, <del>gone</del>, <code>x &lt; y</code>"
                "<br />\nsee <a href=\"https://example.com/a?b=1&amp;c=2\">docs</a> \U0001F389</p>\n"
                "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
                "<blockquote>\n<p>quoted</p>\n</blockquote>\n"
                "<pre><code>int x;\n</code></pre>\n")
        self.assertEqual(m["body"], body)
        self.assertEqual(m["html"], want)
        self.assertEqual(m["mentions"], {"user_ids": [], "room": False, "here": False})
        # The same in history, in the room event, and live on the gateway.
        hist = bob.all_messages(rid)
        self.assertEqual(hist[-1]["html"], want)
        self.assertEqual(hist[-1]["body"], body)
        ev = bob.all_events(rid)[-1]
        self.assertEqual(ev["message"]["html"], want)
        f = await b.wait_for(lambda f: f.get("op") == "message.created"
                             and f["d"]["message"]["id"] == m["id"], what="message.created")
        self.assertEqual(f["d"]["message"]["html"], want)
        # Over the gateway too.
        g = await b.send_acked(rid, "hi *there* :+1:")
        self.assertIsNotNone(g)
        last = bob.all_messages(rid)[-1]
        self.assertEqual(last["html"], "<p>hi <em>there</em> \U0001F44D\uFE0F</p>\n")

    async def test_raw_html_is_text_and_unsafe_links_lose_their_href(self):
        alice = self.api.new_user("alice")
        room = alice.create_room()
        rid = room["id"]
        m = self.send_ok(alice, rid, "<b>hi</b> [x](javascript:alert(1)) ![i](https://e.example/i.png)")
        self.assertEqual(m["html"], "<p>&lt;b&gt;hi&lt;/b&gt; x "
                                    "<a href=\"https://e.example/i.png\">i</a></p>\n")

    async def test_editing_re_renders(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        room = alice.create_room(members=[bob])
        rid = room["id"]
        b = await self.gw(bob.token, "bob")
        m = self.send_ok(alice, rid, "plain words")
        self.assertEqual(m["html"], "<p>plain words</p>\n")
        r = alice.patch(f"/api/v1/rooms/{rid}/messages/{m['id']}",
                        {"body": f"**now bold** for @{bob.username}"})
        self.assertEqual(r.status, 200, r)
        span = f'<span class="mention" data-user-id="{bob.id}">@{bob.username}</span>'
        want = f"<p><strong>now bold</strong> for {span}</p>\n"
        self.assertEqual(r.json["message"]["html"], want)
        self.assertEqual(r.json["message"]["mentions"]["user_ids"], [bob.id])
        f = await b.wait_for(lambda f: f.get("op") == "message.updated"
                             and f["d"]["message"]["id"] == m["id"], what="message.updated")
        self.assertEqual(f["d"]["message"]["html"], want)
        self.assertEqual(f["d"]["message"]["body"], f"**now bold** for @{bob.username}")
        self.assertEqual(bob.all_messages(rid)[-1]["html"], want)
        # Deleting clears it.
        r = alice.delete(f"/api/v1/rooms/{rid}/messages/{m['id']}")
        self.assertEqual(r.status, 204, r)
        gone = bob.all_messages(rid)[-1]
        self.assertEqual((gone["body"], gone["html"], gone["mentions"]["user_ids"]), ("", "", []))


class HostileCorpusTest(MarkdownBase):

    def test_the_checker_catches_what_it_must(self):
        self.assertIsNone(unsafe('<p><a href="https://x.example" title="a &quot;b">x</a></p>'))
        for bad in ('<script>x</script>', '<p onclick="x">', '<a href="javascript:x">',
                    '<img src="x">', '<a href="data:text/html,x">', '<p>\x01</p>',
                    '<a href=x>', '<p>a < b</p>', '<span style="x">'):
            self.assertIsNotNone(unsafe(bad), bad)

    async def test_hostile_inputs_render_safely_and_bombs_are_bounded(self):
        alice = self.api.new_user("alice")
        room = alice.create_room()
        rid = room["id"]
        slowest = (0.0, "")
        results = {}
        for name, body, bomb in corpus():
            t0 = time.monotonic()
            r = alice.send(rid, body)
            took = time.monotonic() - t0
            slowest = max(slowest, (took, name))
            self.assertEqual(r.status, 201, f"{name}: {r}")
            html = r.json["message"]["html"]
            self.assertIsNone(unsafe(html), f"{name}: {unsafe(html)}\n{html[:300]}")
            # Bounded output: 96 KiB before mentions are filled in, plus their spans.
            self.assertLess(len(html.encode()), 96 * 1024 + 200 * 80, name)
            results[name] = html
        # A bomb is bounded with a documented result; the server stayed quick throughout.
        self.assertLess(slowest[0], 2.0, f"slowest send: {slowest}")
        self.assertEqual(results["deep blockquote"][:15], "<p>&gt;&gt;&gt;",
                         "over the nesting bound: plain text")
        self.assertFalse("<table>" in results["huge table"], "huge table: stays text")
        self.assertFalse("<table>" in results["wide table"], "wide table: stays text")
        self.assertTrue("<table>" in results["many small tables"], "100 small tables render")
        self.assertFalse("<table>" in results["too many small tables"], "over 2,000 cells in all")
        self.assertEqual(results["image bracket bomb"][:9], "<p>![[]()",
                         "quadratic image brackets: plain text")
        for name in ("script tag", "img onerror", "svg onload"):
            self.assertTrue("&lt;" in results[name], f"{name}: raw HTML is shown as text")
        # Every link form with a hostile URL kept its text and lost its link.
        for name, html in results.items():
            if any(k in name for k in ("javascript", "vbscript", "data:")):
                self.assertFalse("href" in html, f"{name}: {html[:200]}")
        # Stored as rendered.
        hist = alice.all_messages(rid)
        self.assertEqual(len(hist), len(results))
        for m, (name, html) in zip(hist, results.items()):
            self.assertTrue(m["html"] == html, f"{name}: history differs from the send reply")


class MentionTest(MarkdownBase):

    async def test_unknown_user_stays_text(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        room = alice.create_room(members=[bob])
        m = self.send_ok(alice, room["id"], f"@nosuchuser1 and @{bob.username.upper()}, "
                                            f"mail {bob.username}@example.com, `@{bob.username}`")
        self.assertEqual(m["mentions"]["user_ids"], [bob.id])
        self.assertTrue(m["html"].startswith("<p>@nosuchuser1 and <span class=\"mention\" "
                                             f"data-user-id=\"{bob.id}\">@{bob.username.upper()}"
                                             "</span>, mail "), m["html"])
        self.assertIn(f"<code>@{bob.username}</code>", m["html"])
        self.assertEqual(self.summary(bob, room["id"])["unread_mentions"], 1)

    async def test_room_and_here_follow_role_and_room_size(self):
        owner = self.api.new_user("owner")
        bob, carol, dave = (self.api.new_user(p) for p in ("bob", "carol", "dave"))
        small = owner.create_room(members=[bob, carol])  # 3 < 4: anyone
        large = owner.create_room(members=[bob, carol, dave])  # 4: owners and moderators
        m = self.send_ok(bob, small["id"], "@room lunch?")
        self.assertTrue(m["mentions"]["room"])
        self.assertIn('<span class="mention" data-mention="room">@room</span>', m["html"])

        r = bob.send(large["id"], "@here lunch?")
        self.assertEqual((r.status, r.json["code"]), (403, "mention_not_allowed"), r)
        self.assertEqual(bob.all_messages(large["id"]), [], "nothing stored")
        b = await self.gw(bob.token, "bob")
        fid = await b.request("send", {"room_id": large["id"], "client_txn_id": "t-here",
                                       "body": "@room please"})
        err = await b.wait_reply(fid)
        self.assertEqual((err["op"], err["d"]["code"]), ("error", "mention_not_allowed"), err)
        # Code is not a mention; the owner may.
        self.send_ok(bob, large["id"], "type `@room` to ping everyone")
        m = self.send_ok(owner, large["id"], "@here lunch?")
        self.assertTrue(m["mentions"]["here"])
        # An edit cannot sneak it in either.
        mine = bob.all_messages(large["id"])[0]
        r = bob.patch(f"/api/v1/rooms/{large['id']}/messages/{mine['id']}", {"body": "@room!"})
        self.assertEqual((r.status, r.json["code"]), (403, "mention_not_allowed"), r)
        self.assertEqual(bob.all_messages(large["id"])[0]["body"], "type `@room` to ping everyone")

    async def test_mention_counts_across_devices_and_users(self):
        alice = self.api.new_user("alice")
        bob = self.api.new_user("bob")
        carol = self.api.new_user("carol")
        room = bob.create_room(members=[alice, carol])
        rid = room["id"]
        a1 = await self.gw(alice.tokens[0], "alice-laptop")
        a2 = await self.gw(alice.login(device="phone"), "alice-phone")
        sent = [self.send_ok(bob, rid, f"@{alice.username} look"),
                self.send_ok(bob, rid, "no mention"),
                self.send_ok(bob, rid, f"@room and @{alice.username} again"),  # counts once
                self.send_ok(carol, rid, f"thanks @{bob.username}."),
                self.send_ok(alice, rid, f"@{alice.username} notes to self")]  # own: not counted
        last = sent[-1]["seq"]
        await a2.wait_room_seq(rid, last)
        self.assertEqual(self.summary(alice, rid)["unread_mentions"], 2)
        self.assertEqual(self.summary(bob, rid)["unread_mentions"], 1)   # carol's
        self.assertEqual(self.summary(carol, rid)["unread_mentions"], 1)  # @room

        # `ready` carries the count too.
        a3 = await self.gw(alice.tokens[0], "alice-tablet")
        ready = next(f for f in a3.frames if f.get("op") == "ready")
        snap = next(s for s in ready["d"]["rooms"] if s["room"]["id"] == rid)
        self.assertEqual(snap["unread_mentions"], 2)

        # Reading on the laptop past the first mention: the phone's badge follows.
        fid = await a1.request("read", {"room_id": rid, "seq": sent[1]["seq"]})
        ok = await a1.wait_reply(fid)
        self.assertEqual(ok["op"], "ok", ok)
        self.assertEqual(ok["d"]["unread_mentions"], 1)
        upd = await a2.wait_for(lambda f: f.get("op") == "read.updated"
                                and f["d"]["room_id"] == rid
                                and f["d"]["last_read_seq"] == sent[1]["seq"], what="read.updated")
        self.assertEqual(upd["d"]["unread_mentions"], 1)
        self.assertEqual(self.summary(alice, rid)["unread_mentions"], 1)

        # An edit that removes the mention removes it from the count; one that adds it, adds.
        r = bob.patch(f"/api/v1/rooms/{rid}/messages/{sent[2]['id']}", {"body": "never mind"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.summary(alice, rid)["unread_mentions"], 0)
        self.assertEqual(self.summary(carol, rid)["unread_mentions"], 0)
        r = bob.patch(f"/api/v1/rooms/{rid}/messages/{sent[2]['id']}",
                      {"body": f"actually @{carol.username}"})
        self.assertEqual(self.summary(carol, rid)["unread_mentions"], 1)

        # Mark read on the phone over REST: the laptop hears zero; other users are unaffected.
        mark = len(a1.frames)
        r = alice.post(f"/api/v1/rooms/{rid}/read", {})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["read"]["unread_mentions"], 0)
        upd = await a1.wait_for(lambda f: f.get("op") == "read.updated"
                                and f["d"]["room_id"] == rid and f["d"]["unread"] == 0,
                                since=mark, what="read.updated")
        self.assertEqual(upd["d"]["unread_mentions"], 0)
        self.assertEqual(self.summary(bob, rid)["unread_mentions"], 1)
        self.assertEqual(self.summary(carol, rid)["unread_mentions"], 1)


if __name__ == "__main__":
    main()
