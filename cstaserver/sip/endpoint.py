"""The UA core: RFC 3261 §8.2 (UAS request processing), §12 (dialogs), §17 (owning the
transactions), §18.2 (server transport: Via ``received``/``rport`` per RFC 3581 and where
responses go), §9.2 (CANCEL) and RFC 4028 (session timer, UAS side).

:class:`SipEndpoint` receives parsed messages from the transports (UDP and TCP alike,
through an :class:`~cstaserver.sip.interfaces.ISipFlow`), answers the SIP-level cases
itself and hands the rest to an :class:`~cstaserver.sip.interfaces.ISipApplication`:

=====================================================  ===========================================
request                                                answer
=====================================================  ===========================================
unparsable, CSeq method ≠ method                       400 (505 for another SIP version)
larger than the limit                                  513
Request-URI scheme other than sip, sips, tel           416
``Require`` with an option other than ``timer``        420 + Unsupported
NOTIFY (``Event: uaCSTA`` or any other)                489 Bad Event
a method outside ``ALLOWED_METHODS``                   405 + Allow
OPTIONS                                                200 + Allow, Accept, Supported
a body that is not one of the accepted types           415 + Accept
BYE, INFO, INVITE, UPDATE for an unknown dialog        481
INVITE outside a dialog, re-INVITE                     the application (``dialog_requested``)
INFO in a dialog                                       the application (``request_in_dialog``)
INFO outside a dialog                                  the application (``out_of_dialog_request``)
BYE                                                    200, then ``dialog_ended(dialog, "bye")``
=====================================================  ===========================================

Responses go back on the flow the request came on (TCP: the same connection). On UDP,
by default to the source address and port (symmetric, as if every client asked for
``rport``, which survives NAT); with ``SipConfig.symmetric_responses`` off, to
``maddr``, ``received`` + ``rport`` or the sent-by port as §18.2.2 says. Requests we send
in a dialog use the dialog's latest flow (connection reuse); their Request-URI is the
client's Contact.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from attrs import field, frozen
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from cstaserver.sip.dialog import Dialog, DialogId, generate_tag
from cstaserver.sip.headers import Via, find_param, has_param, option_tags
from cstaserver.sip.interfaces import ISipApplication, ISipFlow, SipAnswer, coerce_answer
from cstaserver.sip.message import (
    ParserLimits,
    SipParseError,
    SipRequest,
    SipResponse,
    make_response,
)
from cstaserver.sip.transaction import (
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    RequestTimeout,
    ResponseBudget,
    ServerTransaction,
    TimerSettings,
    TransactionTable,
    generate_branch,
)

ALLOWED_METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "INFO", "OPTIONS", "UPDATE")
SUPPORTED_OPTIONS = frozenset({"timer"})
URI_SCHEMES = frozenset({"sip", "sips", "tel"})
# the fixed header fields of our responses, rendered once
ALLOW = ("Allow", ", ".join(ALLOWED_METHODS))
SUPPORTED = ("Supported", ", ".join(sorted(SUPPORTED_OPTIONS)))


def _session_expires_valid(instance: Any, attribute: Any, value: int | None) -> None:
    if value is not None and value < 120:
        raise ValueError("session_expires must be at least 120 seconds, or None")


@frozen
class SipConfig:
    """Settings of the SIP layer; every default is the documented one."""

    timers: TimerSettings = TimerSettings()
    limits: ParserLimits = ParserLimits()
    accepted_content_types: tuple[str, ...] = ("application/csta+xml",)
    contact_user: str = "cstaserver"
    contact_host: str | None = None
    """Host for our Contact and Via; default: the local address of the flow."""
    server_name: str = "cstaserver"
    session_expires: int | None = field(default=1800, validator=_session_expires_valid)
    """Session-Expires we grant (RFC 4028) to clients that support ``timer``; None: none."""
    min_se: int = 90
    trying_delay: float | None = 0.2
    """Send 100 Trying if an INVITE is not answered within this time; None: never."""
    symmetric_responses: bool = True
    end_dialogs_on_disconnect: bool = True
    """End a dialog when the TCP connection it last used closes."""
    partial_message_timeout: float | None = 60.0
    """Close a TCP connection holding half a message idle this long (None: never)."""
    udp_unacknowledged_bytes: int | None = 65536
    """Bytes of final INVITE responses over UDP one address may have waiting for an ACK
    before a further one is sent without retransmissions (None: no limit)."""


def _configured_budget(endpoint: Callable[[], SipEndpoint | None]) -> Callable[[], int | None]:
    """The endpoint's configured UDP response budget (through a weak reference: an endpoint
    no longer used is freed at once, and drops out of the metrics)."""

    def limit() -> int | None:
        found = endpoint()
        return None if found is None else found.config.udp_unacknowledged_bytes

    return limit


class SipEndpoint:
    """Owns the transactions and dialogs of one SIP listener (UDP and TCP)."""

    log = Logger()

    def __init__(
        self,
        application: ISipApplication,
        clock: IReactorTime,
        config: SipConfig | None = None,
    ) -> None:
        self.application = application
        self.clock = clock
        self.config = config or SipConfig()
        self.transactions = TransactionTable(clock, self.config.timers)
        self.stats: Counter[str] = Counter()
        #: unacknowledged final responses over UDP per address (the reflection bound); the
        #: composition may point ``limit`` at the exchange data's limits in force
        self.response_budget = ResponseBudget(_configured_budget(weakref.ref(self)))
        self._dialogs: dict[DialogId, Dialog] = {}

    @property
    def dialogs(self) -> Mapping[DialogId, Dialog]:
        return MappingProxyType(self._dialogs)

    # -- entry points for the transports ------------------------------------------------

    def message_received(self, message: SipRequest | SipResponse, flow: ISipFlow) -> None:
        """A parsed message arrived on ``flow``; never raises."""
        try:
            if isinstance(message, SipResponse):
                self._response_received(message)
            else:
                self._request_received(message, flow)
        except Exception:
            self.stats["internal errors"] += 1
            self.log.failure("error handling a message from {peer}", peer=flow.peer)

    def parse_failed(self, error: SipParseError, flow: ISipFlow) -> None:
        """A message could not be parsed: answer it statelessly if it was a request."""
        self.stats["parse errors"] += 1
        request = error.message
        self.log.debug(
            "unparsable message from {peer}: {detail}", peer=flow.peer, detail=error.detail
        )
        if not isinstance(request, SipRequest) or request.method == "ACK":
            return
        headers = [("Server", self.config.server_name)]
        self._send_quietly(flow, make_response(request, error.status, headers=headers))

    def flow_closed(self, flow: ISipFlow) -> None:
        """A connection closed: its dialogs end (by configuration)."""
        if not self.config.end_dialogs_on_disconnect:
            return
        for dialog in list(self._dialogs.values()):
            if dialog.flow is flow:
                self.end_dialog(dialog, "connection lost", send_bye=False)

    def close(self, reason: str = "shutdown") -> None:
        """End every dialog with a BYE (server shutdown, ``csta -e``)."""
        for dialog in list(self._dialogs.values()):
            self.end_dialog(dialog, reason, send_bye=True)

    def stop(self) -> None:
        """Cancel every timer: end dialogs without BYE and drop all transactions."""
        for dialog in list(self._dialogs.values()):
            self.end_dialog(dialog, "shutdown", send_bye=False)
        self.transactions.terminate_all()

    # -- sending ------------------------------------------------------------------------

    def _send(self, flow: ISipFlow, message: SipRequest | SipResponse) -> None:
        if not flow.connected:
            raise ConnectionError(f"connection to {flow.peer} is closed")
        flow.send_bytes(message.to_bytes())

    def _send_quietly(self, flow: ISipFlow, message: SipRequest | SipResponse) -> None:
        try:
            self._send(flow, message)
        except Exception:
            self.log.failure("cannot send to {peer}", peer=flow.peer)

    def _local_address(self, flow: ISipFlow) -> tuple[str, int]:
        host, port = flow.local
        host = self.config.contact_host or host
        return (f"[{host}]" if ":" in host and not host.startswith("[") else host), port

    def _contact(self, flow: ISipFlow) -> str:
        host, port = self._local_address(flow)
        transport = flow.transport_name.lower()
        return f"sip:{self.config.contact_user}@{host}:{port};transport={transport}"

    def send_in_dialog(
        self, dialog: Dialog, request: SipRequest
    ) -> Deferred[SipResponse | RequestTimeout]:
        """Start a non-INVITE client transaction for a request built by ``dialog``."""
        flow = dialog.flow
        if not flow.connected:
            self.stats["requests without transport"] += 1
            return succeed(RequestTimeout(request, "no transport"))
        host, port = self._local_address(flow)
        via = Via(flow.transport_name, host, port, (("branch", generate_branch()), ("rport", None)))
        request.headers.prepend("Via", str(via))
        request.headers.add("User-Agent", self.config.server_name)
        transaction = NonInviteClientTransaction(
            request,
            clock=self.clock,
            timers=self.config.timers,
            send=lambda message: self._send(flow, message),
            reliable=flow.reliable,
        )
        self.transactions.add_client(transaction)
        transaction.deferred.addCallback(self._count_outcome)
        transaction.start()
        return transaction.deferred

    def _count_outcome(self, result: SipResponse | RequestTimeout) -> SipResponse | RequestTimeout:
        if isinstance(result, RequestTimeout):
            self.stats["request timeouts"] += 1
            self.log.debug(
                "no response to {method} ({reason})",
                method=result.request.method,
                reason=result.reason,
            )
        return result

    def _response_received(self, response: SipResponse) -> None:
        transaction = self.transactions.find_client(response)
        if transaction is None:
            self.log.debug("stray {status} response dropped", status=response.status)
            return
        transaction.response_received(response)

    # -- receiving requests -------------------------------------------------------------

    def _response_flow(self, request: SipRequest, flow: ISipFlow) -> ISipFlow:
        """Stamp the top Via (§18.2.1, RFC 3581) and choose where responses go (§18.2.2)."""
        via = request.top_via
        host, port = flow.peer
        stamped = via
        if via.host.strip("[]") != host:
            stamped = stamped.with_param("received", host)
        if has_param(via.params, "rport"):
            stamped = stamped.with_param("rport", str(port))
        if stamped != via:
            request.headers.replace_first("Via", str(stamped))
        if flow.reliable or self.config.symmetric_responses:
            return flow
        maddr = find_param(via.params, "maddr")
        target_port = stamped.rport or via.port or 5060
        return flow.to_address(maddr or stamped.received or via.host, target_port)

    def _request_received(self, request: SipRequest, flow: ISipFlow) -> None:
        response_flow = self._response_flow(request, flow)
        if request.method == "ACK":
            self._ack_received(request)
            return
        existing = self.transactions.find_server(request)
        if existing is not None:
            self.stats["retransmissions"] += 1
            existing.request_retransmitted()
            return
        transaction = self._server_transaction(request, response_flow)
        if request.method == "CANCEL":
            self._cancel_received(request, transaction)
            return
        refusal = self._check_request(request)
        if refusal is not None:
            transaction.respond(refusal)
            return
        if request.to_tag:
            self._in_dialog(request, transaction, response_flow)
        elif request.method == "INVITE":
            self._invite(request, transaction, None, response_flow)
        elif request.method == "INFO":
            self._ask(
                transaction,
                request,
                lambda: self.application.out_of_dialog_request(request),
                lambda answer: self._answer(request, answer),
            )
        else:
            transaction.respond(self._response(request, 481))

    def _server_transaction(self, request: SipRequest, flow: ISipFlow) -> ServerTransaction:
        common: dict[str, Any] = {
            "clock": self.clock,
            "timers": self.config.timers,
            "flow": flow,
        }
        transaction: ServerTransaction
        if request.method == "INVITE":
            transaction = InviteServerTransaction(
                request,
                trying_delay=self.config.trying_delay,
                on_ack_timeout=self._ack_timeout,
                budget=None if flow.reliable else self.response_budget,
                budget_key=flow.peer[0] if isinstance(flow.peer, tuple) else flow.peer,
                **common,
            )
        else:
            transaction = NonInviteServerTransaction(request, **common)
        self.transactions.add_server(transaction)
        return transaction

    def _response(
        self,
        request: SipRequest,
        status: int,
        headers: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> SipResponse:
        extra = [("Server", self.config.server_name), *(headers or [])]
        return make_response(request, status, headers=extra, **kwargs)

    def _check_request(self, request: SipRequest) -> SipResponse | None:
        """The answers the core gives itself (§8.2.1-§8.2.3), or None."""
        method = request.method
        scheme = request.uri.partition(":")[0].lower()
        if scheme not in URI_SCHEMES:
            return self._response(request, 416)
        unsupported = option_tags(request.headers.get_all("Require")) - SUPPORTED_OPTIONS
        if unsupported:
            return self._response(request, 420, [("Unsupported", ", ".join(sorted(unsupported)))])
        if method == "NOTIFY":
            return self._response(request, 489)
        if method not in ALLOWED_METHODS:
            return self._response(request, 405, [ALLOW])
        if method == "OPTIONS":
            return self._response(
                request,
                200,
                [
                    ALLOW,
                    ("Accept", ", ".join(self.config.accepted_content_types)),
                    SUPPORTED,
                ],
            )
        if request.body and request.content_type not in self.config.accepted_content_types:
            return self._response(
                request, 415, [("Accept", ", ".join(self.config.accepted_content_types))]
            )
        return None

    def _in_dialog(
        self, request: SipRequest, transaction: ServerTransaction, flow: ISipFlow
    ) -> None:
        dialog = self._dialogs.get(DialogId.for_request(request))
        if dialog is None or dialog.terminated:
            self.stats["unknown dialog"] += 1
            transaction.respond(self._response(request, 481))
            return
        dialog.note_request(request, flow)
        if request.method == "INVITE":
            self._invite(request, transaction, dialog, flow)
        elif request.method == "INFO":
            self._ask(
                transaction,
                request,
                lambda: self.application.request_in_dialog(dialog, request),
                lambda answer: self._answer(request, answer),
            )
        elif request.method == "BYE":
            transaction.respond(self._response(request, 200))
            self.end_dialog(dialog, "bye", send_bye=False)
        else:  # UPDATE: a session refresh without a new offer
            self._update(request, transaction, dialog)

    # -- the application ----------------------------------------------------------------

    def _ask(
        self,
        transaction: ServerTransaction,
        request: SipRequest,
        call: Callable[[], Any],
        finish: Callable[[SipAnswer], SipResponse | None],
    ) -> None:
        """Ask the application, then answer the transaction when it is done: at once when
        it answered at once (a plain value, or a Deferred that has fired already: no
        callback chain per request), else when its Deferred fires."""
        try:
            result = call()
        except Exception:
            result = Failure()
        if not isinstance(result, Deferred):
            self._settle(transaction, request, result, finish)
            return
        outcome: list[Any] = []
        result.addBoth(outcome.append)
        if outcome:
            self._settle(transaction, request, outcome[0], finish)
        else:
            result.addCallback(lambda _: self._settle(transaction, request, outcome[0], finish))

    def _settle(
        self,
        transaction: ServerTransaction,
        request: SipRequest,
        outcome: Any,
        finish: Callable[[SipAnswer], SipResponse | None],
    ) -> None:
        """Answer ``transaction`` with what the application gave (a 500 for a failure or
        for something that is not an answer); never raises."""
        try:
            if isinstance(outcome, Failure):
                answer = self._application_failed(outcome, request)
            else:
                try:
                    answer = coerce_answer(outcome)
                except Exception:
                    answer = self._application_failed(Failure(), request)
            response = finish(answer)
            if response is not None:
                transaction.respond(response)
        except Exception:
            self.log.failure("cannot answer {method}", method=request.method)

    def _application_failed(self, failure: Failure, request: SipRequest) -> SipAnswer:
        self.stats["application errors"] += 1
        self.log.failure("application failed on {method}", failure, method=request.method)
        return SipAnswer(500)

    def _answer(
        self,
        request: SipRequest,
        answer: SipAnswer,
        headers: list[tuple[str, str]] | None = None,
        to_tag: str | None = None,
    ) -> SipResponse:
        extra = [*(headers or []), *answer.headers]
        if answer.body:
            content_type = (
                answer.content_type
                or request.headers.get("Content-Type")
                or self.config.accepted_content_types[0]
            )
            extra.append(("Content-Type", content_type))
        return self._response(
            request, answer.status, extra, reason=answer.reason, to_tag=to_tag, body=answer.body
        )

    # -- INVITE, ACK, CANCEL, UPDATE, BYE -----------------------------------------------

    def _session_interval(self, request: SipRequest) -> int | SipResponse | None:
        """RFC 4028 §9: the interval we grant, a 422 response, or None (no timer)."""
        configured = self.config.session_expires
        if configured is None:
            return None
        raw = (request.headers.get("Session-Expires") or "").partition(";")[0].strip()
        requested = int(raw) if raw.isdigit() else None
        if requested is not None and requested < self.config.min_se:
            return self._response(request, 422, [("Min-SE", str(self.config.min_se))])
        tags = option_tags(
            request.headers.get_all("Supported") + request.headers.get_all("Require")
        )
        if "timer" not in tags:
            return None
        return max(min(requested or configured, configured), self.config.min_se)

    def _session_headers(self, interval: int | None) -> list[tuple[str, str]]:
        if interval is None:
            return []
        return [("Session-Expires", f"{interval};refresher=uac"), ("Require", "timer")]

    def _invite(
        self,
        request: SipRequest,
        transaction: ServerTransaction,
        dialog: Dialog | None,
        flow: ISipFlow,
    ) -> None:
        interval = self._session_interval(request)
        if isinstance(interval, SipResponse):
            transaction.respond(interval)
            return
        created = dialog is None
        if dialog is None:
            dialog = Dialog(
                request,
                local_tag=generate_tag(),
                local_contact=self._contact(flow),
                flow=flow,
                owner=self,
                clock=self.clock,
            )
            self._dialogs[dialog.dialog_id] = dialog
            self.stats["dialogs created"] += 1
        if isinstance(transaction, InviteServerTransaction):
            transaction.dialog = dialog
        accepted = dialog

        def finish(answer: SipAnswer) -> SipResponse | None:
            if transaction.finished:  # cancelled meanwhile
                return None
            if not 200 <= answer.status < 300:
                if created:
                    self._dialogs.pop(accepted.dialog_id, None)
                    accepted.mark_terminated()
                return self._answer(request, answer, to_tag=accepted.local_tag)
            if accepted.terminated:
                return self._response(request, 481, to_tag=accepted.local_tag)
            if not created:
                accepted.refresh_target(request)
            accepted.confirmed = True
            if isinstance(transaction, InviteServerTransaction):
                accepted.pending_invite = transaction
            accepted.start_session_timer(interval)
            headers = [
                ("Contact", f"<{accepted.local_contact}>"),
                ALLOW,
                SUPPORTED,
                *self._session_headers(interval),
            ]
            return self._answer(request, answer, headers, to_tag=accepted.local_tag)

        self._ask(
            transaction,
            request,
            lambda: self.application.dialog_requested(accepted, request),
            finish,
        )

    def _update(self, request: SipRequest, transaction: ServerTransaction, dialog: Dialog) -> None:
        interval = self._session_interval(request)
        if isinstance(interval, SipResponse):
            transaction.respond(interval)
            return
        dialog.refresh_target(request)
        if interval is None:
            interval = dialog.session_interval
        dialog.start_session_timer(interval)
        headers = [("Contact", f"<{dialog.local_contact}>"), *self._session_headers(interval)]
        transaction.respond(self._response(request, 200, headers))

    def _ack_received(self, ack: SipRequest) -> None:
        transaction = self.transactions.find_server(ack)
        if isinstance(transaction, InviteServerTransaction) and transaction.awaiting_ack:
            transaction.ack_received()
        dialog = self._dialogs.get(DialogId.for_request(ack))
        if dialog is not None:
            dialog.ack_received(ack)
        elif transaction is None:
            self.log.debug("stray ACK for {call_id} dropped", call_id=ack.call_id)

    def _ack_timeout(self, transaction: InviteServerTransaction) -> None:
        """Timer H: our final response was never acknowledged (§13.3.1.4: end it)."""
        dialog = transaction.dialog
        if isinstance(dialog, Dialog) and dialog.pending_invite is transaction:
            dialog.pending_invite = None
            # over the UDP response budget (a forged source, likely) not even a BYE goes
            self.end_dialog(dialog, "no ACK", send_bye=transaction.within_budget)

    def _cancel_received(self, cancel: SipRequest, transaction: ServerTransaction) -> None:
        """§9.2: 200 to the CANCEL, 487 to the INVITE if it was still pending."""
        invite = self.transactions.find_server(cancel, "INVITE")
        if invite is None:
            transaction.respond(self._response(cancel, 481))
            return
        transaction.respond(self._response(cancel, 200))
        if not isinstance(invite, InviteServerTransaction) or invite.finished:
            return  # answered and ACKed (kept for Timer I): the CANCEL has no effect
        dialog = invite.dialog
        tag = dialog.local_tag if isinstance(dialog, Dialog) else generate_tag()
        invite.respond(self._response(invite.request, 487, to_tag=tag))
        if isinstance(dialog, Dialog) and not dialog.confirmed:
            self.end_dialog(dialog, "cancelled", send_bye=False)

    def end_dialog(self, dialog: Dialog, reason: str, *, send_bye: bool = True) -> None:
        """End ``dialog`` (BYE if asked and it was confirmed) and tell the application."""
        if dialog.terminated:
            return
        if send_bye and dialog.confirmed:
            self.send_in_dialog(dialog, dialog.build_request("BYE"))
        dialog.mark_terminated()
        if self._dialogs.get(dialog.dialog_id) is dialog:
            del self._dialogs[dialog.dialog_id]
        self.stats["dialogs ended"] += 1
        self.log.info("dialog {call_id} ended: {reason}", call_id=dialog.call_id, reason=reason)
        try:
            self.application.dialog_ended(dialog, reason)
        except Exception:
            self.log.failure("application failed on dialog_ended")
