"""TR/87 uaCSTA (ECMA TR/87 clause 7; ECMA-323 ed4 annex K), the MS Lync 2013 RCC dialect:
each SIP dialog is one association of the CSTA core (docs/protocol-notes.md T1-T8; the
R numbers below are its interop rules).

- The INVITE's body (``RequestSystemStatus`` with the ``lcs:line`` private element) is
  answered in the 200 OK with ``RequestSystemStatusResponse`` ``normal``; an INVITE without
  a body is accepted with an empty 200. A re-INVITE refreshes the dialog and keeps its
  monitors (sipe skips MonitorStart when it has a crossRefID).
- Requests arrive as INFO with ``application/csta+xml``; the CSTA response (or
  ``CSTAErrorCode``) travels in the body of the 200 OK to that INFO.
- Events go to the client as INFO requests in the dialog. They are sent after the 200 OK of
  the request that caused them (R6) and never wait for each other's 200s (R1): an INFO the
  client never answers times out (Timer F) without harming the dialog or its monitors.
- A new INVITE for a line that already has a dialog (route expiry, client restart, R9)
  replaces the old dialog (BYE, its monitors stopped) or keeps both, by the setting
  ``line_replacement``: ``off``, ``same-peer`` (only from the old dialog's IP address: the
  default, so that one client cannot end another's dialog) or ``any``.
- Lock-out limits (docs/limits.md): one IP address holds at most
  ``Limits.max_dialogs_per_address`` dialogs (one more INVITE: 503 + Retry-After), and a
  dialog without an RFC 4028 session timer whose client sends no request for
  ``Limits.dialog_idle_timeout`` seconds is ended with a BYE. An address reaching its
  limit is logged once, not for each INVITE refused: the next line comes once one of its
  dialogs has ended and the limit is reached again.
- An out-of-dialog INFO with a CSTA body is answered 481 or served, by setting.
- Devices are presented in E.164 (``tel:+4685551001``); the line's own string is echoed.

Authentication (our decision, docs/tr87.md): TR/87 has no ECMA-354 messages; the SIP dialog
is the session (TR/87 7.1). Lync reaches the gateway as a trusted application over a static
route, so TR/87 associations are not asked for an application session whatever the CSTA
server's ``authentication`` mode; restrict who can reach the port with ``--interface``.
"""

from __future__ import annotations

from typing import Any

import attrs
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.config.model import AuthMode, CstaServerSettings, LineReplacement
from cstaserver.csta import codec
from cstaserver.csta.association import (
    BUSY_RETRY_AFTER,
    Association,
    IMessageTransport,
    Profile,
    association_limit_reached,
)
from cstaserver.csta.deviceid import canonical
from cstaserver.csta.grace import GraceTimer
from cstaserver.csta.limitlog import LimitLog
from cstaserver.csta.xmlsafe import XmlRejected, parse_document
from cstaserver.sip.interfaces import ISipApplication, SipAnswer

log = Logger()

CSTA_XML = "application/csta+xml"
EVENT_HEADERS = (("Content-Disposition", "signal;handling=required"),)


@attrs.frozen
class Tr87Settings:
    """The TR/87 behaviour a CSTA server's settings choose (``csta -i``, docs/tr87.md)."""

    # a new INVITE for a line ends the old dialog: never, from the same address, always
    line_replacement: LineReplacement = LineReplacement.SAME_PEER
    serve_out_of_dialog_info: bool = False  # else 481

    @classmethod
    def of_server(cls, server: CstaServerSettings) -> Tr87Settings:
        return cls(
            line_replacement=server.line_replacement,
            serve_out_of_dialog_info=server.out_of_dialog_info,
        )


@implementer(IMessageTransport)
class DialogTransport:
    """One SIP dialog as the core's message transport."""

    def __init__(self, dialog: Any, clock: Any) -> None:
        self.dialog = dialog
        self.clock = clock
        self.peer = str(getattr(dialog, "remote_uri", "sip"))
        self.address = dialog_address(dialog)  # the client's IP (per-address limits)
        self._answering = 0
        self._queued: list[bytes] = []
        self.unanswered_events = 0

    # -- the core's side ------------------------------------------------------------------
    def write_message(self, data: bytes, correlation: object) -> None:
        if correlation.__class__ is _PendingRequest:
            correlation.settle(csta_answer(data))  # type: ignore[attr-defined]
            return
        if isinstance(correlation, Deferred):
            correlation.callback(csta_answer(data))
            return
        if self._answering:
            self._queued.append(data)  # after the 200 OK of the request being answered
            return
        self._send_event(data)

    def send_request(self, data: bytes) -> Deferred:
        return self.dialog.send_request("INFO", data, CSTA_XML, EVENT_HEADERS).addCallback(
            lambda response: getattr(response, "body", b"")
        )

    def close(self, reason: str) -> None:
        if not self.dialog.terminated:
            self.dialog.end(reason)

    # -- requests in ----------------------------------------------------------------------
    def answer(
        self, association: Association, body: bytes, root: Any = None
    ) -> SipAnswer | Deferred:
        """Run one CSTA request: its SipAnswer when the core answers at once (no Deferred
        per request), else a Deferred firing with it. Events it causes are sent once the
        endpoint has sent that answer (next reactor turn); an answer given at once with no
        event waiting leaves nothing to wait for."""
        pending = _PendingRequest()
        self._answering += 1
        try:
            if root is None:
                association.receive(body, pending)
            else:
                association.receive(body, pending, root=root)
        finally:
            if pending.answer is not None and not self._queued:
                self._answering -= 1
            else:
                self.clock.callLater(0, self._release)
        if pending.answer is not None:
            return pending.answer
        pending.waiting = Deferred()
        return pending.waiting

    def _release(self) -> None:
        self._answering -= 1
        if self._answering:
            return
        queued, self._queued = self._queued, []
        for data in queued:
            self._send_event(data)

    def _send_event(self, data: bytes) -> None:
        if self.dialog.terminated:
            return
        sent = self.dialog.send_request("INFO", data, CSTA_XML, EVENT_HEADERS)
        sent.addCallback(self._event_answered)

    def _event_answered(self, response: Any) -> None:
        if not hasattr(response, "status"):
            self.unanswered_events += 1  # RequestTimeout: counted, nothing else (R1)


class _PendingRequest:
    """The correlation of one request handed to the core: the answer once the core gives
    it, or the Deferred of the endpoint waiting for it (a core that answers later)."""

    __slots__ = ("answer", "waiting")

    def __init__(self) -> None:
        self.answer: SipAnswer | None = None
        self.waiting: Deferred | None = None

    def settle(self, answer: SipAnswer) -> None:
        if self.waiting is not None:
            self.waiting.callback(answer)
        else:
            self.answer = answer


def csta_answer(data: bytes) -> SipAnswer:
    """200 OK carrying the CSTA answer; without a body for a request that has no positive
    response."""
    return SipAnswer(200, data, CSTA_XML) if data else SipAnswer(200)


def checked_body(body: bytes) -> tuple[SipAnswer | None, Any]:
    """A 400 for a body that is not well-formed XML (or carries a DTD): a SIP problem
    (docs/protocol-notes.md T4); else no refusal and the parsed root (None for an empty
    body), which the core then uses instead of parsing the body a second time. A
    well-formed body that is not a valid CSTA request is the core's to answer (200 OK with
    ``CSTAErrorCode``); so is its size."""
    if not body.strip():
        return None, None
    try:
        root = parse_document(body, max_bytes=len(body))
    except XmlRejected as rejected:
        log.info("400 to a body that is not well-formed XML: {reason}", reason=rejected.reason)
        return SipAnswer(400, reason="Malformed CSTA XML"), None
    return None, root


def line_of(root: Any, numbering: Any) -> tuple[str, str] | None:
    """(line number, line string) from the ``lcs:line`` private element of a body's parsed
    ``root`` (:func:`checked_body`'s; None for an empty body)."""
    if root is None:
        return None
    for element in codec.find_descendants(root, "line"):
        text = (element.text or "").strip()
        if text:
            try:
                return canonical(text, numbering).number, text
            except ValueError:
                return None
    return None


def dialog_address(dialog: Any) -> str | None:
    """The IP address a dialog's client sends from (its flow's peer), if known."""
    peer = getattr(getattr(dialog, "flow", None), "peer", None)
    if isinstance(peer, tuple) and peer and peer[0]:
        return str(peer[0])
    return None


@attrs.define(eq=False)
class DialogState:
    """What the application keeps in ``dialog.context``."""

    association: Association
    transport: DialogTransport
    line: str | None = None
    address: str | None = None
    idle: GraceTimer | None = None  # ends a dialog without session timer left idle


@implementer(ISipApplication)
class Tr87Application:
    """Maps SIP dialogs onto CSTA associations."""

    def __init__(
        self, core: Any, clock: Any, settings: Tr87Settings | None = None, server: Any = None
    ) -> None:
        self.core = core
        self.clock = clock
        if settings is None:
            settings = Tr87Settings.of_server(server) if server is not None else Tr87Settings()
        self.settings = settings
        # the dialog is the session: no ECMA-354 authentication (module docstring)
        options = {"auth_mode": AuthMode.OFF, "e164_presentation": True}
        self.profile = (
            Profile.for_server(server, "tr87", **options)
            if server is not None
            else Profile(name="tr87", **options)
        )
        self.lines: dict[str, Any] = {}  # line number -> dialog
        self.per_address: dict[str, int] = {}  # client IP -> dialogs
        #: addresses whose dialog limit is reached and logged, until one of their dialogs ends
        self._limit_log = LimitLog()

    def _numbering(self) -> Any:
        return getattr(self.core.switch, "public_numbering", None)

    def dialog_requested(self, dialog: Any, invite: Any) -> Any:
        body = invite.body or b""
        refusal, root = checked_body(body)
        if refusal is not None:
            return refusal
        if dialog.confirmed:  # re-INVITE: refresh, keep the association and monitors
            state = dialog.context
            self._active(state)
            if body.strip() and state is not None:
                return state.transport.answer(state.association, body, root)
            return SipAnswer(200)
        busy = SipAnswer(503, headers=(("Retry-After", str(BUSY_RETRY_AFTER)),))
        if association_limit_reached(self.core):
            return busy
        address = dialog_address(dialog)
        if address is not None and self._address_full(address):
            return busy
        transport = DialogTransport(dialog, self.clock)
        state = DialogState(self.core.associate(transport, self.profile), transport)
        state.address = address
        if address is not None:
            self.per_address[address] = self.per_address.get(address, 0) + 1
        state.idle = GraceTimer(self.clock, lambda: self._idle(dialog))
        self._active(state)
        dialog.context = state
        line = line_of(root, self._numbering())
        if line is not None:
            number, text = line
            state.association.remember_device_string(number, text)
            state.line = number
            self._claim_line(number, dialog)
        if not body.strip():
            return SipAnswer(200)
        return transport.answer(state.association, body, root)

    def _address_full(self, address: str) -> bool:
        limit = getattr(self.core.limits, "max_dialogs_per_address", None)
        count = self.per_address.get(address, 0)
        if limit is None or count < limit:
            return False
        if not self._limit_log.first(address):
            return True
        log.warn(
            "TR/87 INVITE from {address} refused: it holds {count} dialogs (the limit; "
            "further INVITEs are refused without a line until one of them ends)",
            address=address,
            count=count,
        )
        return True

    def _active(self, state: DialogState | None) -> None:
        """A request from the client: the idle time starts again."""
        if state is None or state.idle is None:
            return
        seconds = getattr(self.core.limits, "dialog_idle_timeout", None)
        if seconds:
            state.idle.start(seconds)

    def _idle(self, dialog: Any) -> None:
        """No request for ``dialog_idle_timeout`` seconds. A dialog with an RFC 4028 session
        timer is the timer's to end (refreshes by UPDATE do not reach us); one without is
        ended (BYE): a client that never refreshes cannot hold a dialog for ever."""
        if dialog.terminated:
            return
        if getattr(dialog, "session_interval", None) is not None:
            self._active(dialog.context)
            return
        log.info(
            "dialog {call_id}: no request from the client for {seconds} s, ended",
            call_id=getattr(dialog, "call_id", "?"),
            seconds=getattr(self.core.limits, "dialog_idle_timeout", "?"),
        )
        dialog.end("idle")

    def _claim_line(self, number: str, dialog: Any) -> None:
        """The new dialog is the line's; what happens to an older one is the
        ``line_replacement`` setting's (see :class:`LineReplacement`)."""
        old = self.lines.get(number)
        if old is None or old is dialog or old.terminated:
            self.lines[number] = dialog
            return
        mode = self.settings.line_replacement
        if mode is LineReplacement.OFF:
            self.lines[number] = dialog  # both kept
            return
        same_peer = dialog_address(old) == dialog_address(dialog)
        if mode is LineReplacement.ANY or same_peer:
            log.info("line {line}: a new dialog replaces the old one", line=number)
            self.lines[number] = dialog
            old.end("replaced")
            return
        log.warn(
            "line {line}: INVITE from {address} does not replace the dialog of {owner}"
            " (line replacement: same-peer)",
            line=number,
            address=dialog_address(dialog),
            owner=dialog_address(old),
        )

    def request_in_dialog(self, dialog: Any, request: Any) -> Any:
        state = dialog.context
        if state is None or state.association.closed:
            return 481
        self._active(state)
        if not (request.body or b"").strip():
            return SipAnswer(200)
        refusal, root = checked_body(request.body)
        if refusal is not None:
            return refusal
        return state.transport.answer(state.association, request.body, root)

    def out_of_dialog_request(self, request: Any) -> Any:
        if not self.settings.serve_out_of_dialog_info or not (request.body or b"").strip():
            return 481
        refusal, root = checked_body(request.body)
        if refusal is not None:
            return refusal
        transport = _OneShotTransport()
        association = self.core.associate(transport, self.profile)
        answer: Deferred = Deferred()
        association.receive(request.body, answer, root=root)

        def answered(result: object) -> object:  # at once, or later (a cluster's front end)
            association.connection_lost("out-of-dialog request answered")
            return result

        return answer.addBoth(answered)

    def dialog_ended(self, dialog: Any, reason: str) -> None:
        state = dialog.context
        if state is None:
            return
        if state.line is not None and self.lines.get(state.line) is dialog:
            del self.lines[state.line]
        if state.idle is not None:
            state.idle.cancel()
            state.idle = None
        if state.address is not None:
            self._limit_log.below(state.address)
            left = self.per_address.get(state.address, 0) - 1
            if left > 0:
                self.per_address[state.address] = left
            else:
                self.per_address.pop(state.address, None)
            state.address = None
        state.association.connection_lost(f"dialog ended: {reason}")


@implementer(IMessageTransport)
class _OneShotTransport:
    """An out-of-dialog INFO: a response, no events (there is nowhere to send them)."""

    peer = "sip (out of dialog)"

    def write_message(self, data: bytes, correlation: object) -> None:
        if isinstance(correlation, Deferred):
            correlation.callback(csta_answer(data))

    def send_request(self, data: bytes) -> Deferred:
        raise ConnectionError("no dialog")

    def close(self, reason: str) -> None:
        pass
