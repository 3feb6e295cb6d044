"""Web-service logins: HTTP Basic (RFC 7617) through twisted.cred, accounts file or PAM
(a fake ``pam`` module: never real system accounts), throttled per peer."""

from __future__ import annotations

import base64
import sys
import types

from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, reactor
from twisted.internet.task import Clock
from twisted.trial import unittest

from cstaserver.config.model import WebAccount
from cstaserver.config.passwords import hash_password
from cstaserver.csta.namespaces import ED3
from cstaserver.soap.auth import (
    AccountsChecker,
    PamChecker,
    WebAuthUnavailable,
    load_pam,
    make_checker,
    parse_basic,
)
from cstaserver.web.auth import VERDICT_SECONDS, BasicAuthGate, Refused
from tests.soap.soap_support import LoopbackWeb, MemoryWeb, basic, demo_exchange, soap11

FEATURES = soap11(f'<GetCSTAFeatures xmlns="{ED3}"/>')


def fake_pam(accounts: dict[str, str]) -> types.ModuleType:
    module = types.ModuleType("pam")
    calls: list[tuple[str, str]] = []

    class Pam:
        def authenticate(self, user: str, password: str, service: str = "login") -> bool:
            calls.append((user, service))
            return accounts.get(user) == password

    module.pam = Pam
    module.calls = calls
    return module


def run_now(function: object, *args: object) -> defer.Deferred:
    return defer.maybeDeferred(function, *args)


class ParseBasicTests(unittest.TestCase):
    def test_parses_user_and_password_with_colons(self) -> None:
        creds = parse_basic(b"Basic " + base64.b64encode("k\u00e5re:a:b".encode()))
        self.assertEqual((creds.user, creds.password), ("k\u00e5re", "a:b"))
        self.assertNotIn("a:b", repr(creds))

    def test_rejects_malformed_headers(self) -> None:
        for header in (
            None,
            b"",
            b"Bearer x",
            b"Basic",
            b"Basic !!!",
            b"Basic " + base64.b64encode(b"nocolon"),
        ):
            self.assertIsNone(parse_basic(header), header)


class CheckerTests(unittest.TestCase):
    def test_accounts_file(self) -> None:
        checker = AccountsChecker(lambda: demo_exchange().web_accounts, Clock())
        self.assertEqual(
            self.successResultOf(checker.requestAvatarId(UsernamePassword("csta_user", "csta"))),
            "csta_user",
        )
        # remembered: the second check does not hash again
        self.assertTrue(
            checker.remembered.knows(
                "csta_user", "csta", demo_exchange().web_accounts[0].password_hash
            )
        )
        for user, password in (
            ("csta_user", "wrong"),
            ("csta_user", ""),
            ("", ""),
            ("nobody", "csta"),
        ):
            self.failureResultOf(
                checker.requestAvatarId(UsernamePassword(user, password)), UnauthorizedLogin
            )

    def test_pam_with_a_fake_module(self) -> None:
        module = fake_pam({"csta_user": "secret"})
        checker = PamChecker(Clock(), module=module, run=run_now)
        self.assertEqual(
            self.successResultOf(checker.requestAvatarId(UsernamePassword("csta_user", "secret"))),
            "csta_user",
        )
        self.failureResultOf(
            checker.requestAvatarId(UsernamePassword("csta_user", "nope")), UnauthorizedLogin
        )
        self.failureResultOf(
            checker.requestAvatarId(UsernamePassword("csta_user", "")), UnauthorizedLogin
        )
        self.assertEqual(module.calls, [("csta_user", "login"), ("csta_user", "login")])

    def test_pam_module_error_refuses(self) -> None:
        module = types.ModuleType("pam")

        class Broken:
            def authenticate(self, *args: object, **kwargs: object) -> bool:
                raise OSError("pam is broken")

        module.pam = Broken
        checker = PamChecker(Clock(), module=module, run=run_now)
        self.failureResultOf(checker.requestAvatarId(UsernamePassword("u", "p")), UnauthorizedLogin)

    def test_missing_pam_module_stops_startup_with_one_line(self) -> None:
        self.patch(sys, "modules", {**sys.modules, "pam": None})
        with self.assertRaises(WebAuthUnavailable) as caught:
            load_pam()
        message = str(caught.exception)
        self.assertIn("python-pam", message)
        self.assertNotIn("\n", message)
        with self.assertRaises(WebAuthUnavailable):
            make_checker("pam", reactor, lambda: [])

    def test_unknown_mode(self) -> None:
        with self.assertRaises(ValueError):
            make_checker("ldap", reactor, lambda: [])


class ThrottleTests(unittest.TestCase):
    """The per-peer login throttle on the site's clock (``MemoryWeb``)."""

    def test_failures_are_delayed_and_limited_per_peer(self) -> None:
        web = MemoryWeb(throttle={"delay": 0.2, "max_failures": 2, "window": 60})
        self.addCleanup(web.stop)
        refused = web.post(FEATURES, auth=basic("csta_user", "bad"))
        web.reactor.advance(0.19)
        self.assertNoResult(refused)  # a wrong password is answered after the delay
        web.reactor.advance(0.01)
        status, headers, _d = self.successResultOf(refused)
        self.assertEqual(status, 401)
        self.assertTrue(headers.getRawHeaders(b"www-authenticate"))
        again = web.post(FEATURES, auth=basic("csta_user", "bad"))
        web.reactor.advance(0.2)
        self.assertEqual(self.successResultOf(again)[0], 401)
        # right password, but throttled: refused at once, with Retry-After
        status, headers, _d = self.successResultOf(web.post(FEATURES))
        self.assertEqual(status, 429)
        self.assertTrue(headers.getRawHeaders(b"retry-after"))
        web.reactor.advance(60)  # the window has passed: the right password is welcome again
        self.assertEqual(self.successResultOf(web.post(FEATURES))[0], 200)


class HttpLoginTests(unittest.TestCase):
    def start(self, **options: object) -> LoopbackWeb:
        web = LoopbackWeb(reactor, **options)
        web.listen()
        self.addCleanup(lambda: web.stop())
        return web

    async def test_right_password(self) -> None:
        web = self.start()
        status, _h, _d = await web.post(FEATURES)
        self.assertEqual(status, 200)

    async def test_wrong_missing_and_empty_password_are_401(self) -> None:
        web = self.start(throttle={"delay": 0.01, "max_failures": 100})
        for auth in (
            basic("csta_user", "wrong"),
            basic("csta_user", ""),
            basic("", ""),
            b"Basic xx",
        ):
            status, headers, data = await web.post(FEATURES, auth=auth)
            self.assertEqual(status, 401, auth)
            self.assertEqual(
                headers.getRawHeaders(b"www-authenticate")[0],
                b'Basic realm="cstaserver", charset="UTF-8"',
            )
            self.assertTrue(data)
        status, _h, _d = await web.request(
            b"POST", web.url, FEATURES, {b"Content-Type": b"text/xml"}
        )
        self.assertEqual(status, 401)

    async def test_pam_login_over_http(self) -> None:
        checker = PamChecker(reactor, module=fake_pam({"csta_user": "linux-pw"}), run=run_now)
        web = self.start(checker=checker)
        status, _h, _d = await web.post(FEATURES, auth=basic("csta_user", "linux-pw"))
        self.assertEqual(status, 200)
        status, _h, _d = await web.post(FEATURES, auth=basic("csta_user", "csta"))
        self.assertEqual(status, 401)

    async def test_get_wsdl_needs_no_login(self) -> None:
        web = self.start()
        status, _h, data = await web.request(b"GET", web.url + "?wsdl")
        self.assertEqual(status, 200)
        self.assertIn(b"wsdl:definitions", data)

    async def test_nothing_secret_is_logged(self) -> None:
        from twisted.logger import globalLogPublisher

        seen: list[dict] = []
        globalLogPublisher.addObserver(seen.append)
        self.addCleanup(globalLogPublisher.removeObserver, seen.append)
        web = self.start()
        await web.post(FEATURES, auth=basic("csta_user", "s3cr3t-value"))
        await web.post(FEATURES)
        text = repr(seen)
        self.assertNotIn("s3cr3t-value", text)
        self.assertNotIn(base64.b64encode(b"csta_user:csta").decode(), text)


class VerdictCacheTests(unittest.TestCase):
    """A header that logged in is taken again without the password check while its account
    is unchanged (``BasicAuthGate.known``)."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.accounts = [WebAccount("csta_user", hash_password("csta", n=2**4))]
        self.checks: list[str] = []  # the passwords the portal's checker was asked about
        checker = AccountsChecker(lambda: list(self.accounts), self.clock)
        check = checker.requestAvatarId

        def counted(credentials: UsernamePassword) -> defer.Deferred:
            self.checks.append(credentials.password)
            return check(credentials)

        checker.requestAvatarId = counted  # type: ignore[method-assign]
        self.gate = BasicAuthGate(checker, self.clock, delay=0.0)

    def login(self, auth: bytes, peer: str = "10.0.0.1") -> str:
        return self.successResultOf(defer.ensureDeferred(self.gate.login(auth, peer)))

    def refused(self, auth: bytes, peer: str = "10.0.0.1") -> int:
        failure = self.failureResultOf(defer.ensureDeferred(self.gate.login(auth, peer)), Refused)
        return failure.value.status

    def test_a_second_login_with_the_same_header_checks_no_password(self) -> None:
        self.assertEqual(self.login(basic("csta_user", "csta")), "csta_user")
        self.assertEqual(self.login(basic("csta_user", "csta")), "csta_user")
        self.assertEqual(self.checks, ["csta"])
        self.assertEqual(self.refused(basic("csta_user", "wrong")), 401)  # another header
        self.assertEqual(self.checks, ["csta", "wrong"])

    def test_the_header_itself_is_not_kept(self) -> None:
        header = basic("csta_user", "csta")
        self.login(header)
        self.assertEqual(len(self.gate.verdicts), 1)
        self.assertNotIn(header, self.gate.verdicts._entries)
        self.assertNotIn(b"csta", b"".join(self.gate.verdicts._entries))

    def test_a_changed_password_forgets_the_verdict(self) -> None:
        self.login(basic("csta_user", "csta"))
        self.accounts[0] = WebAccount("csta_user", hash_password("n3w-secret", n=2**4))
        self.assertEqual(self.refused(basic("csta_user", "csta")), 401)
        self.assertEqual(self.checks, ["csta", "csta"])
        self.assertEqual(self.login(basic("csta_user", "n3w-secret")), "csta_user")

    def test_a_removed_account_forgets_the_verdict(self) -> None:
        self.login(basic("csta_user", "csta"))
        self.accounts.clear()
        self.assertEqual(self.refused(basic("csta_user", "csta")), 401)

    def test_the_verdict_expires(self) -> None:
        self.login(basic("csta_user", "csta"))
        self.clock.advance(VERDICT_SECONDS - 1)
        self.login(basic("csta_user", "csta"))
        self.assertEqual(self.checks, ["csta"])
        self.clock.advance(1)
        self.login(basic("csta_user", "csta"))
        self.assertEqual(self.checks, ["csta", "csta"])

    def test_a_throttled_address_is_refused_even_with_a_remembered_header(self) -> None:
        self.login(basic("csta_user", "csta"), "10.0.0.9")
        for _ in range(5):
            self.assertEqual(self.refused(basic("csta_user", "bad"), "10.0.0.9"), 401)
        self.assertEqual(self.refused(basic("csta_user", "csta"), "10.0.0.9"), 429)
        self.assertEqual(self.login(basic("csta_user", "csta"), "10.0.0.8"), "csta_user")

    def test_a_checker_without_account_tokens_gets_no_cache(self) -> None:
        checker = PamChecker(reactor, module=fake_pam({"csta_user": "linux-pw"}), run=run_now)
        gate = BasicAuthGate(checker, self.clock, delay=0.0)
        self.assertIsNone(gate.verdicts)
        for _ in range(2):
            login = defer.ensureDeferred(gate.login(basic("csta_user", "linux-pw"), "10.0.0.1"))
            self.assertEqual(self.successResultOf(login), "csta_user")
        self.assertIsNone(gate.known(basic("csta_user", "linux-pw"), "10.0.0.1"))
