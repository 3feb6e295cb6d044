"""The monitor registry: ECMA-269 clause 15 (Monitor Start / Stop / Change Monitor Filter)
and the fan-out of switch events to the monitors that see them.

Monitors are indexed by device and by call, so routing an event costs a dictionary look-up
per device and call it names, never a scan of all monitors. Each event is rendered once per
distinct *view* (namespace, viewpoint device, device presentation) and the bytes are reused
for every monitor with that view; only ``monitorCrossRefID`` differs
(``EventTemplate.render``). Delivery to one association never stops delivery to the others.

Monitor types (ECMA-269 15.1.2 ``monitorType``, 12.3.x MonitorType): a *device-type* monitor
on a device (the default) sees the events of the device and of each call while the device
takes part in it. A *call-type* monitor on a device also keeps following each call the device
has taken part in after the call leaves the device (transfer, deflection, single-step
transfer, diversion, its own ConnectionCleared), until that call is cleared; a transfer or
conference that merges the call into another one is followed too. Such a monitor is indexed
under the device and under each followed call (``Monitor.followed``). A call-type monitor on
a call object is the plain call monitor.

Limits (the exchange data's ``Limits``; ECMA-269 12.2.4 / 12.2.5 error values):
``overallMonitorLimitExceeded`` for the whole server and for the monitors of one client
address (``max_monitors_per_address``: two connections from one host cannot take every
monitor), ``objectMonitorLimitExceeded`` per association or session
(``max_monitors_per_session``) and per monitored device (``max_monitors_per_device``: each
monitor of a device costs every call to it a rendering, docs/limits.md). Reaching the
per-address or per-device limit is logged once, not for each refusal: a client that keeps
asking beyond it costs no log line per request; the next line comes once one of the
address's (or device's) monitors has stopped and the limit is reached again.

Interest: the registry subscribes to the switch with a ``pbx.bus.Interest`` it keeps to the
devices and calls that have monitors (followed calls included), so the switch builds no event
that no monitor sees. Likewise an optional :class:`IMonitorInterest` (a front end of a
cluster, docs/cluster.md) is told when the first monitor of a device or call appears and when
the last one goes, so a front end receives the events of only what its clients watch.
Without one (one process) nothing is called.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import attrs
from twisted.logger import Logger
from zope.interface import Interface

from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.csta.limitlog import LimitLog
from cstaserver.pbx import events as pbx_events
from cstaserver.pbx.bus import Interest

log = Logger()

#: The ECMA-269 filter flag (and filter group) of each switch event (15.1.x MonitorFilter).
EVENT_FILTER_FLAGS: dict[type, tuple[str, str]] = {
    pbx_events.ServiceInitiated: ("callControl", "serviceInitiated"),
    pbx_events.Originated: ("callControl", "originated"),
    pbx_events.NetworkReached: ("callControl", "networkReached"),
    pbx_events.Delivered: ("callControl", "delivered"),
    pbx_events.Established: ("callControl", "established"),
    pbx_events.ConnectionCleared: ("callControl", "connectionCleared"),
    pbx_events.CallCleared: ("callControl", "callCleared"),
    pbx_events.Held: ("callControl", "held"),
    pbx_events.Retrieved: ("callControl", "retrieved"),
    pbx_events.Transferred: ("callControl", "transferred"),
    pbx_events.Conferenced: ("callControl", "conferenced"),
    pbx_events.Diverted: ("callControl", "diverted"),
    pbx_events.Failed: ("callControl", "failed"),
    pbx_events.Queued: ("callControl", "queued"),
    pbx_events.DigitsGenerated: ("callAssociated", "digitsGenerated"),
    pbx_events.DigitsDialed: ("callControl", "digitsDialed"),
    pbx_events.CallInformation: ("callAssociated", "callInformation"),
    pbx_events.MessageWaiting: ("physicalDeviceFeature", "messageWaiting"),
    pbx_events.Forwarding: ("logicalDeviceFeature", "forwarding"),
    pbx_events.DoNotDisturb: ("logicalDeviceFeature", "doNotDisturb"),
    pbx_events.CallBack: ("logicalDeviceFeature", "callBack"),
    pbx_events.AgentLoggedOn: ("logicalDeviceFeature", "agentLoggedOn"),
    pbx_events.AgentLoggedOff: ("logicalDeviceFeature", "agentLoggedOff"),
    pbx_events.AgentReady: ("logicalDeviceFeature", "agentReady"),
    pbx_events.AgentNotReady: ("logicalDeviceFeature", "agentNotReady"),
    pbx_events.AgentBusy: ("logicalDeviceFeature", "agentBusy"),
    pbx_events.AgentWorkingAfterCall: ("logicalDeviceFeature", "agentWorkingAfterCall"),
}


class IMonitorInterest(Interface):
    """Told which devices and calls have monitors (the first one started, the last gone)."""

    def watch_device(number: str) -> None:
        """``number`` has a monitor now."""

    def unwatch_device(number: str) -> None:
        """``number`` has no monitor any more."""

    def watch_call(call_id: str) -> None:
        """``call_id`` has a monitor (or a follower) now."""

    def unwatch_call(call_id: str) -> None:
        """``call_id`` has no monitor any more."""


def filter_flag(event: object) -> str | None:
    pair = EVENT_FILTER_FLAGS.get(type(event))
    return pair[1] if pair else None


@attrs.define(eq=False, slots=True)
class Monitor:
    """One monitor: a device or a call watched by one association. ``follows_calls``: a
    call-type monitor on a device (see the module docstring); ``followed``: the calls it
    follows now."""

    cross_ref_id: str
    owner: Any  # the association (anything with deliver_event(bytes) and a view key)
    device: str | None = None
    call_id: str | None = None
    suppressed: frozenset[str] = frozenset()  # filter flags set to true: not sent
    namespace: str = ""
    view: Hashable = None  # how the owner presents devices (echo strings, dialect)
    delivered: int = 0
    follows_calls: bool = False
    followed: set[str] = attrs.Factory(set)
    address: str | None = None  # the client's IP address, for the per-address limit

    @property
    def kind(self) -> str:
        return "device" if self.device is not None else "call"

    @property
    def monitor_type(self) -> str:
        """ECMA-269 MonitorType: ``call`` or ``device``."""
        return "call" if self.follows_calls or self.device is None else "device"


class MonitorRegistry:
    """All monitors of the server; subscribes to the switch once."""

    def __init__(
        self,
        switch: Any,
        render: Callable[[object, Monitor], Any],
        *,
        max_monitors: int = 20000,
        max_per_owner: int = 10000,
        max_per_device: int | None = None,
        max_per_address: int | None = None,
        prefix: str = "",
    ) -> None:
        """``prefix`` starts every crossRefID this registry makes: front ends that share
        sessions (docs/cluster.md) each have their own, so a session's monitors keep their
        crossRefIDs on whichever front end it moves to."""
        self.switch = switch
        self.prefix = prefix
        #: told ``(owner)`` after a monitor of ``owner`` is started, stopped or refiltered
        #: (the shared session store keeps the session's record up to date); None: no cost
        self.on_change: Callable[[object], None] | None = None
        self._render = render  # (event, monitor) -> template with .render(xref) -> bytes
        self.max_monitors = max_monitors
        self.max_per_owner = max_per_owner
        self.max_per_device = max_per_device  # None: no limit
        self.max_per_address = max_per_address  # None: no limit
        self._per_address: dict[str, int] = {}
        #: ("address" | "device", key) whose limit is reached and logged, until a monitor stops
        self._limit_log = LimitLog()
        self._by_xref: dict[str, Monitor] = {}
        self._by_device: dict[str, list[Monitor]] = {}
        self._by_call: dict[str, list[Monitor]] = {}
        self._by_owner: dict[int, dict[str, Monitor]] = {}
        self._followers = 0  # call-type monitors on devices
        self._ids = itertools.count(1)
        self.events_routed = 0
        self.deliveries = 0
        #: deliveries per switch event class (``Delivered``...), for the metrics collector
        self.deliveries_by_type: dict[type, int] = {}
        #: told which devices and calls are watched (a cluster's front end); None: no cost
        self.interest: IMonitorInterest | None = None
        #: what the switch builds events for: the devices and calls in the indexes
        self.wanted = Interest()
        self._unsubscribe = switch.subscribe(self.on_switch_event, self.wanted)

    # -- registry -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._by_xref)

    def __iter__(self):
        return iter(list(self._by_xref.values()))

    def get(self, cross_ref_id: str) -> Monitor | None:
        return self._by_xref.get(cross_ref_id)

    def owned_by(self, owner: object) -> list[Monitor]:
        return list(self._by_owner.get(id(owner), {}).values())

    def _new_xref(self) -> str:
        # short, stable, ASCII (R7); never reused while the process lives
        return f"{self.prefix}{next(self._ids):x}"

    def _changed(self, owner: object) -> None:
        if self.on_change is not None:
            self.on_change(owner)

    def start(
        self,
        owner: object,
        *,
        device: str | None = None,
        call_id: str | None = None,
        suppressed: Iterable[str] = (),
        namespace: str = "",
        view: Hashable = None,
        follows_calls: bool = False,
        address: str | None = None,
        cross_ref_id: str | None = None,
    ) -> Monitor:
        """A new monitor on ``device`` or ``call_id``; ``follows_calls``: call-type on a
        device (it follows the device's calls from now on, and those it has now);
        ``address``: the client's IP address (counted against ``max_per_address``);
        ``cross_ref_id``: the crossRefID it keeps (a session moved from another front end),
        instead of a new one."""
        if (device is None) == (call_id is None):
            raise ValueError("a monitor watches either a device or a call")
        if cross_ref_id is not None and cross_ref_id in self._by_xref:
            raise ValueError(f"crossRefID {cross_ref_id} is in use")
        self._check_limits(owner, device, address)
        # the device's calls now, before anything is registered: a failed look-up leaves none
        followed = self._calls_of(device) if follows_calls and device is not None else []
        owned = self._by_owner.setdefault(id(owner), {})
        monitor = Monitor(
            cross_ref_id=cross_ref_id or self._new_xref(),
            owner=owner,
            device=device,
            call_id=call_id,
            suppressed=frozenset(suppressed),
            namespace=namespace,
            view=view,
            follows_calls=follows_calls and device is not None,
            address=address,
        )
        self._by_xref[monitor.cross_ref_id] = monitor
        if address is not None:
            self._per_address[address] = self._per_address.get(address, 0) + 1
        owned[monitor.cross_ref_id] = monitor
        if device is not None:
            self._index(self._by_device, device, monitor)
            if monitor.follows_calls:
                self._followers += 1
                for current in followed:
                    self._follow(monitor, current)
        else:
            self._index(self._by_call, call_id, monitor)
        log.debug(
            "monitor {xref} started on {kind} {target}",
            xref=monitor.cross_ref_id,
            kind=monitor.kind,
            target=device or call_id,
        )
        self._changed(owner)
        return monitor

    def _calls_of(self, device: str) -> list[str]:
        return [call_id for call_id, _, _ in self.switch.snapshot_device(device)]

    def _check_limits(self, owner: object, device: str | None, address: str | None) -> None:
        """Refuse a new monitor over a limit (ECMA-269 12.2.4 error values)."""
        if len(self._by_xref) >= self.max_monitors:
            raise CstaError(ErrorValue.OVERALL_MONITOR_LIMIT_EXCEEDED, "overall monitor limit")
        limit = self.max_per_address
        if address is not None and limit is not None:
            if self._per_address.get(address, 0) >= limit:
                if self._limit_log.first(("address", address)):
                    log.info(
                        "monitor limit {limit} of address {address} reached",
                        limit=limit,
                        address=address,
                    )
                raise CstaError(
                    ErrorValue.OVERALL_MONITOR_LIMIT_EXCEEDED, "monitors per client address"
                )
        if len(self._by_owner.get(id(owner), ())) >= self.max_per_owner:
            raise CstaError(ErrorValue.OBJECT_MONITOR_LIMIT_EXCEEDED, "monitors per session")
        limit = self.max_per_device
        if device is not None and limit is not None:
            if len(self._by_device.get(device, ())) >= limit:
                if self._limit_log.first(("device", device)):
                    log.info(
                        "monitor limit {limit} of device {device} reached",
                        limit=limit,
                        device=device,
                    )
                raise CstaError(ErrorValue.OBJECT_MONITOR_LIMIT_EXCEEDED, "monitors per device")

    def apply_limits(self, limits: Any) -> None:
        """Take new limits (the exchange data's ``Limits``): for the next MonitorStart."""
        self.max_monitors = limits.max_monitors
        self.max_per_owner = limits.max_monitors_per_session
        self.max_per_device = limits.max_monitors_per_device
        self.max_per_address = limits.max_monitors_per_address
        self._limit_log.clear()

    def stop(self, cross_ref_id: str, owner: object | None = None) -> Monitor:
        monitor = self._by_xref.get(cross_ref_id)
        if monitor is None or (owner is not None and monitor.owner is not owner):
            raise CstaError(ErrorValue.INVALID_CROSS_REF_ID, f"no monitor {cross_ref_id}")
        self._remove(monitor)
        self._changed(monitor.owner)
        return monitor

    def change_filter(self, cross_ref_id: str, owner: object, suppressed: Iterable[str]) -> Monitor:
        monitor = self._by_xref.get(cross_ref_id)
        if monitor is None or monitor.owner is not owner:
            raise CstaError(ErrorValue.INVALID_CROSS_REF_ID, f"no monitor {cross_ref_id}")
        monitor.suppressed = frozenset(suppressed)
        self._changed(owner)
        return monitor

    def stop_all(self, owner: object) -> list[Monitor]:
        monitors = list(self._by_owner.get(id(owner), {}).values())
        for monitor in monitors:
            self._remove(monitor)
        self._by_owner.pop(id(owner), None)
        return monitors

    def rebind(self, old_owner: object, new_owner: object) -> list[Monitor]:
        """Move every monitor of ``old_owner`` to ``new_owner`` (session reattach)."""
        monitors = self._by_owner.pop(id(old_owner), {})
        for monitor in monitors.values():
            monitor.owner = new_owner
        self._by_owner.setdefault(id(new_owner), {}).update(monitors)
        return list(monitors.values())

    def _remove(self, monitor: Monitor) -> None:
        self._limit_log.below(("address", monitor.address), ("device", monitor.device))
        if self._by_xref.pop(monitor.cross_ref_id, None) is not None and monitor.address:
            left = self._per_address.get(monitor.address, 0) - 1
            if left > 0:
                self._per_address[monitor.address] = left
            else:
                self._per_address.pop(monitor.address, None)
        self._by_owner.get(id(monitor.owner), {}).pop(monitor.cross_ref_id, None)
        if monitor.device is not None:
            self._unindex(self._by_device, monitor.device, monitor)
        else:
            self._unindex(self._by_call, monitor.call_id, monitor)
        if monitor.follows_calls:
            self._followers -= 1
            for call_id in list(monitor.followed):
                self._unfollow(monitor, call_id)

    def _index(self, index: dict[str, list[Monitor]], key: str, monitor: Monitor) -> None:
        bucket = index.get(key)
        if bucket is None:
            bucket = index[key] = []
            self._interest_changed(index, key, watched=True)
        bucket.append(monitor)

    def _unindex(self, index: dict[str, list[Monitor]], key: Any, monitor: Monitor) -> None:
        bucket = index.get(key)
        if bucket is not None:
            try:
                bucket.remove(monitor)
            except ValueError:
                pass
            if not bucket:
                del index[key]
                self._interest_changed(index, key, watched=False)

    def _interest_changed(self, index: dict[str, list[Monitor]], key: str, watched: bool) -> None:
        wanted = self.wanted
        if index is self._by_device:
            (wanted.want_device if watched else wanted.drop_device)(key)
        else:
            (wanted.want_call if watched else wanted.drop_call)(key)
        interest = self.interest
        if interest is None:
            return
        try:
            if index is self._by_device:
                (interest.watch_device if watched else interest.unwatch_device)(key)
            else:
                (interest.watch_call if watched else interest.unwatch_call)(key)
        except Exception:
            log.failure("monitor interest in {key} failed", key=key)

    def _follow(self, monitor: Monitor, call_id: str) -> None:
        if call_id not in monitor.followed:
            monitor.followed.add(call_id)
            self._index(self._by_call, call_id, monitor)

    def _unfollow(self, monitor: Monitor, call_id: str) -> None:
        monitor.followed.discard(call_id)
        self._unindex(self._by_call, call_id, monitor)

    def close(self) -> None:
        self._unsubscribe()

    # -- fan-out --------------------------------------------------------------------------
    def _watchers(self, event: Any) -> list[Monitor]:
        by_device, by_call = self._by_device, self._by_call
        buckets: list[list[Monitor]] = []
        if by_device:
            for device in event.devices:
                bucket = by_device.get(device)
                if bucket:
                    buckets.append(bucket)
        if by_call:
            for call_id in event.call_ids:
                bucket = by_call.get(call_id)
                if bucket:
                    buckets.append(bucket)
        if len(buckets) <= 1:  # none, or one bucket (a monitor is in one bucket only once)
            return list(buckets[0]) if buckets else []
        seen: dict[int, Monitor] = {}
        for bucket in buckets:
            for monitor in bucket:
                seen.setdefault(id(monitor), monitor)
        return list(seen.values())

    def on_switch_event(self, event: object) -> None:
        self.events_routed += 1
        watchers = self._watchers(event)
        if not watchers:  # no monitor sees it: nothing to render
            self._follow_calls(event)
            return
        flag = filter_flag(event)
        cache: dict[tuple, Any] = {}
        before = self.deliveries
        for monitor in watchers:
            if flag is not None and flag in monitor.suppressed:
                continue
            view_key = (monitor.namespace, monitor.device, monitor.view)
            template = cache.get(view_key)
            try:
                if template is None:
                    template = cache[view_key] = self._render(event, monitor)
                if template is None:
                    continue
                data = template.render(monitor.cross_ref_id)
                monitor.delivered += 1
                self.deliveries += 1
                monitor.owner.deliver_event(data)
            except Exception:
                log.failure("event delivery to monitor {xref} failed", xref=monitor.cross_ref_id)
        if self.deliveries != before:
            by_type = self.deliveries_by_type
            kind = type(event)
            by_type[kind] = by_type.get(kind, 0) + self.deliveries - before
        self._follow_calls(event)

    def _follow_calls(self, event: object) -> None:
        """Call monitors follow a call that a transfer or conference merged into another;
        call-type monitors on devices start following the calls of their device and stop
        with CallCleared."""
        if self._followers:
            self._update_followers(event)
        new_call = getattr(event, "new_call_id", None)
        if new_call is None:
            return
        for old in event.call_ids:  # type: ignore[attr-defined]
            if old == new_call:
                continue
            moved = self._by_call.pop(old, [])
            if moved:
                self._interest_changed(self._by_call, old, watched=False)
            for monitor in moved:
                if monitor.follows_calls:
                    monitor.followed.discard(old)
                    if new_call in monitor.followed:
                        continue  # already in the new call's bucket
                    monitor.followed.add(new_call)
                else:
                    monitor.call_id = new_call
                self._index(self._by_call, new_call, monitor)

    def _update_followers(self, event: Any) -> None:
        call_ids = event.call_ids
        if not call_ids:
            return
        if isinstance(event, pbx_events.CallCleared):
            for monitor in list(self._by_call.get(event.call_id, ())):
                if monitor.follows_calls:
                    self._unfollow(monitor, event.call_id)
            return
        for device in event.devices:
            for monitor in self._by_device.get(device, ()):
                if monitor.follows_calls:
                    for call_id in call_ids:
                        self._follow(monitor, call_id)
