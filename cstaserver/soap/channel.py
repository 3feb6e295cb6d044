"""SOAP sessions as associations of the core (the association is the seam between a transport
and the core, :mod:`cstaserver.csta.association`; ECMA-354 application sessions over
ECMA-348 SOAP/HTTP, docs/protocol-notes.md W4).

HTTP has no connection to hang an association on, so a :class:`SoapChannel` plays the
connection: an ``IMessageTransport`` that lives across HTTP requests. Each HTTP request hands
one CSTA element to the channel's association with a fresh correlation; the core's
``write_message(data, correlation)`` fires that request's Deferred. Events
(``correlation=None``) go to the channel's subscription (NotifyTo) or its long-poll queue.

:class:`SoapChannels` keeps the channels of one web service:

- a **session channel** per ECMA-354 session: a ``StartApplicationSession`` always gets a new
  channel; when the core answers with a session, the channel is filed under its session ID
  (requests with that ``sessionID`` header use it, only for the login that started it);
  otherwise it is closed. When the session ends (StopApplicationSession, timer expiry,
  ``csta -e``), the channel and its association end: the session's monitors end with it.
- a **login channel** per HTTP user for requests without a session header; it lives while
  the web service runs.

One web account holds at most ``Limits.max_sessions_per_account`` session channels (those
starting count too): one more StartApplicationSession is a Fault ``maxNumberSessions``, and
the account's other sessions and every other account are untouched (docs/limits.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.csta.association import IMessageTransport, Profile, association_limit_reached
from cstaserver.soap.envelope import document_root
from cstaserver.soap.events import QUEUE_LIMIT, DeliveryPolicy, EventQueue, Subscription

log = Logger()
_correlations = itertools.count(1)


class ChannelClosed(Exception):
    """The channel (its session) ended before the request was answered."""


class NoServerRequests(Exception):
    """SOAP has no path for requests from the server to the client (SystemStatus)."""


class ServerBusy(Exception):
    """No new channel: the association limit is reached (HTTP 503)."""


class AccountLimit(Exception):
    """No new session channel: the web account holds ``max_sessions_per_account``."""


@implementer(IMessageTransport)
class SoapChannel:
    """One association of the core, reached over any number of HTTP requests."""

    def __init__(
        self,
        core: Any,
        profile: Profile,
        clock: Any,
        *,
        peer: str,
        user: str,
        kind: str,
        on_closed: Callable[[SoapChannel], None] = lambda c: None,
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        self.clock = clock
        self.peer = peer
        self.user = user
        self.kind = kind  # "login" or "session"
        self.on_closed = on_closed
        self.closed = False
        self.bound_session: str | None = None
        self.events = EventQueue(clock, limit=queue_limit)
        self.subscription: Subscription | None = None
        self._pending: dict[int, defer.Deferred] = {}
        self.association = core.associate(self, profile)

    @property
    def session_id(self) -> str | None:
        session = self.association.session
        return session.session_id if session is not None else None

    # -- from the HTTP side ---------------------------------------------------------------
    def request(self, body: bytes) -> defer.Deferred:
        """Hand one CSTA element to the core; fires with the answer's bytes."""
        if self.closed:
            return defer.fail(ChannelClosed("the session has ended"))
        correlation = next(_correlations)
        answer: defer.Deferred = defer.Deferred(lambda d: self._pending.pop(correlation, None))
        self._pending[correlation] = answer
        self.association.receive(body, correlation)
        return answer

    def subscribe(self, subscription: Subscription) -> None:
        if self.subscription is not None:
            self.subscription.cancel()
        self.subscription = subscription

    def unsubscribe(self, subscription_id: str) -> bool:
        current = self.subscription
        if current is None or current.subscription_id != subscription_id:
            return False
        current.cancel()
        self.subscription = None
        return True

    def subscription_dropped(self, subscription: Subscription) -> None:
        if self.subscription is subscription:
            self.subscription = None

    # -- IMessageTransport ----------------------------------------------------------------
    def write_message(self, data: bytes, correlation: object) -> None:
        if correlation is None:
            self._event(data)
            return
        answer = self._pending.pop(correlation, None)  # type: ignore[arg-type]
        if answer is not None and not answer.called:
            answer.callback(data)

    def _event(self, data: bytes) -> None:
        subscription = self.subscription
        if subscription is not None and subscription.active:
            subscription.send(data)
        else:
            self.events.push(data)
        if document_root(data) == "ApplicationSessionTerminated":
            # the core ends the session right after telling us; the channel follows
            self.clock.callLater(0, self.close, "session terminated")

    def send_request(self, data: bytes) -> defer.Deferred:
        return defer.fail(NoServerRequests("no server-to-client requests over SOAP"))

    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        pending, self._pending = self._pending, {}
        for answer in pending.values():
            if not answer.called:
                answer.errback(ChannelClosed(reason))
        if self.subscription is not None:
            self.subscription.cancel()
            self.subscription = None
        self.association.connection_lost(reason)
        self.clock.callLater(0, self.events.close)  # let a pending long poll take the rest
        self.on_closed(self)


class SoapChannels:
    """The channels of one web service (see the module docstring)."""

    def __init__(
        self,
        core: Any,
        profile: Profile,
        clock: Any,
        *,
        agent: Any = None,
        policy: DeliveryPolicy | None = None,
    ) -> None:
        self.core = core
        self.profile = profile
        self.clock = clock
        self.agent = agent
        self.policy = policy or DeliveryPolicy()
        self.by_login: dict[str, SoapChannel] = {}
        self.by_session: dict[str, SoapChannel] = {}
        #: per web account, its session channels (started or starting)
        self.session_channels: dict[str, set[SoapChannel]] = {}

    def _new(self, user: str, peer: str, kind: str) -> SoapChannel:
        if association_limit_reached(self.core):
            raise ServerBusy("too many clients")
        if kind == "session":
            limit = getattr(self.core.limits, "max_sessions_per_account", None)
            held = self.session_channels.setdefault(user, set())
            if limit is not None and len(held) >= limit:
                log.info(
                    "web account {user} holds {count} sessions: one more refused",
                    user=user,
                    count=len(held),
                )
                raise AccountLimit(
                    f"maxNumberSessions: web account {user!r} has {limit} application sessions"
                    " (stop one, or raise csta_limits --max-sessions-per-account)"
                )
        channel = SoapChannel(
            self.core,
            self.profile,
            self.clock,
            peer=peer,
            user=user,
            kind=kind,
            on_closed=self._closed,
            queue_limit=self.policy.queue_limit,
        )
        if kind == "session":
            self.session_channels.setdefault(user, set()).add(channel)
        return channel

    def login_channel(self, user: str, peer: str) -> SoapChannel:
        channel = self.by_login.get(user)
        if channel is None or channel.closed:
            channel = self.by_login[user] = self._new(user, peer, "login")
        return channel

    def session_starter(self, user: str, peer: str) -> SoapChannel:
        """A new channel for a StartApplicationSession; :meth:`settle` files or ends it."""
        return self._new(user, peer, "session")

    def session_channel(self, session_id: str, user: str) -> SoapChannel | None:
        """The live channel of a session started by ``user``, or None."""
        channel = self.by_session.get(session_id)
        if channel is None or channel.user != user:
            return None
        self.settle(channel)
        return None if channel.closed else channel

    def settle(self, channel: SoapChannel) -> None:
        """After a request: file a new session's channel, end one whose session is over."""
        if channel.kind != "session" or channel.closed:
            return
        session_id = channel.session_id
        if channel.bound_session is None and session_id is not None:
            channel.bound_session = session_id
            self.by_session[session_id] = channel
        elif session_id is None or session_id != channel.bound_session:
            channel.close("session ended" if channel.bound_session else "no session started")

    def _closed(self, channel: SoapChannel) -> None:
        held = self.session_channels.get(channel.user)
        if held is not None:
            held.discard(channel)
            if not held:
                del self.session_channels[channel.user]
        if channel.bound_session and self.by_session.get(channel.bound_session) is channel:
            del self.by_session[channel.bound_session]
        if self.by_login.get(channel.user) is channel:
            del self.by_login[channel.user]

    def new_subscription(self, channel: SoapChannel, url: str) -> Subscription:
        subscription = Subscription(
            self.agent,
            self.clock,
            url,
            session_id=lambda: channel.session_id,
            policy=self.policy,
            on_dropped=channel.subscription_dropped,
        )
        channel.subscribe(subscription)
        return subscription

    def close_all(self, reason: str = "web service stopped") -> None:
        for channel in [*self.by_session.values(), *self.by_login.values()]:
            channel.close(reason)
