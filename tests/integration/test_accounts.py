"""Accounts, sessions and authentication against the real server (docs/protocol.md:
"Authentication", "Accounts and sessions", "Errors")."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parley_harness import (  # noqa: E402
    PASSWORD, AsyncServerTestCase, GatewayClient, Http, Server, assert_over_limit, assert_problem,
    gateway, main, unique)

import unittest  # noqa: E402


def cookie_from(r):
    """The parley_session cookie value set by a response, or None."""
    for value in r.all("set-cookie"):
        first = value.split(";", 1)[0].strip()
        if first.startswith("parley_session="):
            return first[len("parley_session="):]
    return None


def set_cookie_header(r):
    for value in r.all("set-cookie"):
        if value.strip().startswith("parley_session="):
            return value
    return None


class AccountsTest(AsyncServerTestCase):

    def test_register_login_me_logout(self):
        name = unique("Reg")
        r = self.api.register(name, email=f"{name.lower()}@example.com", display_name="Reg User")
        self.assertEqual(r.status, 201, r)
        user = r.json["user"]
        self.assertIsInstance(user["id"], str)
        self.assertTrue(user["id"].isdigit(), user)
        self.assertEqual(user["username"], name.lower(), "usernames are normalised to lower case")
        self.assertEqual(user["display_name"], "Reg User")
        self.assertEqual(user["role"], "user")
        self.assertEqual(user["status"], "active")
        self.assertIsInstance(user["created_at"], int)

        # Login with a differently-cased username works (normalised).
        r = self.api.login(name.upper(), device="itest")
        self.assertEqual(r.status, 200, r)
        token = r.json["token"]
        self.assertGreaterEqual(len(token), 43, "256-bit token, base64url")
        self.assertTrue(all(c.isalnum() or c in "-_" for c in token), token)
        self.assertIsInstance(r.json["session_id"], str)
        self.assertIsInstance(r.json["expires_at"], int)
        self.assertGreater(r.json["expires_at"], int(time.time() * 1000))
        self.assertEqual(r.json["user"]["id"], user["id"])
        cookie = set_cookie_header(r)
        self.assertIsNotNone(cookie, f"login sets parley_session: {r.all('set-cookie')}")
        lowered = cookie.lower()
        self.assertIn("httponly", lowered)
        self.assertIn("samesite=lax", lowered)
        self.assertIn("path=/", lowered)
        self.assertNotIn("secure", lowered.replace("samesite", ""), "not Secure over plain HTTP")

        me = self.api.get("/api/v1/users/me", token=token)
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json["user"]["id"], user["id"])
        self.assertEqual(me.json["user"]["email"], f"{name.lower()}@example.com",
                         "/users/me includes the email")

        other = self.api.new_user()
        seen = other.get(f"/api/v1/users/{user['id']}")
        self.assertEqual(seen.status, 200, seen)
        self.assertNotIn("email", seen.json["user"], "email is only shown to the user and admins")

        out = self.api.post("/api/v1/auth/logout", token=token)
        self.assertEqual(out.status, 204, out)
        cleared = set_cookie_header(out)
        self.assertIsNotNone(cleared, "logout clears the cookie")
        self.assertTrue(cookie_from(out) == "" or "max-age=0" in cleared.lower()
                        or "1970" in cleared, cleared)
        again = self.api.get("/api/v1/users/me", token=token)
        assert_problem(self, again, 401, "unauthorized")

    def test_patch_me(self):
        u = self.api.new_user()
        r = u.patch("/api/v1/users/me", {"display_name": "Renamed ✓"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["user"]["display_name"], "Renamed ✓")
        self.assertEqual(u.get("/api/v1/users/me").json["user"]["display_name"], "Renamed ✓")
        bad = u.patch("/api/v1/users/me", {"display_name": "x" * 65})
        self.assertIn(bad.status, (400, 413), bad)
        self.assertEqual(u.get("/api/v1/users/me").json["user"]["display_name"], "Renamed ✓")

    def test_user_search(self):
        prefix = unique("zq")
        users = [self.api.register(f"{prefix}{i}") for i in range(3)]
        for r in users:
            self.assertEqual(r.status, 201, r)
        me = self.api.new_user()
        r = me.get(f"/api/v1/users?q={prefix}&limit=2")
        self.assertEqual(r.status, 200, r)
        first = [u["username"] for u in r.json["users"]]
        self.assertEqual(len(first), 2, r)
        self.assertIsNotNone(r.json["next"])
        r2 = me.get(f"/api/v1/users?q={prefix}&limit=2&after={r.json['next']}")
        self.assertEqual(r2.status, 200, r2)
        rest = [u["username"] for u in r2.json["users"]]
        self.assertEqual(sorted(first + rest), sorted(f"{prefix}{i}" for i in range(3)))

    def test_wrong_password_and_unknown_user_look_the_same(self):
        u = self.api.new_user()
        wrong = self.api.login(u.username, "not the password")
        unknown = self.api.login(unique("nobody"), "not the password")
        assert_problem(self, wrong, 401, "unauthorized")
        assert_problem(self, unknown, 401, "unauthorized")
        self.assertEqual(wrong.json["detail"], unknown.json["detail"])
        self.assertEqual(wrong.json["title"], unknown.json["title"])

    def test_duplicate_username_409(self):
        name = unique("dup")
        self.assertEqual(self.api.register(name).status, 201)
        r = self.api.register(name)
        assert_problem(self, r, 409, "conflict")
        r = self.api.register(name.upper())
        assert_problem(self, r, 409, "conflict")

    def test_bad_usernames_and_passwords_400(self):
        assert_over_limit(self, self.api.register("x" * 33))
        bad_names = ["a", "-abc", ".abc", "_abc", "ab cd", "ab!c", "ümlaut", "ab/c", ""]
        for name in bad_names:
            with self.subTest(username=name):
                assert_problem(self, self.api.register(name), 400, "invalid_argument")
        good = unique("pw")
        for pw in ["short", "1234567"]:
            with self.subTest(password_len=len(pw)):
                assert_problem(self, self.api.register(good, password=pw), 400,
                               "invalid_argument")
        assert_over_limit(self, self.api.register(good, password="p" * 257))
        assert_problem(self, self.api.post("/api/v1/auth/register", {"username": good}), 400,
                       "invalid_argument")
        assert_problem(self, self.api.post("/api/v1/auth/register",
                                           {"username": good, "password": 12345678}), 400,
                       "invalid_argument")
        # None of the attempts created the account: the name is still free.
        self.assertEqual(self.api.register(good, password="p" * 8).status, 201)
        self.assertEqual(self.api.register(unique("p"), password="p" * 256).status, 201)
        self.assertEqual(self.api.register("9" + unique("x")).status, 201,
                         "usernames may start with a digit")

    async def test_sessions_list_and_revoke(self):
        u = self.api.new_user()
        first = u.token
        first_sid = u.session_id
        second = u.login(device="phone")
        second_sid = u.session_id

        r = self.api.get("/api/v1/auth/sessions", token=first)
        self.assertEqual(r.status, 200, r)
        sessions = r.json["sessions"]
        ids = {s["id"] for s in sessions}
        self.assertEqual(ids, {first_sid, second_sid})
        current = [s for s in sessions if s["current"]]
        self.assertEqual([s["id"] for s in current], [first_sid])
        phone = next(s for s in sessions if s["id"] == second_sid)
        self.assertEqual(phone["device"], "phone")
        for s in sessions:
            for field in ("created_at", "last_used", "expires_at"):
                self.assertIsInstance(s[field], int, s)

        gw = await gateway(self.server, second, "phone")
        try:
            r = self.api.delete(f"/api/v1/auth/sessions/{second_sid}", token=first)
            self.assertEqual(r.status, 204, r)
            assert_problem(self, self.api.get("/api/v1/users/me", token=second), 401,
                           "unauthorized")
            self.assertEqual(self.api.get("/api/v1/users/me", token=first).status, 200)
            self.assertEqual(await gw.wait_closed(5), 4500, "revoked session's gateway closes 4500")
        finally:
            await gw.close()

        # Someone else's session is "not found".
        other = self.api.new_user()
        r = self.api.delete(f"/api/v1/auth/sessions/{other.session_id}", token=first)
        assert_problem(self, r, 404, "not_found")
        self.assertEqual(other.get("/api/v1/users/me").status, 200, "other's session survives")

    async def test_password_change_ends_other_sessions(self):
        u = self.api.new_user()
        keeper = u.token
        victim = u.login(device="old-laptop")
        gw = await gateway(self.server, victim, "victim")
        keeper_gw = await gateway(self.server, keeper, "keeper")
        try:
            bad = self.api.post("/api/v1/auth/password",
                                {"old_password": "wrong password", "new_password": "n" * 12},
                                token=keeper)
            assert_problem(self, bad, 403, "forbidden")
            self.assertEqual(self.api.get("/api/v1/users/me", token=victim).status, 200)

            new_pw = "a brand new password"
            r = self.api.post("/api/v1/auth/password",
                              {"old_password": PASSWORD, "new_password": new_pw}, token=keeper)
            self.assertEqual(r.status, 204, r)
            assert_problem(self, self.api.get("/api/v1/users/me", token=victim), 401,
                           "unauthorized")
            self.assertEqual(self.api.get("/api/v1/users/me", token=keeper).status, 200,
                             "the session that changed the password survives")
            self.assertEqual(await gw.wait_closed(5), 4500)
            self.assertFalse(keeper_gw.closed, "the current session's gateway stays open")
            assert_problem(self, self.api.login(u.username, PASSWORD), 401, "unauthorized")
            self.assertEqual(self.api.login(u.username, new_pw).status, 200)
        finally:
            await gw.close()
            await keeper_gw.close()

    async def test_logout_closes_gateway_4500(self):
        u = self.api.new_user()
        gw = await gateway(self.server, u.token, "logout")
        try:
            self.assertEqual(u.post("/api/v1/auth/logout").status, 204)
            self.assertEqual(await gw.wait_closed(5), 4500)
        finally:
            await gw.close()

    def test_security_headers_and_request_id(self):
        u = self.api.new_user()
        responses = {
            "ok": u.get("/api/v1/users/me"),
            "error": self.api.get("/api/v1/users/me"),
            "livez": self.api.get("/livez"),
            "not found": self.api.get("/api/v1/no/such/route"),
        }
        for what, r in responses.items():
            with self.subTest(response=what):
                self.assertEqual(r.header("x-content-type-options"), "nosniff", r.headers)
                self.assertIsNotNone(r.header("x-frame-options"), r.headers)
                self.assertIsNotNone(r.header("referrer-policy"), r.headers)
                self.assertIsNotNone(r.header("content-security-policy"), r.headers)
                rid = r.header("x-request-id")
                self.assertTrue(rid, f"X-Request-Id on every response: {r.headers}")
        self.assertNotEqual(responses["ok"].header("x-request-id"),
                            responses["error"].header("x-request-id"))
        self.assertEqual(responses["ok"].header("cache-control"), "no-store")
        # A sane client id is echoed, in the header and in problem bodies.
        r = self.api.get("/api/v1/users/me", headers={"X-Request-Id": "itest-req.42_A"})
        self.assertEqual(r.header("x-request-id"), "itest-req.42_A")
        self.assertEqual(r.json["request_id"], "itest-req.42_A")
        # An insane one is replaced.
        r = self.api.get("/api/v1/users/me", headers={"X-Request-Id": "x" * 300})
        self.assertTrue(r.header("x-request-id"))
        self.assertNotEqual(r.header("x-request-id"), "x" * 300)
        self.assertEqual(r.json["request_id"], r.header("x-request-id"))

    def test_problem_json_shape(self):
        u = self.api.new_user()
        r = u.get("/api/v1/rooms/123456789")
        assert_problem(self, r, 404, "not_found")
        self.assertEqual(r.json["title"], "Not Found")
        self.assertIsInstance(r.json.get("detail"), str)
        self.assertEqual(r.json["request_id"], r.header("x-request-id"))

    async def test_cookie_login_and_csrf(self):
        u = self.api.new_user()
        r = self.api.login(u.username)
        self.assertEqual(r.status, 200, r)
        cookie = cookie_from(r)
        self.assertTrue(cookie)
        jar = {"Cookie": f"parley_session={cookie}"}

        me = self.api.get("/api/v1/users/me", headers=jar)
        self.assertEqual(me.status, 200, "cookie authenticates reads")

        body = {"name": unique("csrf-")}
        r = self.api.post("/api/v1/rooms", body, headers=jar)
        assert_problem(self, r, 403, "forbidden")
        r = self.api.post("/api/v1/rooms", body,
                          headers={**jar, "Origin": "http://evil.example"})
        assert_problem(self, r, 403, "forbidden")
        r = self.api.post("/api/v1/rooms", body,
                          headers={**jar, "Sec-Fetch-Site": "cross-site"})
        assert_problem(self, r, 403, "forbidden")
        rooms = self.api.get("/api/v1/rooms", headers=jar).json["rooms"]
        self.assertEqual([s for s in rooms if s["room"]["name"] == body["name"]], [],
                         "refused requests changed nothing")

        r = self.api.post("/api/v1/rooms", body, headers={**jar, "Origin": self.server.origin})
        self.assertEqual(r.status, 201, r)
        r = self.api.post("/api/v1/rooms", {"name": unique("csrf-")},
                          headers={**jar, "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(r.status, 201, r)
        # Bearer tokens are not subject to the Origin check.
        r = self.api.post("/api/v1/rooms", {"name": unique("csrf-")}, token=u.token)
        self.assertEqual(r.status, 201, r)
        # Cookie + Origin but not JSON: 400 invalid_argument (no simple-request mutation).
        r = self.api.request("POST", "/api/v1/rooms", raw=b'{"name": "form"}',
                             headers={**jar, "Origin": self.server.origin,
                                      "Content-Type": "text/plain"})
        assert_problem(self, r, 400, "invalid_argument")
        # Deleting via cookie without Origin is refused too.
        r = self.api.post("/api/v1/auth/logout", headers=jar)
        assert_problem(self, r, 403, "forbidden")
        self.assertEqual(self.api.get("/api/v1/users/me", headers=jar).status, 200)

        # The gateway accepts the cookie from the upgrade request: identify without a token.
        gw = GatewayClient(self.server, "cookie")
        try:
            await gw.connect(headers={"Cookie": f"parley_session={cookie}",
                                      "Origin": self.server.origin})
            ready = await gw.identify(None)
            self.assertEqual(ready["d"]["user"]["id"], u.id)
        finally:
            await gw.close()
        # A cross-site upgrade is accepted but the cookie does not count: identify needs a token.
        gw = GatewayClient(self.server, "cross-site")
        try:
            await gw.connect(headers={"Cookie": f"parley_session={cookie}",
                                      "Origin": "http://evil.example"})
            await gw.request("identify", {"protocol": 1})
            self.assertEqual(await gw.wait_closed(5), 4004)
        finally:
            await gw.close()
        gw = GatewayClient(self.server, "cross-site-token")
        try:
            await gw.connect(headers={"Origin": "http://evil.example"})
            ready = await gw.identify(u.token)
            self.assertEqual(ready["d"]["user"]["id"], u.id)
        finally:
            await gw.close()

    def test_expired_session_is_401(self):
        server = Server(["--auth.absolute_ttl_ms=1500"]).start()
        try:
            api = server.http()
            u = api.new_user()
            self.assertEqual(u.get("/api/v1/users/me").status, 200)
            time.sleep(2.0)
            assert_problem(self, u.get("/api/v1/users/me"), 401, "unauthorized")
        finally:
            server.stop()

    def test_garbage_and_missing_tokens_are_401(self):
        for headers in ({"Authorization": "Bearer not-a-real-token"},
                        {"Authorization": "Bearer "},
                        {"Authorization": "Basic dXNlcjpwYXNz"},
                        {"Cookie": "parley_session=garbage"},
                        {}):
            with self.subTest(headers=headers):
                assert_problem(self, self.api.get("/api/v1/users/me", headers=headers), 401,
                               "unauthorized")


class AdminAndClosedRegistrationTest(AsyncServerTestCase):
    server_flags = ["--auth.registration=closed"]

    def test_registration_closed_403(self):
        r = self.api.register(unique("closed"))
        assert_problem(self, r, 403, "forbidden")

    async def test_admin_cli_create_and_deactivate(self):
        name = unique("cli")
        done = self.server.admin("create-user", name, password="cli password 1")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn("cli password 1", done.stdout + done.stderr, "no passwords in output")
        admin_name = unique("boss")
        done = self.server.admin("create-user", admin_name, "--admin", password="cli password 2")
        self.assertEqual(done.returncode, 0, done.stderr)
        dup = self.server.admin("create-user", name, password="cli password 1")
        self.assertNotEqual(dup.returncode, 0, "a taken username fails")

        api = self.api
        r = api.login(name, "cli password 1")
        self.assertEqual(r.status, 200, r)
        token = r.json["token"]
        self.assertEqual(r.json["user"]["role"], "user")
        r2 = api.login(admin_name, "cli password 2")
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(r2.json["user"]["role"], "admin")
        # Admins see emails of others; plain users do not (checked in AccountsTest).

        gw = await gateway(self.server, token, "deactivated")
        try:
            done = self.server.admin("deactivate", name)
            self.assertEqual(done.returncode, 0, done.stderr)
            assert_problem(self, api.get("/api/v1/users/me", token=token), 401, "unauthorized")
            assert_problem(self, api.login(name, "cli password 1"), 401, "unauthorized")
            self.assertEqual(await gw.wait_closed(10), 4501,
                             "a deactivated user's gateway closes with 4501")
        finally:
            await gw.close()
        self.assertEqual(api.get("/api/v1/users/me", token=r2.json["token"]).status, 200)

    async def test_admin_routes(self):
        boss, pw = unique("admin"), "boss password"
        self.assertEqual(self.server.admin("create-user", boss, "--admin", password=pw).returncode, 0)
        plain, ppw = unique("plain"), "plain password"
        self.assertEqual(self.server.admin("create-user", plain, password=ppw).returncode, 0)
        admin_token = self.api.login(boss, pw).json["token"]
        plain_login = self.api.login(plain, ppw).json
        plain_token, plain_id = plain_login["token"], plain_login["user"]["id"]

        # Non-admins get 403 on every admin route.
        assert_problem(self, self.api.get("/api/v1/admin/users", token=plain_token), 403,
                       "forbidden")
        assert_problem(self, self.api.post("/api/v1/admin/users",
                                           {"username": unique("x"), "password": "p" * 10},
                                           token=plain_token), 403, "forbidden")
        assert_problem(self, self.api.patch(f"/api/v1/admin/users/{plain_id}", {"role": "admin"},
                                            token=plain_token), 403, "forbidden")

        # Admins create users even though registration is closed.
        name = unique("made")
        r = self.api.post("/api/v1/admin/users", {"username": name, "password": "made password",
                                                  "email": f"{name}@example.com"},
                          token=admin_token)
        self.assertEqual(r.status, 201, r)
        made = r.json["user"]
        self.assertEqual(made["email"], f"{name}@example.com")
        self.assertEqual(self.api.login(name, "made password").status, 200)
        dup = self.api.post("/api/v1/admin/users", {"username": name, "password": "p" * 10},
                            token=admin_token)
        assert_problem(self, dup, 409, "conflict")
        seen = self.api.get(f"/api/v1/users/{made['id']}", token=admin_token)
        self.assertEqual(seen.json["user"].get("email"), f"{name}@example.com",
                         "admins see emails")

        # Deactivation over REST: 401 and gateway 4501 at once; listed as deactivated.
        gw = await gateway(self.server, plain_token, "plain")
        try:
            r = self.api.patch(f"/api/v1/admin/users/{plain_id}", {"status": "deactivated"},
                               token=admin_token)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["user"]["status"], "deactivated")
            assert_problem(self, self.api.get("/api/v1/users/me", token=plain_token), 401,
                           "unauthorized")
            self.assertEqual(await gw.wait_closed(5), 4501)
        finally:
            await gw.close()
        assert_problem(self, self.api.login(plain, ppw), 401, "unauthorized")
        r = self.api.get(f"/api/v1/admin/users?q={plain}", token=admin_token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([(u["username"], u["status"]) for u in r.json["users"]],
                         [(plain, "deactivated")])
        r = self.api.patch(f"/api/v1/admin/users/{plain_id}", {"status": "active"},
                           token=admin_token)
        assert_problem(self, r, 400, "invalid_argument")
        # Deactivated users drop out of the normal user search.
        r = self.api.get(f"/api/v1/users?q={plain}", token=admin_token)
        self.assertEqual(r.json["users"], [])


class InviteRegistrationTest(AsyncServerTestCase):
    server_flags = ["--auth.registration=invite", "--auth.invite_code=let-me-in-42"]

    def test_invite_code_required(self):
        name = unique("inv")
        assert_problem(self, self.api.register(name), 403, "forbidden")
        assert_problem(self, self.api.register(name, invite_code="wrong-code"), 403, "forbidden")
        r = self.api.register(name, invite_code="let-me-in-42")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.api.login(name).status, 200)
        self.assertNotIn("let-me-in-42", open(self.server.stderr_path).read(),
                         "the invite code is a secret: never logged")


class LoginRateLimitTest(unittest.TestCase):
    """Default limits: 20 attempts per minute per IP, 10 per account."""

    def setUp(self):
        self.server = Server(relaxed_auth=False).start()
        self.api = Http(self.server.port)

    def tearDown(self):
        self.server.stop()

    def assert_rate_limited(self, r):
        assert_problem(self, r, 429, "rate_limited")
        retry = r.header("retry-after")
        self.assertIsNotNone(retry, "429 carries Retry-After")
        self.assertTrue(retry.isdigit() and int(retry) >= 1, retry)
        self.assertIsInstance(r.json.get("retry_after_ms"), int)
        self.assertGreater(r.json["retry_after_ms"], 0)

    def test_per_account_limit(self):
        name = unique("rl")
        self.assertEqual(self.api.register(name).status, 201)
        statuses = []
        for _ in range(12):
            r = self.api.login(name, "wrong password!")
            statuses.append(r.status)
            if r.status == 429:
                break
        self.assertEqual(statuses[-1], 429, f"no 429 after {len(statuses)} wrong logins: {statuses}")
        self.assertTrue(all(s == 401 for s in statuses[:-1]), statuses)
        self.assertGreaterEqual(len(statuses), 5, "not limited too early")
        self.assert_rate_limited(r)

    def test_per_ip_limit(self):
        statuses = []
        for _ in range(25):
            r = self.api.login(unique("ghost"), "whatever pw")
            statuses.append(r.status)
            if r.status == 429:
                break
        self.assertEqual(statuses[-1], 429, f"no 429 after {len(statuses)} logins: {statuses}")
        self.assertGreaterEqual(len(statuses), 10, statuses)
        self.assert_rate_limited(r)
        # Registration from the same IP is limited as well.
        self.assert_rate_limited(self.api.register(unique("late")))


if __name__ == "__main__":
    main()
