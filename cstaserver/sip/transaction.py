"""SIP transactions: RFC 3261 §17 on an injected clock.

- :class:`InviteServerTransaction` (§17.2.1, with the 2xx handling of RFC 6026 folded in):
  an optional 100 Trying, then the final response, retransmitted on unreliable transports
  by Timer G (T1 doubling up to T2) until an ACK arrives or Timer H (64*T1) fires. Unlike
  plain RFC 3261 a 2xx is retransmitted by the transaction too; the dialog passes the ACK
  (matched whatever its CSeq) to :meth:`InviteServerTransaction.ack_received`.
  A :class:`ResponseBudget` bounds what a forged INVITE can reflect: over its limit of
  unacknowledged bytes per address a final response is sent once, without Timer G.
- :class:`NonInviteServerTransaction` (§17.2.2): on TCP it ends with its final response; on
  UDP it hands that response, serialised, to its table, which answers retransmissions of
  the request with it until Timer J (64*T1) fires. Likewise an INVITE server transaction
  over UDP, once ACKed (Confirmed, §17.2.1), is handed over to absorb retransmissions
  until Timer I (T4).
- :class:`CompletedTransactions`: Timer J (or Timer I, or Timer K) for all of them at once.
  Such a server transaction is kept as a :class:`CompletedTransaction` (the response's bytes
  and the flow they go back on) and not as the transaction with its request (and an
  INVITE's dialog): at a few thousand transactions a second, 32 s of them is ~100,000
  entries, and each object kept is one more for every full pass of the garbage collector.
  The deadlines, all the same time after their hand-over, are one time-ordered deque swept
  by one delayed call (at most once per ``resolution`` seconds, 1 s: an entry lasts its
  timer's value to one second more) instead of a ``DelayedCall`` each.
- :class:`NonInviteClientTransaction` (§17.1.2): Timer E (UDP retransmission), Timer F
  (64*T1 timeout, on every transport), Timer K (§17.1.2.2: T4 in the Completed state over
  UDP, absorbing retransmitted responses; a table's transactions are handed to its sweep,
  like Timers J and I). A timeout fires its Deferred with a :class:`RequestTimeout` value,
  never an errback: nothing else is torn down.
- :func:`server_key` / :class:`TransactionTable`: matching on the Via branch when it
  carries the magic cookie (§17.2.3), else (RFC 2543 peers, pidgin-sipe, a bare
  ``z9hG4bK``) on Call-ID + CSeq number + method + From tag (+ the body for non-INVITE
  requests, since sipe re-uses CSeq numbers after every final INVITE response).
"""

from __future__ import annotations

import abc
import enum
import secrets
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

from attrs import frozen
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from cstaserver.csta.limitlog import LimitLog
from cstaserver.sip.headers import MAGIC_COOKIE, HeaderSyntaxError
from cstaserver.sip.interfaces import ISipFlow
from cstaserver.sip.message import SipRequest, SipResponse, make_response


@frozen
class TimerSettings:
    """RFC 3261 §17.1.1.1 timer values, in seconds."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    @property
    def timeout(self) -> float:
        """64*T1: Timers B, F, H and J."""
        return 64 * self.t1


@frozen
class RequestTimeout:
    """What a client transaction's Deferred fires with when no final response came
    (``reason`` "timeout": Timer F) or the request could not be sent."""

    request: SipRequest
    reason: str = "timeout"


class TransactionState(enum.Enum):
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


_FINISHED_STATES = frozenset(
    {TransactionState.COMPLETED, TransactionState.CONFIRMED, TransactionState.TERMINATED}
)


def generate_branch() -> str:
    """A new RFC 3261 branch: the magic cookie and 64 random bits (§8.1.1.7)."""
    return MAGIC_COOKIE + secrets.token_hex(8)


def server_key(request: SipRequest, method: str | None = None) -> Hashable:
    """The key matching a request to its server transaction (§17.2.3).

    ``method`` overrides the request's method (CANCEL looks up its INVITE); ACK matches
    the INVITE it acknowledges. Worked out once per request (the look-up and the new
    transaction both want it), again only if its headers change."""
    return request.headers.memo(("server key", method), lambda: _server_key(request, method))


def _server_key(request: SipRequest, method: str | None) -> Hashable:
    method = method or request.method
    if method == "ACK":
        method = "INVITE"
    try:
        via = request.top_via
        branch = via.branch
    except HeaderSyntaxError:
        via, branch = None, None
    if via is not None and branch and branch.startswith(MAGIC_COOKIE) and branch != MAGIC_COOKIE:
        return ("rfc3261", branch, via.sent_by.lower(), method)
    try:
        from_tag = request.from_tag
        number = request.cseq.number
    except HeaderSyntaxError:
        from_tag, number = None, None
    body = 0 if method == "INVITE" else hash(request.body)  # as sipe re-uses CSeq numbers
    return ("rfc2543", request.call_id, number, method, from_tag, body)


Sender = Callable[[Any], None]
Finished = Callable[[Any], None]
Kept = Callable[[Any, bytes | None], None]


def send_to(flow: ISipFlow, data: bytes) -> None:
    """Write ``data`` on ``flow``; ConnectionError once the connection is lost."""
    if not flow.connected:
        raise ConnectionError(f"connection to {flow.peer} is closed")
    flow.send_bytes(data)


class _Timers:
    """Named one-shot timers on an injected clock, cancelled together."""

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._calls: dict[str, IDelayedCall] = {}

    def start(self, name: str, delay: float, function: Callable[[], None]) -> None:
        self.stop(name)
        self._calls[name] = self._clock.callLater(delay, self._fire, name, function)

    def _fire(self, name: str, function: Callable[[], None]) -> None:
        self._calls.pop(name, None)
        function()

    def stop(self, name: str) -> None:
        call = self._calls.pop(name, None)
        if call is not None and call.active():
            call.cancel()

    def stop_all(self) -> None:
        for name in list(self._calls):
            self.stop(name)


class ServerTransaction(abc.ABC):
    """Common part of the server transactions: the last response and its resending on the
    ``flow`` the responses go back on (§18.2.2: the endpoint chose it)."""

    log = Logger()

    def __init__(
        self,
        request: SipRequest,
        *,
        clock: IReactorTime,
        timers: TimerSettings,
        flow: ISipFlow,
        on_terminated: Finished | None = None,
    ) -> None:
        self.key = server_key(request)
        self.request = request
        self.state = TransactionState.TRYING
        self.last_response: SipResponse | None = None
        self.flow = flow
        self._settings = timers
        self._timers = _Timers(clock)
        self._reliable = bool(flow.reliable)
        self.on_terminated = on_terminated

    @property
    def finished(self) -> bool:
        """True once a final response was given."""
        return self.state in _FINISHED_STATES

    @abc.abstractmethod
    def respond(self, response: SipResponse) -> None:
        """Send ``response`` (provisional or final) and move the state machine."""

    def respond_with(self, status: int, **kwargs: Any) -> None:
        """Answer with a response built from the request (RFC 3261 §8.2.6)."""
        self.respond(make_response(self.request, status, **kwargs))

    def request_retransmitted(self) -> None:
        """The request came again: absorb it, re-sending the last response if any."""
        if self.last_response is not None and self.state is not TransactionState.TERMINATED:
            self.log.debug(
                "retransmission of {method}: re-sending {status}",
                method=self.request.method,
                status=self.last_response.status,
            )
            self._transmit(self.last_response)

    def _transmit(self, response: SipResponse) -> bytes:
        """Send ``response``; its bytes (kept by Timer J), whether the write worked or not."""
        self.last_response = response
        data = response.to_bytes()
        try:
            send_to(self.flow, data)
        except Exception:
            self.log.failure("cannot send {status}", status=response.status)
        return data

    on_kept: Kept | None = None
    """Set by a :class:`TransactionTable`: called with the transaction and the response
    to re-send (None: absorb silently) when only retransmissions are left to absorb."""

    def _keep(self, response: bytes | None) -> None:
        """Past its last response: ends at once on a reliable transport (Timers J and I are
        0); over UDP its table keeps ``response`` for retransmissions of the request and
        lets go of the transaction. Without a table it stays as it is, absorbing them
        itself for as long as its owner holds it."""
        if self._reliable:
            self.terminate()
        elif self.on_kept is not None:
            self._timers.stop_all()
            self.on_kept(self, response)

    def terminate(self) -> None:
        if self.state is TransactionState.TERMINATED:
            return
        self.state = TransactionState.TERMINATED
        self._timers.stop_all()
        if self.on_terminated is not None:
            self.on_terminated(self)


class NonInviteServerTransaction(ServerTransaction):
    """RFC 3261 §17.2.2: Completed with its final response, then kept by its table until
    Timer J (:meth:`ServerTransaction._keep`)."""

    def respond(self, response: SipResponse) -> None:
        if self.finished:
            self.log.debug(
                "late {status} to {method} dropped",
                status=response.status,
                method=self.request.method,
            )
            return
        data = self._transmit(response)
        if response.status < 200:
            self.state = TransactionState.PROCEEDING
            return
        self.state = TransactionState.COMPLETED
        self._keep(data)


class ResponseBudget:
    """Bytes of final INVITE responses sent over UDP and not yet acknowledged, per address.

    An INVITE with a forged source address draws the final response and, per §17.2.1,
    its Timer G retransmissions (about ten within 64*T1) towards the victim: the server
    would reflect ten times what it received. While an address has ``limit()`` bytes waiting
    for ACKs, a further final response to it is sent once and not retransmitted (Timer H
    still runs); a client that ACKs its responses never comes near the limit
    (docs/limits.md). An address going over the limit is logged once, not for each response
    sent without retransmissions: the next line comes after one of its waiting responses has
    been acknowledged or has timed out (:class:`~cstaserver.csta.limitlog.LimitLog`)."""

    log = Logger()

    def __init__(self, limit: Callable[[], int | None]) -> None:
        self.limit = limit
        self.waiting: dict[Hashable, int] = {}
        self.refused = 0
        self._limit_log = LimitLog()

    def reserve(self, key: Hashable, size: int) -> bool:
        """Count ``size`` bytes for ``key``; False (nothing counted) over the limit."""
        limit = self.limit()
        used = self.waiting.get(key, 0)
        if limit is not None and used + size > limit:
            self.refused += 1
            if not self._limit_log.first(key):
                return False
            self.log.info(
                "{address} has {used} bytes of responses unacknowledged: no retransmission "
                "(of this or further responses, until its ACKs come or Timer H ends them)",
                address=key,
                used=used,
            )
            return False
        self.waiting[key] = used + size
        return True

    def release(self, key: Hashable, size: int) -> None:
        self._limit_log.below(key)
        left = self.waiting.get(key, 0) - size
        if left > 0:
            self.waiting[key] = left
        else:
            self.waiting.pop(key, None)


class InviteServerTransaction(ServerTransaction):
    """RFC 3261 §17.2.1 (+ RFC 6026): final responses, 2xx included, are retransmitted
    until the ACK; ``on_ack_timeout`` is called when Timer H fires without one. Over UDP
    with a :class:`ResponseBudget`, only while the address ``budget_key`` is within it."""

    def __init__(
        self,
        request: SipRequest,
        *,
        trying_delay: float | None = 0.2,
        on_ack_timeout: Callable[[InviteServerTransaction], None] | None = None,
        budget: ResponseBudget | None = None,
        budget_key: Hashable = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(request, **kwargs)
        self.state = TransactionState.PROCEEDING
        self.on_ack_timeout = on_ack_timeout
        self._budget = budget
        self._budget_key = budget_key
        self._reserved = 0
        self.dialog: Any = None
        """The dialog this INVITE creates or refreshes (set by the endpoint)."""
        if trying_delay is not None:
            self._timers.start("trying", trying_delay, self._send_trying)

    @property
    def awaiting_ack(self) -> bool:
        return self.state is TransactionState.COMPLETED

    def _send_trying(self) -> None:
        if self.last_response is None and self.state is TransactionState.PROCEEDING:
            self._transmit(make_response(self.request, 100))

    def respond(self, response: SipResponse) -> None:
        if self.state is not TransactionState.PROCEEDING:
            self.log.debug(
                "late {status} to INVITE dropped", status=response.status, method="INVITE"
            )
            return
        self._timers.stop("trying")
        self._transmit(response)
        if response.status < 200:
            return
        self.state = TransactionState.COMPLETED
        if not self._reliable and self._reserve(response):
            self._timers.start("G", self._settings.t1, lambda: self._retransmit(self._settings.t1))
        self._timers.start("H", self._settings.timeout, self._ack_timeout)

    @property
    def within_budget(self) -> bool:
        """False when the final response went out once because the address was over its
        :class:`ResponseBudget` (no retransmissions; no BYE either when no ACK comes)."""
        return self._within_budget

    _within_budget = True

    def _reserve(self, response: SipResponse) -> bool:
        """Whether the response may be retransmitted (within the address's budget)."""
        if self._budget is None:
            return True
        size = len(response.to_bytes())
        if not self._budget.reserve(self._budget_key, size):
            self._within_budget = False
            return False
        self._reserved = size
        return True

    def _release(self) -> None:
        if self._budget is not None and self._reserved:
            self._budget.release(self._budget_key, self._reserved)
            self._reserved = 0

    def terminate(self) -> None:
        self._release()
        super().terminate()

    def _retransmit(self, interval: float) -> None:
        if self.state is not TransactionState.COMPLETED or self.last_response is None:
            return
        self.log.debug("Timer G: re-sending {status}", status=self.last_response.status)
        self._transmit(self.last_response)
        following = min(2 * interval, self._settings.t2)
        self._timers.start("G", following, lambda: self._retransmit(following))

    def _ack_timeout(self) -> None:
        self.log.info(
            "Timer H: no ACK for {status} to INVITE {call_id}",
            status=self.last_response.status if self.last_response else None,
            call_id=self.request.call_id,
        )
        callback = self.on_ack_timeout
        self.terminate()
        if callback is not None:
            callback(self)

    def ack_received(self) -> None:
        if self.state is not TransactionState.COMPLETED:
            return
        self.state = TransactionState.CONFIRMED
        self._release()
        self._timers.stop("G")
        self._timers.stop("H")
        self._keep(None)  # Confirmed: ACKs and the INVITE again absorbed until Timer I

    def request_retransmitted(self) -> None:
        if self.state is TransactionState.CONFIRMED:
            return
        super().request_retransmitted()


class NonInviteClientTransaction:
    """RFC 3261 §17.1.2; :attr:`deferred` fires with the final :class:`SipResponse` or a
    :class:`RequestTimeout`. Completed over UDP, it absorbs retransmitted final responses
    until Timer K: handed to :attr:`on_completed` (its table's sweep) when that is set,
    else by a delayed call of its own."""

    log = Logger()

    def __init__(
        self,
        request: SipRequest,
        *,
        clock: IReactorTime,
        timers: TimerSettings,
        send: Sender,
        reliable: bool,
        on_terminated: Finished | None = None,
    ) -> None:
        self.request = request
        self.key = client_key(request.top_via.branch or "", request.method)
        self.state = TransactionState.TRYING
        self.deferred: Deferred[SipResponse | RequestTimeout] = Deferred()
        self._settings = timers
        self._timers = _Timers(clock)
        self._send = send
        self._reliable = reliable
        self.on_terminated = on_terminated
        #: told once Completed over UDP: it then runs Timer K (and calls :meth:`terminate`)
        self.on_completed: Finished | None = None

    def start(self) -> None:
        if not self._transmit():
            self._finish(RequestTimeout(self.request, "transport error"))
            return
        if not self._reliable:
            self._timers.start("E", self._settings.t1, lambda: self._retransmit(self._settings.t1))
        self._timers.start("F", self._settings.timeout, self._timeout)

    def _transmit(self) -> bool:
        try:
            self._send(self.request)
        except Exception:
            self.log.failure("cannot send {method}", method=self.request.method)
            return False
        return True

    def _retransmit(self, interval: float) -> None:
        if self.state not in (TransactionState.TRYING, TransactionState.PROCEEDING):
            return
        self._transmit()
        following = (
            self._settings.t2
            if self.state is TransactionState.PROCEEDING
            else min(2 * interval, self._settings.t2)
        )
        self._timers.start("E", following, lambda: self._retransmit(following))

    def _timeout(self) -> None:
        self.log.debug(
            "Timer F: no response to {method} {cseq}",
            method=self.request.method,
            cseq=self.request.headers.get("CSeq"),
        )
        self._finish(RequestTimeout(self.request))

    def response_received(self, response: SipResponse) -> None:
        if self.state not in (TransactionState.TRYING, TransactionState.PROCEEDING):
            return
        if response.status < 200:
            self.state = TransactionState.PROCEEDING
            return
        self._finish(response)

    def _finish(self, result: SipResponse | RequestTimeout) -> None:
        self._timers.stop_all()
        if isinstance(result, SipResponse) and not self._reliable:
            self.state = TransactionState.COMPLETED
            if self.on_completed is not None:
                self.on_completed(self)
            else:
                self._timers.start("K", self._settings.t4, self.terminate)
        else:
            self.terminate()
        self.deferred.callback(result)

    def terminate(self) -> None:
        if self.state is TransactionState.TERMINATED:
            return
        self.state = TransactionState.TERMINATED
        self._timers.stop_all()
        if self.on_terminated is not None:
            self.on_terminated(self)


@frozen
class CompletedTransaction:
    """A non-INVITE server transaction in the Completed state over UDP (§17.2.2) as Timer J
    keeps it, or an ACKed INVITE one (Confirmed, §17.2.1) until Timer I: all that a
    retransmission of its request needs, the final response as sent and the flow it went
    back on."""

    response: bytes | None
    """None: an ACKed INVITE (Confirmed, §17.2.1), whose retransmissions are absorbed."""
    flow: ISipFlow

    log = Logger()

    def request_retransmitted(self) -> None:
        """The request came again: the same response again (nothing for an ACKed INVITE)."""
        if self.response is None:
            return
        try:
            send_to(self.flow, self.response)
        except Exception:
            self.log.failure("cannot re-send a response to {peer}", peer=self.flow.peer)


class CompletedTransactions:
    """Timer J (§17.2.2) for every completed non-INVITE server transaction of a table (or
    Timer I, §17.2.1, or Timer K for its client transactions, §17.1.2.2).

    Entries by transaction key, and their deadlines (``lifetime`` after completion, the same
    for all, so appending keeps them in time order) in a deque swept by one delayed call:
    at the first deadline, then at most once per ``resolution`` seconds while any is left.
    ``on_expired`` is told of each entry that leaves at its deadline.
    """

    def __init__(
        self,
        clock: IReactorTime,
        lifetime: float,
        resolution: float = 1.0,
        on_expired: Callable[[Any], None] | None = None,
    ) -> None:
        self._clock = clock
        self.lifetime = lifetime
        self.resolution = resolution
        self.on_expired = on_expired
        self._kept: dict[Hashable, Any] = {}
        self._deadlines: deque[tuple[float, Hashable, Any]] = deque()
        self._sweep_call: IDelayedCall | None = None

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: Hashable) -> Any:
        return self._kept.get(key)

    def values(self) -> list[Any]:
        return list(self._kept.values())

    def keep(self, key: Hashable, response: bytes | None, flow: ISipFlow) -> None:
        """Answer retransmissions of the request of ``key`` with ``response`` for
        ``lifetime`` seconds."""
        self.put(key, CompletedTransaction(response, flow))

    def put(self, key: Hashable, entry: Any) -> None:
        """Keep ``entry`` under ``key`` for ``lifetime`` seconds (replacing any)."""
        expires = self._clock.seconds() + self.lifetime
        self._kept[key] = entry
        self._deadlines.append((expires, key, entry))
        if self._sweep_call is None:
            self._sweep_call = self._clock.callLater(self.lifetime, self._sweep)

    def _sweep(self) -> None:
        self._sweep_call = None
        now = self._clock.seconds()
        deadlines, kept, on_expired = self._deadlines, self._kept, self.on_expired
        while deadlines and deadlines[0][0] <= now:
            _, key, entry = deadlines.popleft()
            if kept.get(key) is entry:  # not kept again since
                del kept[key]
                if on_expired is not None:
                    on_expired(entry)
        if deadlines:
            delay = max(deadlines[0][0] - now, self.resolution)
            self._sweep_call = self._clock.callLater(delay, self._sweep)

    def clear(self) -> None:
        """Forget every entry and stop the sweep (the service stops)."""
        if self._sweep_call is not None and self._sweep_call.active():
            self._sweep_call.cancel()
        self._sweep_call = None
        self._kept.clear()
        self._deadlines.clear()


def client_key(branch: str, method: str) -> Hashable:
    """§17.1.3: a response matches the client transaction of its top Via branch and
    CSeq method."""
    return (branch, method)


class TransactionTable:
    """The transactions a UA core owns, by key; terminated ones remove themselves, and
    server transactions over UDP past their last response become
    :class:`CompletedTransaction` entries: completed non-INVITE ones until Timer J
    (``timers.timeout`` on ``clock``), ACKed INVITE ones until Timer I (``timers.t4``).
    Client transactions completed over UDP are kept (to absorb retransmitted responses)
    until Timer K (``timers.t4``), by one sweep too."""

    def __init__(self, clock: IReactorTime, timers: TimerSettings | None = None) -> None:
        settings = timers or TimerSettings()
        self._server: dict[Hashable, ServerTransaction] = {}
        self._client: dict[Hashable, NonInviteClientTransaction] = {}
        self.completed = CompletedTransactions(clock, settings.timeout)
        self.confirmed = CompletedTransactions(clock, settings.t4)
        self.completed_clients = CompletedTransactions(
            clock, settings.t4, on_expired=NonInviteClientTransaction.terminate
        )

    def __len__(self) -> int:
        return self.server_count + len(self._client) + len(self.completed_clients)

    @property
    def server_count(self) -> int:
        """Server transactions, those kept for Timers J and I included."""
        return len(self._server) + len(self.completed) + len(self.confirmed)

    def find_server(
        self, request: SipRequest, method: str | None = None
    ) -> ServerTransaction | CompletedTransaction | None:
        key = server_key(request, method)
        found = self._server.get(key)
        if found is None:
            found = self.completed.get(key)  # the keys hold the method: no INVITE here
        return found if found is not None else self.confirmed.get(key)

    def add_server(self, transaction: ServerTransaction) -> None:
        self._server[transaction.key] = transaction
        transaction.on_terminated = self._server_terminated
        transaction.on_kept = self._server_kept

    def _server_terminated(self, transaction: ServerTransaction) -> None:
        if self._server.get(transaction.key) is transaction:
            del self._server[transaction.key]

    def _server_kept(self, transaction: ServerTransaction, response: bytes | None) -> None:
        key = transaction.key
        if self._server.get(key) is transaction:
            del self._server[key]
        invite = isinstance(transaction, InviteServerTransaction)
        (self.confirmed if invite else self.completed).keep(key, response, transaction.flow)

    def find_client(self, response: SipResponse) -> NonInviteClientTransaction | None:
        try:
            key = client_key(response.top_via.branch or "", response.cseq.method)
        except HeaderSyntaxError:
            return None
        found = self._client.get(key)
        return found if found is not None else self.completed_clients.get(key)

    def add_client(self, transaction: NonInviteClientTransaction) -> None:
        self._client[transaction.key] = transaction
        transaction.on_terminated = self._client_terminated
        transaction.on_completed = self._client_completed

    def _client_completed(self, transaction: NonInviteClientTransaction) -> None:
        """Completed over UDP: Timer K by the sweep (it then terminates the transaction)."""
        if self._client.get(transaction.key) is transaction:
            del self._client[transaction.key]
        self.completed_clients.put(transaction.key, transaction)

    def _client_terminated(self, transaction: NonInviteClientTransaction) -> None:
        if self._client.get(transaction.key) is transaction:
            del self._client[transaction.key]

    def terminate_all(self) -> None:
        """Terminate every transaction, cancelling its timers (the service stops)."""
        clients = [*self._client.values(), *self.completed_clients.values()]
        for transaction in [*self._server.values(), *clients]:
            transaction.terminate()
        self.completed.clear()
        self.confirmed.clear()
        self.completed_clients.clear()

    @property
    def server_transactions(self) -> list[ServerTransaction]:
        """The server transactions still in progress (not the completed ones of Timer J)."""
        return list(self._server.values())

    @property
    def client_transactions(self) -> list[NonInviteClientTransaction]:
        """The client transactions in progress and those completed, until Timer K."""
        return [*self._client.values(), *self.completed_clients.values()]
