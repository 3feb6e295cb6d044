"""The monitor registry: ECMA-269 clause 15 (Monitor Start / Stop / Change Monitor Filter)
and the fan-out of switch events to the monitors that see them.

Monitors are indexed by device and by call, so routing an event costs a dictionary look-up
per device and call it names, never a scan of all monitors. Each event is rendered once per
distinct *view* (namespace, viewpoint device, device presentation) and the bytes are reused
for every monitor with that view; only ``monitorCrossRefID`` differs
(``EventTemplate.render``). Delivery to one association never stops delivery to the others.

Limits (the exchange data's ``Limits``; ECMA-269 12.2.4 / 12.2.5 error values):
``overallMonitorLimitExceeded`` for the whole server, ``objectMonitorLimitExceeded`` per
association.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import attrs
from twisted.logger import Logger

from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.pbx import events as pbx_events

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
    pbx_events.AgentLoggedOn: ("logicalDeviceFeature", "agentLoggedOn"),
    pbx_events.AgentLoggedOff: ("logicalDeviceFeature", "agentLoggedOff"),
    pbx_events.AgentReady: ("logicalDeviceFeature", "agentReady"),
    pbx_events.AgentNotReady: ("logicalDeviceFeature", "agentNotReady"),
    pbx_events.AgentBusy: ("logicalDeviceFeature", "agentBusy"),
    pbx_events.AgentWorkingAfterCall: ("logicalDeviceFeature", "agentWorkingAfterCall"),
}


def filter_flag(event: object) -> str | None:
    pair = EVENT_FILTER_FLAGS.get(type(event))
    return pair[1] if pair else None


@attrs.define(eq=False, slots=True)
class Monitor:
    """One monitor: a device or a call watched by one association."""

    cross_ref_id: str
    owner: Any  # the association (anything with deliver_event(bytes) and a view key)
    device: str | None = None
    call_id: str | None = None
    suppressed: frozenset[str] = frozenset()  # filter flags set to true: not sent
    namespace: str = ""
    view: Hashable = None  # how the owner presents devices (echo strings, dialect)
    delivered: int = 0

    @property
    def kind(self) -> str:
        return "device" if self.device is not None else "call"


class MonitorRegistry:
    """All monitors of the server; subscribes to the switch once."""

    def __init__(
        self,
        switch: Any,
        render: Callable[[object, Monitor], Any],
        *,
        max_monitors: int = 20000,
        max_per_owner: int = 10000,
    ) -> None:
        self.switch = switch
        self._render = render  # (event, monitor) -> template with .render(xref) -> bytes
        self.max_monitors = max_monitors
        self.max_per_owner = max_per_owner
        self._by_xref: dict[str, Monitor] = {}
        self._by_device: dict[str, list[Monitor]] = {}
        self._by_call: dict[str, list[Monitor]] = {}
        self._by_owner: dict[int, dict[str, Monitor]] = {}
        self._ids = itertools.count(1)
        self.events_routed = 0
        self.deliveries = 0
        #: deliveries per switch event class (``Delivered``...), for the metrics collector
        self.deliveries_by_type: dict[type, int] = {}
        self._unsubscribe = switch.subscribe(self.on_switch_event)

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
        return f"{next(self._ids):x}"

    def start(
        self,
        owner: object,
        *,
        device: str | None = None,
        call_id: str | None = None,
        suppressed: Iterable[str] = (),
        namespace: str = "",
        view: Hashable = None,
    ) -> Monitor:
        if (device is None) == (call_id is None):
            raise ValueError("a monitor watches either a device or a call")
        if len(self._by_xref) >= self.max_monitors:
            raise CstaError(ErrorValue.OVERALL_MONITOR_LIMIT_EXCEEDED, "overall monitor limit")
        owned = self._by_owner.setdefault(id(owner), {})
        if len(owned) >= self.max_per_owner:
            raise CstaError(ErrorValue.OBJECT_MONITOR_LIMIT_EXCEEDED, "monitors per session")
        monitor = Monitor(
            cross_ref_id=self._new_xref(),
            owner=owner,
            device=device,
            call_id=call_id,
            suppressed=frozenset(suppressed),
            namespace=namespace,
            view=view,
        )
        self._by_xref[monitor.cross_ref_id] = monitor
        owned[monitor.cross_ref_id] = monitor
        if device is not None:
            self._by_device.setdefault(device, []).append(monitor)
        else:
            self._by_call.setdefault(call_id, []).append(monitor)
        log.debug(
            "monitor {xref} started on {kind} {target}",
            xref=monitor.cross_ref_id,
            kind=monitor.kind,
            target=device or call_id,
        )
        return monitor

    def stop(self, cross_ref_id: str, owner: object | None = None) -> Monitor:
        monitor = self._by_xref.get(cross_ref_id)
        if monitor is None or (owner is not None and monitor.owner is not owner):
            raise CstaError(ErrorValue.INVALID_CROSS_REF_ID, f"no monitor {cross_ref_id}")
        self._remove(monitor)
        return monitor

    def change_filter(self, cross_ref_id: str, owner: object, suppressed: Iterable[str]) -> Monitor:
        monitor = self._by_xref.get(cross_ref_id)
        if monitor is None or monitor.owner is not owner:
            raise CstaError(ErrorValue.INVALID_CROSS_REF_ID, f"no monitor {cross_ref_id}")
        monitor.suppressed = frozenset(suppressed)
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
        self._by_xref.pop(monitor.cross_ref_id, None)
        self._by_owner.get(id(monitor.owner), {}).pop(monitor.cross_ref_id, None)
        index, key = (
            (self._by_device, monitor.device)
            if monitor.device is not None
            else (self._by_call, monitor.call_id)
        )
        bucket = index.get(key)
        if bucket is not None:
            try:
                bucket.remove(monitor)
            except ValueError:
                pass
            if not bucket:
                del index[key]

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
        """Call monitors follow a call that a transfer or conference merged into another."""
        new_call = getattr(event, "new_call_id", None)
        if new_call is None:
            return
        for old in event.call_ids:  # type: ignore[attr-defined]
            if old == new_call:
                continue
            for monitor in self._by_call.pop(old, []):
                monitor.call_id = new_call
                self._by_call.setdefault(new_call, []).append(monitor)
