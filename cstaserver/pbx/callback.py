"""Call back: ring me, then the extension I could not reach, when it is free again.

ECMA-269 17.2.x Call Back (call related), 21.1.x Call Back Non-Call-Related and Cancel Call
Back, 21.2.x Call Back event; event cause ``callBack`` (12.3.x). Our reading of MX-ONE
(docs/call-pickup-park.md, "automatic call back"): a caller who meets a busy or an
unanswered extension orders a call back and hangs up; when that extension has finished a
call and is free, and the caller is free too, the exchange rings the caller; when the caller
answers, the exchange calls the extension. A request not carried out within
``ExchangePlan.call_back_timeout`` seconds is cancelled.

Events:

- ordering: ordered in a call, that call is first cleared (``ConnectionCleared`` each,
  ``CallCleared``, cause callBack); then ``CallBack`` (set) to the monitors of both devices;
- carrying out: ``CallBack`` (cancelled: the request is used), then on the caller
  ``ServiceInitiated`` (cause callBack) while its terminal rings (as a prompted MakeCall,
  docs/devices.md); when the caller answers ``Originated`` (cause callBack) and the call
  goes to the extension (``Delivered`` cause callBack ...);
- CancelCallBack or the time-out: ``CallBack`` (cancelled).

"Finished a call": for a busy extension, any moment it is free again; for an unanswered one,
once it has had a call (any event of a call at it) and is free.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger

from cstaserver.pbx.calls import Call
from cstaserver.pbx.core import CallProcessing
from cstaserver.pbx.devices import DeviceInfo
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import CallBack, CallEvent
from cstaserver.pbx.plan import ExchangePlan
from cstaserver.pbx.states import ConnectionState, EventCause

#: call back requests one extension may have waiting at once
MAX_REQUESTS = 5


@attrs.define(eq=False)
class Request:
    """One call back request of ``origin`` on ``target``; ``armed`` once the target has
    been busy (it must finish a call first)."""

    origin: str
    target: str
    armed: bool
    timer: IDelayedCall | None = None
    unsubscribe: Callable[[], None] | None = None


class CallBacks:
    """The call back requests of the exchange and their carrying out (``dispatch``)."""

    log = Logger()

    def __init__(self, core: CallProcessing, settings: Callable[[], ExchangePlan]) -> None:
        self.core = core
        self.settings = settings
        self.requests: list[Request] = []

    def pending(self) -> list[tuple[str, str]]:
        """(originating device, target device) of each request waiting."""
        return [(r.origin, r.target) for r in self.requests]

    def _find(self, origin: str, target: str) -> Request | None:
        for request in self.requests:
            if request.origin == origin and request.target == target:
                return request
        return None

    def _extension(self, number: str) -> DeviceInfo:
        info = self.core.info(number)
        if info is None or not info.is_extension or not info.terminal:
            raise SwitchError(
                Refusal.WRONG_DEVICE_KIND, f"{number} is not an extension with a terminal"
            )
        return info

    def _check(self, origin: str, target: str) -> DeviceInfo:
        self._extension(origin)
        info = self._extension(target)
        if origin == target:
            raise SwitchError(Refusal.BAD_ARGUMENT, "a device cannot call itself back")
        if self._find(origin, target) is not None:
            raise SwitchError(Refusal.NOT_IN_STATE, f"{origin} already has a call back on {target}")
        if sum(1 for r in self.requests if r.origin == origin) >= MAX_REQUESTS:
            raise SwitchError(
                Refusal.NOT_IN_STATE, f"{origin} already has {MAX_REQUESTS} call backs waiting"
            )
        return info

    def _register(self, origin: str, info: DeviceInfo) -> None:
        request = Request(origin, info.number, armed=not info.is_free())
        request.unsubscribe = self.core.bus.subscribe_device(
            info.number, lambda event: self._arm(request, event)
        )
        request.timer = self.core.clock.callLater(
            self.settings().call_back_timeout, self._expire, request
        )
        self.requests.append(request)
        self.log.info("call back of {origin} on {target} set", origin=origin, target=info.number)
        self.core.emit(CallBack(origin, target=info.number, is_set=True))

    def order(self, origin: str, target: str) -> None:
        """CallBackNonCallRelated: ``origin`` asks to be called back by ``target``."""
        self._register(origin, self._check(origin, target))

    def order_in_call(self, call: Call, origin: str) -> str:
        """CallBack (call related): ``origin``'s call to a busy or unanswered extension is
        cleared and a call back on that extension ordered; the extension."""
        conn = call.connection(origin)
        target = call.called_device or ""
        if conn is None or origin != call.calling_device:
            raise SwitchError(Refusal.NOT_IN_CALL, f"{origin} did not make call {call.call_id}")
        tconn = call.connection(target)
        busy = conn.state is ConnectionState.FAIL and tconn is None
        unanswered = tconn is not None and tconn.state is ConnectionState.ALERTING
        if not (busy or unanswered):
            raise SwitchError(
                Refusal.CONNECTION_NOT_IN_STATE,
                f"call {call.call_id} is neither busy nor ringing unanswered at {target!r}",
            )
        info = self._check(origin, target)
        self.core.clear_all(call, EventCause.CALL_BACK, first=origin)
        self._register(origin, info)
        return target

    def cancel(self, origin: str, target: str) -> None:
        """CancelCallBack: ``origin``'s request on ``target`` is withdrawn."""
        request = self._find(origin, target)
        if request is None:
            raise SwitchError(Refusal.NOT_IN_STATE, f"{origin} has no call back on {target}")
        self._drop(request)

    @staticmethod
    def _arm(request: Request, event: object) -> None:
        if isinstance(event, CallEvent):  # the target had a call
            request.armed = True

    def _drop(self, request: Request) -> None:
        if request not in self.requests:
            return
        self.requests.remove(request)
        if request.timer is not None and request.timer.active():
            request.timer.cancel()
        if request.unsubscribe is not None:
            request.unsubscribe()
        self.core.emit(CallBack(request.origin, target=request.target, is_set=False))

    def _expire(self, request: Request) -> None:
        self.log.info(
            "call back of {origin} on {target} timed out",
            origin=request.origin,
            target=request.target,
        )
        request.timer = None
        self._drop(request)
        self.dispatch()

    def dispatch(self) -> None:
        """Carry out each request whose target has finished a call and is free, its
        originating device free too (at most one per device at a time)."""
        busy: set[str] = set()
        for request in list(self.requests):
            origin, target = self.core.info(request.origin), self.core.info(request.target)
            if origin is None or target is None:
                self._drop(request)
                continue
            if not request.armed or request.origin in busy or request.target in busy:
                continue
            if not (origin.is_free() and target.is_free()) or origin.connections:
                continue
            busy.update((request.origin, request.target))
            self._carry_out(request)

    def _carry_out(self, request: Request) -> None:
        self.log.info(
            "call back of {origin} on {target}: ringing {origin}",
            origin=request.origin,
            target=request.target,
        )
        self._drop(request)
        call = self.core.off_hook(request.origin, EventCause.CALL_BACK)
        call.called_device = request.target
        call.delivery_cause = EventCause.CALL_BACK
        call.prompting = request.target
        self.core.prompt(call, request.origin)
