"""The protocol-neutral CSTA core: decode, authorise, dispatch, answer (ECMA-269 clause 9,
"service request / response / error"), and the objects every transport shares: the switch,
the monitor registry, the ECMA-354 session service and the limits.

Every request gets exactly one answer (ECMA-269 9.3: a positive or a negative
acknowledgement): the service's response, or a ``CSTAErrorCode`` - for unknown roots and
unsupported services too. One association's bad
message never touches another association.

``tracer`` (:class:`~cstaserver.csta.association.IWireTracer`, optional) sees every message of
every association and each association's start and end; None (the default) costs one
attribute check per message.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from time import perf_counter
from typing import Any, Protocol

import attrs
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from cstaserver.config.model import Limits
from cstaserver.csta import codec
from cstaserver.csta.association import Association, IWireTracer, Profile
from cstaserver.csta.errors import (
    UNSUPPORTED_SERVICE,
    CstaError,
    ErrorValue,
    encode_error,
    error_for_decode,
    error_from_switch,
)
from cstaserver.csta.events import EventRenderer
from cstaserver.csta.gate import ConnectionGate
from cstaserver.csta.monitors import IMonitorInterest, MonitorRegistry
from cstaserver.csta.namespaces import DEFAULT_NAMESPACE, is_csta_namespace
from cstaserver.csta.routeing import IRouteingHost, RouteingService
from cstaserver.csta.services import sessions as session_services
from cstaserver.csta.services import system as system_services
from cstaserver.csta.services.registry import SERVICES, ServiceTable
from cstaserver.csta.sessions import SessionService
from cstaserver.csta.xmlsafe import XmlRejected, parse_document
from cstaserver.pbx.errors import SwitchError

log = Logger()


#: The limits are the exchange data's (``cstaserver.config.model.Limits``, with its defaults).
CoreLimits = Limits


@attrs.define(eq=False)
class ServiceRequest:
    """What a service handler gets: the decoded request and where it came from (``body``:
    the request as the client sent it, ECMA-323 XML, when the transport had it whole)."""

    core: CstaCore
    association: Association
    message: Any
    namespace: str
    body: bytes = b""

    @property
    def switch(self) -> Any:
        return self.core.switch

    @property
    def monitors(self) -> Any:
        return self.core.monitors


Writer = Callable[[bytes, object], None]

#: The service label of a request whose service could not be told (refused XML, an unknown
#: root): a client's own root names would make the labels unbounded.
UNKNOWN_SERVICE = "unknown"


class RequestObserver(Protocol):
    """Told of every answered request (``cstaserver.api.metrics`` counts them)."""

    def request_done(self, service: str, outcome: str, seconds: float) -> None:
        """``service``: the request's root name (``MakeCall``); ``outcome``: ``positive``,
        the CSTA error value (``invalidCalledDevice``) or an ECMA-354 NegResponse's error;
        ``seconds``: from the request's dispatch to its answer's write. Must not raise."""


def outcome_label(outcome: object) -> str:
    """``positive``, the error value's name, or the definedError of a NegResponse."""
    if isinstance(outcome, ErrorValue):
        return outcome.value[1]
    error_code = getattr(outcome, "error_code", None)  # ECMA-354 Start/Stop/Reset NegResponse
    if error_code is None:
        return "positive"
    defined = getattr(error_code, "defined_error", None)
    return str(getattr(defined, "value", defined) or "negative")


def root_namespace(root: Any) -> str:
    """The namespace of a parsed root element if it is a CSTA one, else ``""``."""
    tag = root.tag if isinstance(root.tag, str) else ""
    namespace = tag[1 : tag.rfind("}")] if tag.startswith("{") else ""
    return namespace if is_csta_namespace(namespace) else ""


def _service_of(error: Exception) -> str:
    """The service a DecodeError's request was for (``MakeCall/callingDevice``)."""
    field = getattr(error, "field", "")
    return field.partition("/")[0] or UNKNOWN_SERVICE


class CstaCore:
    """One per server: shared by every transport."""

    def __init__(
        self,
        switch: Any,
        clock: Any,
        *,
        limits: CoreLimits | None = None,
        services: ServiceTable | None = None,
        sessions: Any = None,
        authenticator: Any = None,
        observer: RequestObserver | None = None,
        tracer: IWireTracer | None = None,
    ) -> None:
        """``authenticator``: checks ECMA-354 logins (``csta.auth.Authenticator``); None
        accepts any. ``sessions``: a session service to use instead of the built-in one.
        ``tracer``: the wire tracer (kept as ``self.tracer``: the composition layer may also
        set it before the first client connects, or None to stop tracing).
        ``observer``: told of every answered request (metrics); None costs one attribute check
        per request (``self.observer``: the composition layer may set it later)."""
        self.switch = switch
        self.observer = observer
        self.tracer = tracer
        self.clock = clock
        self.limits = limits or CoreLimits()
        self.services = services or default_services()
        self.associations: set[Association] = set()
        #: stream connections per client address, for every listener (docs/limits.md)
        self.gate = ConnectionGate(lambda: self.limits)
        self.renderer = EventRenderer(switch)
        self.monitors = MonitorRegistry(
            switch,
            self.renderer.render,
            max_monitors=self.limits.max_monitors,
            max_per_owner=self.limits.max_monitors_per_session,
        )
        if IMonitorInterest.providedBy(switch):  # a front end's (docs/cluster.md)
            self.monitors.interest = switch
        self.monitors.apply_limits(self.limits)
        if sessions is None:
            sessions = SessionService(
                self,
                clock,
                authenticator=authenticator,
                notify_terminated=self._notify_terminated,
            )
        self.sessions = sessions
        if IRouteingHost.providedBy(switch):  # routeing where the switch is (docs/cluster.md)
            self.routeing = switch.routeing_service(clock, self.presenter_for)
        else:
            self.routeing = RouteingService(switch, clock, self.presenter_for)
        self.system_status = "normal"

    def apply_limits(self, limits: CoreLimits) -> None:
        """New limits from the exchange data (``csta_limits -c``): what is open stays; the
        next client, session or monitor is held to them."""
        self.limits = limits
        self.monitors.apply_limits(limits)

    def presenter_for(self, association: Association) -> Any:
        """How ``association`` names devices: its echo strings, E.164 for the Lync dialect.
        Made again only when the echo strings have changed (an application on one connection
        may have named thousands of devices) or the public numbering has (a plan change)."""
        strings = association.device_strings
        numbering = self.renderer.numbering
        cached = association.presenter_cache
        if (
            cached is not None
            and cached[0] is strings
            and cached[1] == len(strings)
            and cached[3] is numbering
        ):
            return cached[2]
        echo = tuple(strings.items())
        presenter = self.renderer.presenter((association.profile.e164_presentation, echo))
        association.presenter_cache = (strings, len(strings), presenter, numbering)
        return presenter

    # -- server-originated messages -------------------------------------------------------
    def _notify_terminated(self, association: Association, session: Any, reason: str) -> None:
        association.send_unsolicited(
            codec.encode(
                session_services.terminated_message(session.session_id, reason), DEFAULT_NAMESPACE
            )
        )

    def send_system_status(self, association: Association, status: str) -> Deferred:
        """Send SystemStatus to one client (ECMA-269 14.1.x); fires with its answer."""
        register_id = next(iter(association.system_registrations), None)
        data = codec.encode(
            system_services.system_status_message(status, register_id),
            association.namespace or DEFAULT_NAMESPACE,
        )
        deferred = association.send_request(data)
        deferred.addErrback(
            lambda f: log.debug("no SystemStatus answer from {peer}", peer=association.peer)
        )
        return deferred

    def broadcast_system_status(self, status: str) -> None:
        """Tell every registered client the system status (server start / stop)."""
        self.system_status = status
        for association in list(self.associations):
            if association.system_registrations and not association.closed:
                self.send_system_status(association, status)

    # -- associations ---------------------------------------------------------------------
    def associate(self, transport: Any, profile: Profile | None = None) -> Association:
        association = Association(core=self, transport=transport, profile=profile or Profile())
        self.associations.add(association)
        if self.tracer is not None:
            self.tracer.opened(association)
        log.info(
            "{profile} client {peer} connected (association {id})",
            profile=association.profile.name,
            peer=association.peer,
            id=association.id,
        )
        return association

    def dissociate(self, association: Association, reason: str) -> None:
        self.associations.discard(association)
        self.sessions.association_lost(association)
        self.routeing.association_lost(association)
        if association.session is None:
            self.monitors.stop_all(association)
        if self.tracer is not None:
            self.tracer.closed(association, reason)
        log.info(
            "{profile} client {peer} gone ({reason})",
            profile=association.profile.name,
            peer=association.peer,
            reason=reason,
        )

    # -- requests -------------------------------------------------------------------------
    def dispatch(
        self,
        association: Association,
        body: bytes,
        correlation: object,
        answer: Writer,
        root: Any = None,
    ) -> None:
        """Answer one request. ``root``: the body already parsed by the transport with
        :func:`parse_document` (TR/87 checks the XML is well-formed first), used when the
        body is within the size limit instead of parsing it a second time."""
        started = perf_counter() if self.observer is not None else 0.0
        fallback_ns = association.namespace or DEFAULT_NAMESPACE
        try:
            if root is None or len(body) > self.limits.max_message_bytes:
                root = parse_document(body, max_bytes=self.limits.max_message_bytes)
            # the session check comes before the request is decoded: a client that needs a
            # session and has none learns nothing about a request's parameters
            check = getattr(self.sessions, "refusal_for_root", None)
            early = check(association, root) if check is not None else None
            if early is not None:
                namespace = root_namespace(root) or fallback_ns
                data = encode_error(early, namespace)
                self._reply(answer, correlation, data, UNKNOWN_SERVICE, early, started)
                return
            decoded = codec.decode(root)
        except (XmlRejected, codec.DecodeError) as exc:
            # a DecodeError knows the request's namespace; refused XML has none to trust
            namespace = getattr(exc, "namespace", "") or fallback_ns
            log.info("bad request from {peer}: {reason}", peer=association.peer, reason=str(exc))
            error = error_for_decode(exc)
            data = encode_error(error, namespace)
            self._reply(answer, correlation, data, _service_of(exc), error, started)
            return
        namespace = decoded.namespace or fallback_ns
        message = decoded.message
        name = decoded.name
        handler = self.services.lookup(type(message)) if message is not None else None
        if handler is None:
            log.info(
                "unsupported service {name} from {peer}", name=decoded.name, peer=association.peer
            )
            data = encode_error(UNSUPPORTED_SERVICE, namespace)
            self._reply(answer, correlation, data, UNKNOWN_SERVICE, UNSUPPORTED_SERVICE, started)
            return
        if association.namespace is None and is_csta_namespace(namespace):
            association.namespace = namespace
        refusal = self.sessions.refusal(association, message)
        if refusal is not None:
            data = encode_error(refusal, namespace)
            self._reply(answer, correlation, data, name, refusal, started)
            return
        if not association.begin_outstanding():
            error = ErrorValue.OUTSTANDING_REQUEST_LIMIT_EXCEEDED
            self._reply(answer, correlation, encode_error(error, namespace), name, error, started)
            return
        request = ServiceRequest(self, association, message, namespace, body)
        try:
            result = handler(request)
            if inspect.iscoroutine(result):
                result = Deferred.fromCoroutine(result)
        except Exception as exc:
            association.end_outstanding()
            error = self._error_value(exc, request)
            self._reply(answer, correlation, encode_error(error, namespace), name, error, started)
            return
        if isinstance(result, Deferred):
            result.addCallbacks(
                lambda response: (self._encode(response, request), response),
                lambda failure: self._error_reply(failure.value, request),
            )

            def finish(reply: tuple[bytes, object]) -> None:
                association.end_outstanding()
                self._reply(answer, correlation, reply[0], name, reply[1], started)

            result.addCallback(finish)
            result.addErrback(lambda f: log.failure("answering failed", f))
            return
        association.end_outstanding()
        self._reply(answer, correlation, self._encode(result, request), name, result, started)

    def _reply(
        self,
        answer: Writer,
        correlation: object,
        data: bytes,
        service: str,
        outcome: object,
        started: float,
    ) -> None:
        """Write one answer; then tell the observer, if there is one, what it was."""
        answer(data, correlation)
        observer = self.observer
        if observer is not None:
            observer.request_done(service, outcome_label(outcome), perf_counter() - started)

    def _encode(self, response: Any, request: ServiceRequest) -> bytes:
        if isinstance(response, bytes):
            return response
        return codec.encode(response, request.namespace)

    def _error_reply(self, exc: BaseException, request: ServiceRequest) -> tuple[bytes, object]:
        error = self._error_value(exc, request)
        return encode_error(error, request.namespace), error

    def error_value(self, exc: BaseException, request: ServiceRequest) -> ErrorValue:
        """The ECMA-269 error value a handler's exception is answered with (a switch refusal
        by its table, a CstaError by its value, anything else ``generic``, logged)."""
        return self._error_value(exc, request)

    def _error_value(self, exc: BaseException, request: ServiceRequest) -> ErrorValue:
        if isinstance(exc, SwitchError):
            exc = error_from_switch(exc)
        if isinstance(exc, CstaError):
            log.debug(
                "{service} refused for {peer}: {error}",
                service=type(request.message).__name__,
                peer=request.association.peer,
                error=exc.value.name,
            )
            return exc.value
        log.failure(
            "service {service} failed",
            failure=Failure(exc),
            service=type(request.message).__name__,
        )
        return ErrorValue.GENERIC

    def stop(self) -> None:
        self.monitors.close()


def default_services() -> ServiceTable:
    """The full service table (the handler modules, imported with the services package
    above, registered themselves in it)."""
    return SERVICES
