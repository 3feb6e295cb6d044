"""UAS dialogs: RFC 3261 §12 (dialog state, §12.1.1 creation by a UAS, §12.2.1.1
requests within a dialog, §12.2.2 CSeq handling) and the session timer of RFC 4028 §10
(the UAS as non-refresher ends an unrefreshed dialog; the expiry waits a grace after its
time, :class:`~cstaserver.csta.grace.GraceTimer`, so that a refresh already waiting in the
socket after the process was paused is read first).

A :class:`Dialog` is a record plus a request builder; the endpoint routes messages to it.
Client quirks (docs/protocol-notes.md Q2): a lower or reset remote CSeq is accepted and logged at
debug level (sipe restarts its CSeq after each final INVITE response), and an ACK is
matched to the dialog's pending 2xx whatever its CSeq.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Protocol

from attrs import frozen
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.csta.grace import GraceTimer
from cstaserver.sip.headers import HeaderSyntaxError
from cstaserver.sip.interfaces import ISipDialog, ISipFlow
from cstaserver.sip.message import SipRequest, SipResponse
from cstaserver.sip.transaction import InviteServerTransaction, RequestTimeout


def generate_tag() -> str:
    """A To/From tag with 64 random bits (RFC 3261 §19.3)."""
    return secrets.token_hex(8)


@frozen
class DialogId:
    """RFC 3261 §12: Call-ID, local tag, remote tag (our view as UAS)."""

    call_id: str
    local_tag: str
    remote_tag: str

    @classmethod
    def for_request(cls, request: SipRequest) -> DialogId:
        """The id of the dialog a request from the client belongs to."""
        try:
            return cls(request.call_id or "", request.to_tag or "", request.from_tag or "")
        except HeaderSyntaxError:
            return cls(request.call_id or "", "", "")


class DialogOwner(Protocol):
    """What a dialog needs from the UA core that owns it."""

    def send_in_dialog(
        self, dialog: Dialog, request: SipRequest
    ) -> Deferred[SipResponse | RequestTimeout]: ...

    def end_dialog(self, dialog: Dialog, reason: str, *, send_bye: bool = True) -> None: ...


def session_refresh_delay(interval: float) -> float:
    """RFC 4028 §10: the non-refresher sends BYE this long after a refresh."""
    return interval - min(32.0, interval / 3)


@implementer(ISipDialog)
class Dialog:
    """One dialog created by a client's INVITE."""

    log = Logger()

    def __init__(
        self,
        invite: SipRequest,
        *,
        local_tag: str,
        local_contact: str,
        flow: ISipFlow,
        owner: DialogOwner,
        clock: IReactorTime,
    ) -> None:
        self.call_id = invite.call_id or ""
        self.local_tag = local_tag
        self.remote_tag = invite.from_tag or ""
        self.dialog_id = DialogId(self.call_id, local_tag, self.remote_tag)
        # The From and To values are echoed verbatim (tag, epid and all), swapped.
        self.remote_party = invite.headers.get("From") or ""
        self.local_party = f"{invite.headers.get('To') or ''};tag={local_tag}"
        self.remote_uri = invite.from_address.uri
        self.local_uri = invite.to_address.uri
        self.remote_target = self.remote_uri
        self.refresh_target(invite)
        self.route_set = tuple(invite.headers.get_all("Record-Route"))
        self.remote_cseq: int | None = invite.cseq.number
        self.local_cseq = 0
        self.local_contact = local_contact
        self.flow = flow
        self.confirmed = False
        self.terminated = False
        self.context: Any = None
        self.pending_invite: InviteServerTransaction | None = None
        self.session_interval: int | None = None
        self._owner = owner
        self._clock = clock
        self._expiry: GraceTimer | None = None

    def __repr__(self) -> str:
        return f"<Dialog {self.call_id} {self.local_tag}/{self.remote_tag}>"

    # -- requests from the client -------------------------------------------------------

    def note_request(self, request: SipRequest, flow: ISipFlow) -> None:
        """Track the remote CSeq (§12.2.2, tolerating resets) and the latest flow."""
        number = request.cseq.number
        if self.remote_cseq is not None and number <= self.remote_cseq:
            self.log.debug(
                "CSeq {number} {method} not above {last} in dialog {call_id}: accepted",
                number=number,
                method=request.method,
                last=self.remote_cseq,
                call_id=self.call_id,
            )
        self.remote_cseq = number
        self.flow = flow

    def refresh_target(self, request: SipRequest) -> None:
        """A target refresh request (INVITE, UPDATE) replaces the remote target."""
        contacts = request.contacts
        if contacts:
            self.remote_target = contacts[0].uri

    def ack_received(self, ack: SipRequest) -> None:
        """The ACK for our 2xx, matched on the dialog whatever its CSeq."""
        pending = self.pending_invite
        if pending is None:
            self.log.debug("ACK without a pending 2xx in {call_id}", call_id=self.call_id)
            return
        if ack.cseq.number != pending.request.cseq.number:
            self.log.debug(
                "ACK CSeq {ack} for INVITE CSeq {invite} in {call_id}: accepted",
                ack=ack.cseq.number,
                invite=pending.request.cseq.number,
                call_id=self.call_id,
            )
        self.pending_invite = None
        pending.ack_received()

    # -- requests we send ---------------------------------------------------------------

    def build_request(
        self,
        method: str,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> SipRequest:
        """A request within the dialog (§12.2.1.1), without Via (the core adds it)."""
        self.local_cseq += 1
        request = SipRequest(method, self.remote_target, body=body)
        request.headers.add("Max-Forwards", "70")
        request.headers.add("From", self.local_party)
        request.headers.add("To", self.remote_party)
        request.headers.add("Call-ID", self.call_id)
        request.headers.add("CSeq", f"{self.local_cseq} {method}")
        request.headers.add("Contact", f"<{self.local_contact}>")
        for route in self.route_set:
            request.headers.add("Route", route)
        for name, value in headers:
            request.headers.add(name, value)
        if body and content_type is not None:
            request.headers.set("Content-Type", content_type)
        return request

    def send_request(
        self,
        method: str,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> Deferred[SipResponse | RequestTimeout]:
        request = self.build_request(method, body, content_type, headers)
        if self.terminated:
            return succeed(RequestTimeout(request, "dialog terminated"))
        return self._owner.send_in_dialog(self, request)

    def end(self, reason: str = "local") -> None:
        self._owner.end_dialog(self, reason, send_bye=True)

    # -- session timer (RFC 4028) -------------------------------------------------------

    def start_session_timer(self, interval: int | None) -> None:
        """(Re)start the expiry after a 2xx carrying Session-Expires ``interval``."""
        self._stop_session_timer()
        self.session_interval = interval
        if interval is None or self.terminated:
            return
        self._expiry = GraceTimer(self._clock, self._session_expired)
        self._expiry.start(session_refresh_delay(interval))

    def _session_expired(self) -> None:
        self._expiry = None
        self.log.info(
            "dialog {call_id} not refreshed within {interval} s: ending it",
            call_id=self.call_id,
            interval=self.session_interval,
        )
        self._owner.end_dialog(self, "session expired", send_bye=True)

    def _stop_session_timer(self) -> None:
        if self._expiry is not None and self._expiry.active():
            self._expiry.cancel()
        self._expiry = None

    def mark_terminated(self) -> None:
        self.terminated = True
        self._stop_session_timer()
