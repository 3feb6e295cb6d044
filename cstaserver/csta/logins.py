"""Logins a hostile user can neither guess quickly nor use to stall the server: one login
throttle and one pool of password checks for every transport (ECMA-354 clause 6.1
application information on the XML and TLS ports, RFC 7617 HTTP Basic on the web port,
RFC 4252 clause 8 password logins over ssh and the telnet login of the admin shell).

:class:`LoginThrottle` keeps, per source address and per account, the attempts of the last
``window`` seconds. An attempt counts from the moment it *starts*: while its password is
being checked it holds a place, and a refused password keeps it for the window. So a guesser
who runs many attempts in parallel gets no more than the limit, exactly like one who waits
for each answer. An address with ``per_address`` refused attempts in the window is refused at
once; so is an account with ``per_account`` refused attempts, whatever address they came from
(a guesser with many addresses). While the places left are taken by attempts still being
checked, a new attempt waits (bounded in number and time) for one to end: a right password
frees its place, a wrong one keeps it, so many valid logins at once from one client machine
are served one after the other, never refused. Each transport uses a :class:`FailureThrottle`, a view of the shared throttle
with its own kind of account (``csta``, ``web``, ``admin``), its delay before a refusal is
answered and its failure counter (the metrics).

:class:`PasswordChecks` runs the slow scrypt checks (:func:`~cstaserver.config.passwords.
verify_password`) in a bounded thread pool, a service started and stopped with the
application, so the reactor keeps serving every other client while passwords are checked;
when ``threads + waiting`` checks are already under way the next one is refused at once
(:class:`LoginBusy`, not counted as a failure) instead of growing a queue.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from typing import Any

from twisted.application.service import Service
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, threads
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from cstaserver.config.passwords import verify_password

log = Logger()

#: Prune a table (addresses, accounts) when it holds this many keys.
PRUNE_AT = 1024
#: Keys a table keeps at most (attacker-chosen account names): the oldest idle go first.
MAX_KEYS = 20000
#: Logins that may wait for a place (every address together), and how long each may wait.
MAX_WAITING = 256
MAX_WAIT = 30.0

Verify = Callable[[str, str], defer.Deferred]


class LoginThrottled(UnauthorizedLogin):
    """Too many attempts from this address or for this account: refused without a check."""


class LoginBusy(UnauthorizedLogin):
    """Every password check is taken: refused at once, and not counted as a failure."""


def verify_inline(password: str, encoded: str) -> defer.Deferred:
    """The password check on the calling thread (tests on a fake clock, tools)."""
    return defer.succeed(verify_password(password, encoded))


class _Table:
    """Recent failure times and attempts under way, per key."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.failures: dict[str, list[float]] = {}
        self.pending: dict[str, int] = {}

    def recent(self, key: str, now: float, window: float) -> int:
        times = [t for t in self.failures.get(key, ()) if now - t < window]
        if times:
            self.failures[key] = times
        else:
            self.failures.pop(key, None)
        return len(times)

    def count(self, key: str, now: float, window: float) -> int:
        return self.recent(key, now, window) + self.pending.get(key, 0)

    def full(self, key: str | None, now: float, window: float) -> bool:
        return key is not None and self.count(key, now, window) >= self.limit

    def refused(self, key: str | None, now: float, window: float) -> bool:
        return key is not None and self.recent(key, now, window) >= self.limit

    def prune(self, now: float, window: float) -> None:
        if len(self.failures) < PRUNE_AT:
            return
        for key in list(self.failures):
            self.recent(key, now, window)
        excess = len(self.failures) - MAX_KEYS
        for key in list(self.failures)[: max(excess, 0)]:
            if not self.pending.get(key):
                del self.failures[key]

    def start(self, key: str) -> None:
        self.pending[key] = self.pending.get(key, 0) + 1

    def end(self, key: str, failed_at: float | None) -> None:
        left = self.pending.get(key, 0) - 1
        if left > 0:
            self.pending[key] = left
        else:
            self.pending.pop(key, None)
        if failed_at is not None:
            self.failures.setdefault(key, []).append(failed_at)


class LoginThrottle:
    """The attempts per address and per account, shared by every transport (see the module
    docstring). ``clock``: the reactor (never the skippable clock of simulated time)."""

    def __init__(
        self,
        clock: Any,
        *,
        per_address: int = 5,
        per_account: int = 10,
        window: float = 60.0,
        refusal_delay: float = 0.0,
    ) -> None:
        self.clock = clock
        self.window = float(window)
        #: Seconds before a throttled attempt is answered (as long as a wrong password's
        #: delay in a server): a guesser's reconnect loop gains nothing by being refused.
        self.refusal_delay = refusal_delay
        self.addresses = _Table(per_address)
        self.accounts = _Table(per_account)
        self._waiting: list[defer.Deferred] = []

    def view(
        self, kind: str, *, delay: float = 1.0, on_failure: Callable[[], None] | None = None
    ) -> FailureThrottle:
        """What one transport uses: its kind of account, its delay, its failure counter."""
        return FailureThrottle(
            self.clock, delay=delay, on_failure=on_failure, shared=self, kind=kind
        )

    def refusal(self, account: str | None, address: str) -> str | None:
        """Why a new attempt would be refused now: ``address`` or ``account`` has had its
        refused attempts for the window; else None."""
        now = self.clock.seconds()
        if self.addresses.refused(address, now, self.window):
            return "address"
        if self.accounts.refused(account, now, self.window):
            return "account"
        return None

    def _full(self, account: str | None, address: str) -> bool:
        now = self.clock.seconds()
        return self.addresses.full(address, now, self.window) or self.accounts.full(
            account, now, self.window
        )

    def begin(self, account: str | None, address: str) -> defer.Deferred:
        """Fires with a started :class:`Attempt`, or fails with :class:`LoginThrottled`.

        Refused at once when the address or the account has had its refused attempts for the
        window. When its places are taken by attempts still being checked, the new one waits
        for one of them to end (a right password frees its place, a wrong one keeps it), at
        most :data:`MAX_WAIT` seconds and with at most :data:`MAX_WAITING` waiting in all."""
        return defer.Deferred.fromCoroutine(self._begin(account, address))

    async def _begin(self, account: str | None, address: str) -> Attempt:
        deadline = self.clock.seconds() + MAX_WAIT
        while True:
            now = self.clock.seconds()
            self.addresses.prune(now, self.window)
            self.accounts.prune(now, self.window)
            reason = self.refusal(account, address)
            if reason is not None:
                raise LoginThrottled(f"too many failures for this {reason}; try again later")
            if not self._full(account, address):
                self.addresses.start(address)
                if account is not None:
                    self.accounts.start(account)
                return Attempt(self, account, address)
            if len(self._waiting) >= MAX_WAITING or now >= deadline:
                raise LoginThrottled("too many logins under way; try again later")
            waiter: defer.Deferred = defer.Deferred()
            waiter.addTimeout(deadline - now, self.clock)
            self._waiting.append(waiter)
            try:
                await waiter
            except defer.TimeoutError:
                pass  # the deadline: refused on the next round
            finally:
                if waiter in self._waiting:
                    self._waiting.remove(waiter)

    def _end(self, attempt: Attempt, failed: bool) -> None:
        at = self.clock.seconds() if failed else None
        self.addresses.end(attempt.address, at)
        if attempt.account is not None:
            self.accounts.end(attempt.account, at)
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:  # each looks again at what it waits for
            if not waiter.called:
                waiter.callback(None)


class Attempt:
    """One login under way; ended exactly once (later calls do nothing)."""

    def __init__(self, throttle: LoginThrottle, account: str | None, address: str) -> None:
        self.throttle = throttle
        self.account = account
        self.address = address
        self.ended = False
        self.on_failure: Callable[[], None] | None = None
        self.delay = 0.0

    def _end(self, failed: bool) -> bool:
        if self.ended:
            return False
        self.ended = True
        self.throttle._end(self, failed)
        return True

    def succeeded(self) -> None:
        """The right password: no mark."""
        self._end(False)

    def abandoned(self) -> None:
        """Not checked after all (the checks were busy, the client left): no mark."""
        self._end(False)

    def failed(self) -> defer.Deferred:
        """A refused login: marked for the window; the Deferred fires after the delay."""
        if self._end(True) and self.on_failure is not None:
            self.on_failure()
        clock = self.throttle.clock
        return deferLater(clock, self.delay, lambda: None) if self.delay else defer.succeed(None)


class FailureThrottle:
    """One transport's view of a :class:`LoginThrottle` (``shared``; without one, a throttle
    of its own: ``max_failures`` per address, twice that per account, ``window`` seconds).

    ``delay``: seconds before a refused login is answered; ``on_failure``, when set, is
    called once per refused login (the metrics count login failures there)."""

    def __init__(
        self,
        clock: Any,
        *,
        delay: float = 1.0,
        max_failures: int = 5,
        window: float = 60.0,
        on_failure: Callable[[], None] | None = None,
        shared: LoginThrottle | None = None,
        kind: str = "login",
    ) -> None:
        self.shared = shared or LoginThrottle(
            clock, per_address=max_failures, per_account=2 * max_failures, window=window
        )
        self.clock = clock
        self.delay = delay
        self.on_failure = on_failure
        self.kind = kind

    @property
    def window(self) -> float:
        return self.shared.window

    def _account(self, account: str | None) -> str | None:
        return None if account is None else f"{self.kind}:{account}"

    def begin(self, account: str | None, address: str) -> defer.Deferred:
        """Fires with a started :class:`Attempt` for ``account`` from ``address``, or fails
        with :class:`LoginThrottled` (see :meth:`LoginThrottle.begin`)."""
        return defer.Deferred.fromCoroutine(self._begin(account, address))

    async def _begin(self, account: str | None, address: str) -> Attempt:
        try:
            attempt = await self.shared.begin(self._account(account), address)
        except LoginThrottled as refused:
            log.warn(
                "{kind} login of {account} from {address} refused: {reason}",
                kind=self.kind,
                account=account,
                address=address,
                reason=str(refused),
            )
            if self.shared.refusal_delay:
                await deferLater(self.clock, self.shared.refusal_delay, lambda: None)
            raise
        attempt.on_failure = self.on_failure
        attempt.delay = self.delay
        return attempt

    def blocked(self, address: str, account: str | None = None) -> bool:
        return self.shared.refusal(self._account(account), address) is not None

    def failed(self, address: str, account: str | None = None) -> defer.Deferred:
        """Record a refused login that was not begun as an attempt; fires after the delay."""
        now = self.clock.seconds()
        self.shared.addresses.prune(now, self.window)
        self.shared.addresses.failures.setdefault(address, []).append(now)
        if account is not None:
            self.shared.accounts.failures.setdefault(self._account(account), []).append(now)
        if self.on_failure is not None:
            self.on_failure()
        return (
            deferLater(self.clock, self.delay, lambda: None) if self.delay else defer.succeed(None)
        )


class Remembered:
    """Successful logins for ``ttl`` seconds, as HMACs under a key that lives only in
    memory: a client that logs in again and again does not pay a slow hash each time."""

    def __init__(self, clock: Any, ttl: float) -> None:
        self.clock = clock
        self.ttl = ttl
        self._key = os.urandom(32)
        self._entries: dict[str, tuple[bytes, float]] = {}

    def _digest(self, user: str, password: str, salt: str) -> bytes:
        message = "\0".join((user, password, salt)).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def knows(self, user: str, password: str, salt: str = "") -> bool:
        entry = self._entries.get(user)
        if entry is None or entry[1] < self.clock.seconds():
            return False
        return hmac.compare_digest(entry[0], self._digest(user, password, salt))

    def remember(self, user: str, password: str, salt: str = "") -> None:
        if len(self._entries) > 1000:
            self._entries.clear()
        self._entries[user] = (self._digest(user, password, salt), self.clock.seconds() + self.ttl)


class PasswordChecks(Service):
    """Password checks in a bounded thread pool (see the module docstring)."""

    name = "password-checks"

    def __init__(self, reactor: Any, *, threads: int = 2, waiting: int = 32) -> None:
        self.reactor = reactor
        self.threads = max(1, threads)
        self.limit = self.threads + max(0, waiting)
        self.pool = self._new_pool()
        self.under_way = 0
        self.refused = 0

    def _new_pool(self) -> ThreadPool:
        return ThreadPool(minthreads=0, maxthreads=self.threads, name="password-checks")

    def startService(self) -> None:
        super().startService()
        if self.pool.joined:  # started again after a stop
            self.pool = self._new_pool()
        self.pool.start()

    def stopService(self) -> None:
        if not self.running:
            return
        super().stopService()
        self.pool.stop()

    def verify(self, password: str, encoded: str) -> defer.Deferred:
        """Fires with True or False; fails at once with :class:`LoginBusy` when full."""
        if self.under_way >= self.limit:
            self.refused += 1
            log.warn("password check refused: {count} checks under way", count=self.under_way)
            return defer.fail(LoginBusy("the server is busy checking passwords; try again"))
        self.under_way += 1
        checking = threads.deferToThreadPool(
            self.reactor, self.pool, verify_password, password, encoded
        )

        def done(result: Any) -> Any:
            self.under_way -= 1
            return result

        return checking.addBoth(done)
