"""The protocol-neutral CSTA core: decode, authorise, dispatch, answer (ECMA-269 clause 9,
"service request / response / error"), and the objects every transport shares: the switch,
the monitor registry, the ECMA-354 session service and the limits.

Every request gets exactly one answer (ECMA-269 9.3: a positive or a negative
acknowledgement): the service's response, or a ``CSTAErrorCode`` - for unknown roots and
unsupported services too. One association's bad
message never touches another association.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import attrs
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from cstaserver.config.model import Limits
from cstaserver.csta import codec
from cstaserver.csta.association import Association, Profile
from cstaserver.csta.errors import (
    UNSUPPORTED_SERVICE,
    CstaError,
    ErrorValue,
    encode_error,
    error_for_decode,
    error_from_switch,
)
from cstaserver.csta.events import EventRenderer
from cstaserver.csta.monitors import MonitorRegistry
from cstaserver.csta.namespaces import DEFAULT_NAMESPACE, is_csta_namespace
from cstaserver.csta.routeing import RouteingService
from cstaserver.csta.services import sessions as session_services
from cstaserver.csta.services import system as system_services
from cstaserver.csta.services.registry import SERVICES, ServiceTable
from cstaserver.csta.sessions import SessionService
from cstaserver.csta.xmlsafe import XmlRejected
from cstaserver.pbx.errors import SwitchError

log = Logger()


#: The limits are the exchange data's (``cstaserver.config.model.Limits``, with its defaults).
CoreLimits = Limits


@attrs.define(eq=False)
class ServiceRequest:
    """What a service handler gets: the decoded request and where it came from."""

    core: CstaCore
    association: Association
    message: Any
    namespace: str

    @property
    def switch(self) -> Any:
        return self.core.switch

    @property
    def monitors(self) -> Any:
        return self.core.monitors


Writer = Callable[[bytes, object], None]


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
    ) -> None:
        """``authenticator``: checks ECMA-354 logins (``csta.auth.Authenticator``); None
        accepts any. ``sessions``: a session service to use instead of the built-in one."""
        self.switch = switch
        self.clock = clock
        self.limits = limits or CoreLimits()
        self.services = services or default_services()
        self.associations: set[Association] = set()
        self.renderer = EventRenderer(switch)
        self.monitors = MonitorRegistry(
            switch,
            self.renderer.render,
            max_monitors=self.limits.max_monitors,
            max_per_owner=self.limits.max_monitors_per_session,
        )
        if sessions is None:
            sessions = SessionService(
                self,
                clock,
                authenticator=authenticator,
                notify_terminated=self._notify_terminated,
            )
        self.sessions = sessions
        self.routeing = RouteingService(switch, clock, self.presenter_for)
        self.system_status = "normal"

    def presenter_for(self, association: Association) -> Any:
        """How ``association`` names devices: its echo strings, E.164 for the Lync dialect."""
        echo = tuple(association.device_strings.items())
        return self.renderer.presenter((association.profile.e164_presentation, echo))

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
        log.info(
            "{profile} client {peer} gone ({reason})",
            profile=association.profile.name,
            peer=association.peer,
            reason=reason,
        )

    # -- requests -------------------------------------------------------------------------
    def dispatch(
        self, association: Association, body: bytes, correlation: object, answer: Writer
    ) -> None:
        fallback_ns = association.namespace or DEFAULT_NAMESPACE
        try:
            decoded = codec.decode(body, max_bytes=self.limits.max_message_bytes)
        except (XmlRejected, codec.DecodeError) as exc:
            # a DecodeError knows the request's namespace; refused XML has none to trust
            namespace = getattr(exc, "namespace", "") or fallback_ns
            log.info("bad request from {peer}: {reason}", peer=association.peer, reason=str(exc))
            answer(encode_error(error_for_decode(exc), namespace), correlation)
            return
        namespace = decoded.namespace or fallback_ns
        message = decoded.message
        handler = self.services.lookup(type(message)) if message is not None else None
        if handler is None:
            log.info(
                "unsupported service {name} from {peer}", name=decoded.name, peer=association.peer
            )
            answer(encode_error(UNSUPPORTED_SERVICE, namespace), correlation)
            return
        if association.namespace is None and is_csta_namespace(namespace):
            association.namespace = namespace
        refusal = self.sessions.refusal(association, message)
        if refusal is not None:
            answer(encode_error(refusal, namespace), correlation)
            return
        if not association.begin_outstanding():
            answer(
                encode_error(ErrorValue.OUTSTANDING_REQUEST_LIMIT_EXCEEDED, namespace), correlation
            )
            return
        request = ServiceRequest(self, association, message, namespace)
        try:
            result = handler(request)
            if inspect.iscoroutine(result):
                result = Deferred.fromCoroutine(result)
        except Exception as exc:
            association.end_outstanding()
            answer(self._error_bytes(exc, request), correlation)
            return
        if isinstance(result, Deferred):
            result.addCallbacks(
                lambda response: self._encode(response, request),
                lambda failure: self._error_bytes(failure.value, request),
            )

            def finish(data: bytes) -> None:
                association.end_outstanding()
                answer(data, correlation)

            result.addCallback(finish)
            result.addErrback(lambda f: log.failure("answering failed", f))
            return
        association.end_outstanding()
        answer(self._encode(result, request), correlation)

    def _encode(self, response: Any, request: ServiceRequest) -> bytes:
        if isinstance(response, bytes):
            return response
        return codec.encode(response, request.namespace)

    def _error_bytes(self, exc: BaseException, request: ServiceRequest) -> bytes:
        if isinstance(exc, SwitchError):
            exc = error_from_switch(exc)
        if isinstance(exc, CstaError):
            log.debug(
                "{service} refused for {peer}: {error}",
                service=type(request.message).__name__,
                peer=request.association.peer,
                error=exc.value.name,
            )
            return encode_error(exc.value, request.namespace)
        log.failure(
            "service {service} failed",
            failure=Failure(exc),
            service=type(request.message).__name__,
        )
        return encode_error(ErrorValue.GENERIC, request.namespace)

    def stop(self) -> None:
        self.monitors.close()


def default_services() -> ServiceTable:
    """The full service table (the handler modules, imported with the services package
    above, registered themselves in it)."""
    return SERVICES
