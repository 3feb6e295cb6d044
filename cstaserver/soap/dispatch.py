"""SOAP operations: one Body element in, one answer out (ECMA-348 document/literal; ECMA-354
sessions carried by our ``cs:sessionID`` header).

Dispatch is on the Body root's **local name** (SOAPAction is ignored):

- ``Subscribe`` / ``Unsubscribe`` / ``GetEvents`` (namespace ``urn:cstaserver:soap``) are
  served here (see :mod:`cstaserver.soap.events`); with authentication mandatory they need
  an application session, and a NotifyTo must be in the allow-list
  (:mod:`cstaserver.soap.notifyto`);
- everything else goes, as it is, to the core through the right channel
  (:mod:`cstaserver.soap.channel`): a new one for ``StartApplicationSession``, the session's
  for a ``sessionID`` header (or, for Stop/Reset without one, the body's ``sessionID``), else
  the login's. ``CSTAErrorCode`` and ECMA-354 ``…NegResponse`` answers become a
  Server/Receiver Fault with the answer in its detail.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from twisted.internet import defer

from cstaserver.config.model import AuthMode
from cstaserver.csta.codec import escape_text, find_descendants, local_name
from cstaserver.csta.xmlsafe import XmlRejected, parse_document
from cstaserver.soap.channel import AccountLimit, ChannelClosed, SoapChannel, SoapChannels
from cstaserver.soap.envelope import (
    CLIENT,
    SERVER,
    SOAP_NS,
    SoapFault,
    SoapRequest,
    document_root,
    response_envelope,
    strip_declaration,
)
from cstaserver.soap.events import MAX_POLL_SECONDS
from cstaserver.soap.notifyto import notify_to_allowed

DEFAULT_POLL_SECONDS = 30.0
MAX_EVENTS = 1000
_SESSION_BODY_OPERATIONS = ("StopApplicationSession", "ResetApplicationSessionTimer")


def _child_text(element: etree._Element, name: str) -> str | None:
    for child in find_descendants(element, name):
        text = (child.text or "").strip()
        if text:
            return text
    return None


def _number(element: etree._Element, name: str, default: float, low: float, high: float) -> float:
    text = _child_text(element, name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SoapFault(CLIENT, f"{name}: not a number") from None
    if value != value:  # NaN
        raise SoapFault(CLIENT, f"{name}: not a number")
    return max(low, min(value, high))


def _own(name: str, inner: str = "") -> bytes:
    return f'<{name} xmlns="{SOAP_NS}">{inner}</{name}>'.encode()


def error_summary(answer: bytes) -> str:
    """``stateIncompatibility/noCallToAnswer`` for a CSTAErrorCode, ``definedError/…`` for
    a NegResponse: the innermost first element and its text."""
    try:
        leaf = parse_document(answer)
    except XmlRejected:
        return "unreadable"
    while len(leaf) and isinstance(leaf[0].tag, str):
        leaf = leaf[0]
    text = (leaf.text or "").strip()
    return f"{local_name(leaf)}/{text}" if text else local_name(leaf)


class SoapDispatcher:
    """Serves the operations of one web service (its channels)."""

    def __init__(self, channels: SoapChannels) -> None:
        self.channels = channels

    async def handle(self, soap: SoapRequest, user: str, peer: str, gone: defer.Deferred) -> bytes:
        """The response envelope; raises :class:`SoapFault`. ``gone`` fires if the HTTP
        client goes away (a long poll stops waiting)."""
        operation = soap.operation
        if operation == "Subscribe":
            return self._subscribe(soap, user, peer)
        if operation == "Unsubscribe":
            return self._unsubscribe(soap, user, peer)
        if operation == "GetEvents":
            return await self._get_events(soap, user, peer, gone)
        return await self._csta(soap, user, peer)

    # -- channels -------------------------------------------------------------------------
    def _channel(self, soap: SoapRequest, user: str, peer: str) -> SoapChannel:
        if soap.operation == "StartApplicationSession":
            try:
                return self.channels.session_starter(user, peer)
            except AccountLimit as limit:
                raise SoapFault(SERVER, str(limit)) from None
        session_id = soap.header_text("sessionID")
        from_body = session_id is None and soap.operation in _SESSION_BODY_OPERATIONS
        if from_body:
            session_id = _child_text(soap.body, "sessionID")
        if session_id is None:
            return self.channels.login_channel(user, peer)
        channel = self.channels.session_channel(session_id, user)
        if channel is not None:
            return channel
        if soap.operation in _SESSION_BODY_OPERATIONS:
            # the core answers the NegResponse invalidSessionID
            return self.channels.login_channel(user, peer)
        raise SoapFault(CLIENT, f"invalidSessionID: no session {session_id!r} of this login")

    # -- CSTA through the core ------------------------------------------------------------
    async def _csta(self, soap: SoapRequest, user: str, peer: str) -> bytes:
        channel = self._channel(soap, user, peer)
        body = etree.tostring(soap.body, encoding="utf-8")
        try:
            answer = await channel.request(body)
        except ChannelClosed as closed:
            raise SoapFault(SERVER, f"the session ended: {closed}") from None
        finally:
            self.channels.settle(channel)
        root = document_root(answer)
        if root == "CSTAErrorCode" or root.endswith("NegResponse"):
            raise SoapFault(SERVER, f"CSTA error: {error_summary(answer)}", detail=answer)
        return response_envelope(soap.version, answer, session_id=channel.session_id)

    # -- events ---------------------------------------------------------------------------
    @staticmethod
    def _check_session(channel: SoapChannel, operation: str) -> None:
        """With authentication mandatory, the event operations need an application session
        (the ``sessionID`` header), as every CSTA request does."""
        association = channel.association
        if association.profile.auth_mode is AuthMode.MANDATORY and association.session is None:
            raise SoapFault(
                CLIENT, f"security/generic: {operation} needs an application session (sessionID)"
            )

    def _subscribe(self, soap: SoapRequest, user: str, peer: str) -> bytes:
        targets = find_descendants(soap.body, "NotifyTo")
        url = None
        if targets:
            address = find_descendants(targets[0], "Address")  # WS-Eventing wsa:Address
            url = ((address[0] if address else targets[0]).text or "").strip()
        parts = urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SoapFault(CLIENT, "Subscribe needs NotifyTo with an http(s) URL")
        channel = self._channel(soap, user, peer)
        self._check_session(channel, soap.operation)
        assert url is not None
        if not notify_to_allowed(url, getattr(self.channels.core.limits, "notify_to_allow", ())):
            raise SoapFault(
                CLIENT,
                "NotifyTo is not in the server's allow-list (csta_limits --notify-to-allow);"
                " take events with GetEvents",
            )
        subscription = self.channels.new_subscription(channel, url)
        inner = f"<subscriptionID>{escape_text(subscription.subscription_id)}</subscriptionID>"
        return response_envelope(
            soap.version, _own("SubscribeResponse", inner), session_id=channel.session_id
        )

    def _unsubscribe(self, soap: SoapRequest, user: str, peer: str) -> bytes:
        channel = self._channel(soap, user, peer)
        self._check_session(channel, soap.operation)
        subscription_id = _child_text(soap.body, "subscriptionID") or ""
        if not channel.unsubscribe(subscription_id):
            raise SoapFault(CLIENT, "no such subscription")
        return response_envelope(
            soap.version, _own("UnsubscribeResponse"), session_id=channel.session_id
        )

    async def _get_events(
        self, soap: SoapRequest, user: str, peer: str, gone: defer.Deferred
    ) -> bytes:
        channel = self._channel(soap, user, peer)
        self._check_session(channel, soap.operation)
        timeout = _number(soap.body, "timeout", DEFAULT_POLL_SECONDS, 0, MAX_POLL_SECONDS)
        max_events = int(_number(soap.body, "maxEvents", MAX_EVENTS, 1, MAX_EVENTS))
        waiting = channel.events.wait(timeout, max_events)
        gone.addBoth(lambda _: waiting.cancel() if not waiting.called else None)
        try:
            events: list[Any] = await waiting
        except defer.CancelledError:
            events = []
        inner = b"".join(strip_declaration(e) for e in events)
        session_id = channel.session_id
        return response_envelope(
            soap.version,
            b'<GetEventsResponse xmlns="'
            + SOAP_NS.encode()
            + b'">'
            + inner
            + b"</GetEventsResponse>",
            session_id=session_id,
        )
