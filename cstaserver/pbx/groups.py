"""Hunt groups, cascade ring groups and CTI/ACD groups with agents and a queue.

ECMA-269 clause 6.1.2 (ACD and hunt group devices), 17.2.x Delivered/Queued/Diverted (cause
distributed) and 19.1.x / 19.2.x agent states (SetAgentState, Agent* events); ECMA TR/82
"ACD" scenarios; the group behaviour follows the MX-ONE System Description ("Hunt groups",
"Call Center (CTI) Group"). A call that reaches a group first arrives there (Delivered at the
group when a member is ready for it, else Queued), then is *distributed*: Diverted from the
group (cause distributed) and Delivered at the member or agent with ``calling_device`` the
A-number, ``called_device`` the group (the number dialled) and ``last_redirection_device``
the group. The group's monitor sees all of it, and every agent event of its agents.

- Hunt group: the first free member (SEQUENTIAL from the first, CIRCULAR from the one after
  the member chosen last).
- Cascade ring group: the first free member rings, then one more every ``step_seconds``
  while the earlier ones keep ringing; the first to answer wins, the others get
  ConnectionCleared.
- Hunt and cascade groups with no free member: the call goes to the group's diverted
  position (Diverted, cause busyOverflow), or fails busy when it has none.
- ACD group distributed by the switch: agents log on at one of the group's agent devices
  (logged on = not ready), go ready / not ready, are busy while on a group call, and work
  after call for ``wrap_up_seconds`` before they are ready again. The ready agent idle the
  longest, whose device is free, gets the next call; with none the call is Queued (the
  group's connection is queued, ``number_queued`` the queue length) and distributed in
  arrival order as soon as an agent is available.
- CTI group routed by the application: every call waits Queued at the group until a CTI
  application routes it (:meth:`Groups.route`, from RouteSelect, DeflectCall or
  SingleStepTransfer on the queued connection); the exchange never picks the agent.
- Both kinds: a full queue (``queue_limit``) sends the call to the diverted position (cause
  overflow), or fails busy; a call queued longer than ``queue_seconds`` goes to the diverted
  position (cause queueTimeOverflow). An agent who lets a group call ring for
  ``ring_seconds`` loses it: the agent's connection clears (callNotAnswered), the agent is
  made not ready, and the call goes back to the head of the queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.pbx.calls import Call, Connection
from cstaserver.pbx.devices import Agent, DeviceInfo
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import (
    AgentBusy,
    AgentEvent,
    AgentLoggedOff,
    AgentLoggedOn,
    AgentNotReady,
    AgentReady,
    AgentWorkingAfterCall,
    Queued,
)
from cstaserver.pbx.interfaces import ICallDistribution, ICallSteps
from cstaserver.pbx.plan import (
    AcdGroup,
    CascadeGroup,
    DeviceKind,
    ExchangePlan,
    GroupRouting,
    HuntGroup,
    HuntStrategy,
    RouteTimeout,
)
from cstaserver.pbx.states import AgentState, ConnectionState, EventCause

log = Logger()

_AGENT_EVENTS: dict[AgentState, type[AgentEvent]] = {
    AgentState.NOT_READY: AgentNotReady,
    AgentState.READY: AgentReady,
    AgentState.BUSY: AgentBusy,
    AgentState.WORKING_AFTER_CALL: AgentWorkingAfterCall,
}


#: ``divert(call, from_device, to, cause)``: Diverted, then the call is offered to ``to``.
Divert = Callable[[Call, str, str, EventCause], None]


class AcdQueue:
    """Runtime of one ACD group: its agents (by agent ID) and its queue of calls."""

    def __init__(self, plan: AcdGroup) -> None:
        self.plan = plan
        self.agents: dict[str, Agent] = {}
        self.queue: deque[Call] = deque()

    @property
    def routed_by_application(self) -> bool:
        return self.plan.routing is GroupRouting.APPLICATION


@implementer(ICallDistribution)
class Groups:
    """Distribution of calls to hunt, cascade and ACD groups, and the ACD agents.

    Built from the plan's groups; drives calls through the core's ``ICallSteps`` and keeps
    time (cascade steps, wrap-up) on ``clock``. The core calls it back as its
    ``ICallDistribution``.
    """

    def __init__(
        self, plan: ExchangePlan, clock: IReactorTime, steps: ICallSteps, *, divert: Divert
    ) -> None:
        self.steps = steps
        self.clock = clock
        self.divert = divert
        self.hunt: dict[str, HuntGroup] = {g.number: g for g in plan.hunt_groups}
        self.cascade: dict[str, CascadeGroup] = {g.number: g for g in plan.cascade_groups}
        self.acd: dict[str, AcdQueue] = {g.number: AcdQueue(g) for g in plan.acd_groups}
        self._last_hunted: dict[str, int] = {}
        self.acd_of_device: dict[str, str] = {}
        for group in plan.acd_groups:
            for device in group.agent_devices:
                self.acd_of_device.setdefault(device, group.number)

    def update_plan(self, plan: ExchangePlan) -> None:
        """The groups of a changed plan (admin commands), for the calls and agents to come:
        new groups start empty, removed ones go, the others keep their agents and queue and
        take their new settings (wrap-up, ring and queue times, routing, members, agent
        positions, diverted position, PINs). The switch has checked (``Switch.check_plan``)
        that no removed group has calls and that every logged-on agent stays valid."""
        self.hunt = {g.number: g for g in plan.hunt_groups}
        self.cascade = {g.number: g for g in plan.cascade_groups}
        queues: dict[str, AcdQueue] = {}
        for group in plan.acd_groups:
            acd = self.acd.get(group.number) or AcdQueue(group)
            acd.plan = group
            queues[group.number] = acd
        self.acd = queues
        self.acd_of_device = {}
        for group in plan.acd_groups:
            for device in group.agent_devices:
                self.acd_of_device.setdefault(device, group.number)
        self.dispatch()  # a group now distributed by the exchange takes its queued calls

    # -- offering ----------------------------------------------------------------------------
    def offer(self, call: Call, info: DeviceInfo) -> None:
        if info.kind is DeviceKind.ACD_GROUP:
            self._offer_acd(call, self.acd[info.number])
        elif info.kind is DeviceKind.HUNT_GROUP:
            self._offer_hunt(call, self.hunt[info.number])
        else:
            self._offer_cascade(call, self.cascade[info.number])

    def member_free(self, number: str) -> bool:
        info = self.steps.info(number)
        return (
            info is not None
            and info.is_extension
            and info.terminal
            and info.is_free()
            and not info.dnd
        )

    def distribute(self, call: Call, group: str, member: str) -> None:
        """Diverted from ``group`` (cause distributed), then Delivered at ``member``."""
        if group in call.connections:
            self.steps.remove_connection(call, group)
        call.group = group
        call.last_redirection_device = group
        call.delivery_cause = EventCause.DISTRIBUTED
        self.steps.emit_diverted(call, EventCause.DISTRIBUTED, group, member, gone=(group,))
        self.steps.alert(call, member)
        acd = self.acd.get(group)
        if acd is not None:
            conn = call.connections[member]
            ring = acd.plan.ring_seconds
            self.steps.set_timer(call, conn, "agent-ring", ring, self._not_answered, acd)

    def _arrive(self, call: Call, group: str) -> None:
        """The call reaches the group (Delivered at the group) on its way to a member."""
        self.steps.alert(call, group)

    def _overflow(self, call: Call, group: str, position: str | None, cause: EventCause) -> None:
        """No member can take the call: the diverted position, else Failed (busy)."""
        if position is not None:
            self.divert(call, group, position, cause)
        else:
            self.steps.fail(call, group, EventCause.BUSY)

    def _offer_hunt(self, call: Call, group: HuntGroup) -> None:
        members = group.members
        start = 0
        if group.strategy is HuntStrategy.CIRCULAR and group.number in self._last_hunted:
            start = self._last_hunted[group.number] + 1
        for step in range(len(members)):
            index = (start + step) % len(members)
            if self.member_free(members[index]):
                self._last_hunted[group.number] = index
                self._arrive(call, group.number)
                self.distribute(call, group.number, members[index])
                return
        self._overflow(call, group.number, group.diverted_position, EventCause.BUSY_OVERFLOW)

    def _offer_cascade(self, call: Call, group: CascadeGroup) -> None:
        free = [m for m in group.members if self.member_free(m)]
        if not free:
            self._overflow(call, group.number, group.diverted_position, EventCause.BUSY_OVERFLOW)
            return
        self._arrive(call, group.number)
        self.distribute(call, group.number, free[0])
        rest = group.members[group.members.index(free[0]) + 1 :]
        self._schedule_cascade(call, group, rest)

    def _schedule_cascade(self, call: Call, group: CascadeGroup, rest: tuple[str, ...]) -> None:
        if rest and not call.ended:
            delayed = self.clock.callLater(
                group.step_seconds, self._cascade_step, call, group, rest
            )
            call.set_timer("cascade", group.number, delayed)

    def _cascade_step(self, call: Call, group: CascadeGroup, rest: tuple[str, ...]) -> None:
        call.timers.pop(("cascade", group.number), None)
        if call.ended or not call.in_state(ConnectionState.ALERTING):
            return
        member, rest = rest[0], rest[1:]
        if self.member_free(member):
            self.steps.alert(call, member)
        self._schedule_cascade(call, group, rest)

    def _offer_acd(self, call: Call, acd: AcdQueue) -> None:
        number = acd.plan.number
        call.group = number
        agent = None if acd.routed_by_application else self.longest_idle(acd)
        if agent is not None:
            self._arrive(call, number)
            self.distribute(call, number, agent.device)
            return
        if len(acd.queue) >= acd.plan.queue_limit:
            self._overflow(call, number, acd.plan.diverted_position, EventCause.OVERFLOW)
            return
        cause = EventCause.NEW_CALL if acd.routed_by_application else EventCause.NO_AVAILABLE_AGENTS
        self._enqueue(call, acd, cause)

    def _enqueue(self, call: Call, acd: AcdQueue, cause: EventCause, *, head: bool = False) -> None:
        """The call waits at the group (its connection queued; Queued); ``head``: before the
        calls already waiting."""
        number = acd.plan.number
        conn = self.steps.add_connection(call, number, ConnectionState.QUEUED)
        if head:
            acd.queue.appendleft(call)
        else:
            acd.queue.append(call)
        self.steps.emit_call(
            call,
            Queued,
            cause,
            queue=number,
            calling_device=call.calling_device,
            called_device=call.called_device,
            number_queued=len(acd.queue),
            last_redirection_device=call.last_redirection_device,
        )
        wait = acd.plan.queue_seconds
        if wait is not None and acd.plan.diverted_position is not None:
            self.steps.set_timer(call, conn, "queue", wait, self._queue_time_out, acd)

    def _queue_time_out(self, call: Call, conn: Connection, acd: AcdQueue) -> None:
        if call in acd.queue:
            acd.queue.remove(call)
            cause = EventCause.QUEUE_TIME_OVERFLOW
            self._overflow(call, acd.plan.number, acd.plan.diverted_position, cause)

    def reject(self, call: Call, device: str) -> bool:
        """The agent at ``device`` refused (the reject key) a group call ringing there: as if
        it had rung out, the agent is made not ready and the call goes back to the head of
        the queue, but the agent's ConnectionCleared has the cause keyOperation. False (and
        nothing done) if it is not an ACD group's call ringing at one of its agents."""
        acd = self.acd.get(call.group or "")
        conn = call.connection(device)
        agent = self._agent_at(device)
        if acd is None or conn is None or agent is None or agent.group != acd.plan.number:
            return False
        if conn.state is not ConnectionState.ALERTING:
            return False
        self._not_answered(call, conn, acd, EventCause.KEY_OPERATION)
        return True

    def _not_answered(
        self,
        call: Call,
        conn: Connection,
        acd: AcdQueue,
        cause: EventCause = EventCause.CALL_NOT_ANSWERED,
    ) -> None:
        """An agent let a group call ring for the group's ring time (see module docstring);
        ``cause``: keyOperation when the agent refused it (:meth:`reject`)."""
        if conn.state is not ConnectionState.ALERTING:
            return
        agent = self._agent_at(conn.device)
        # no redistribution in between: the agent is not ready and the call goes back first
        self.steps.release(call, conn.device, cause, settle=False, redistribute=False)
        if agent is not None and agent.group == acd.plan.number:
            agent.cancel_wrap_up()
            self._set_state(agent, AgentState.NOT_READY)
        if call.ended or not call.connections:
            return
        self._enqueue(call, acd, EventCause.CALL_NOT_ANSWERED, head=True)
        self.dispatch()

    # -- routeing by an application (ECMA-269 20.2 Route Select; DeflectCall on the queue) ----
    def queued_at(self, call: Call, group: str) -> AcdQueue:
        """The group's queue, if ``call`` waits in it; else SwitchError."""
        acd = self.acd.get(group)
        conn = call.connections.get(group)
        if acd is None or conn is None or conn.state is not ConnectionState.QUEUED:
            raise SwitchError(
                Refusal.CONNECTION_NOT_IN_STATE,
                f"call {call.call_id} is not queued at {group}",
            )
        return acd

    def route(self, call: Call, group: str, destination: str) -> None:
        """An application routes a call queued at ``group`` to ``destination`` (a free
        extension: Diverted from the group, cause distributed, Delivered there)."""
        acd = self.queued_at(call, group)
        if not self.member_free(destination):
            raise SwitchError(Refusal.DEVICE_BUSY, f"{destination} cannot take a call now")
        acd.queue.remove(call)
        self.distribute(call, group, destination)

    def redirect(self, call: Call, group: str, destination: str) -> None:
        """A call queued at ``group`` is sent on to ``destination`` as any call would be
        (DeflectCall or SingleStepTransferCall on the queued connection)."""
        acd = self.queued_at(call, group)
        acd.queue.remove(call)
        self.divert(call, group, destination, EventCause.REDIRECTED)

    def route_timed_out(self, call: Call, group: str) -> None:
        """The routeing application gave no route in time (``on_route_timeout``)."""
        acd = self.queued_at(call, group)
        if acd.plan.on_route_timeout is RouteTimeout.DIVERT and acd.plan.diverted_position:
            acd.queue.remove(call)
            self.divert(call, group, acd.plan.diverted_position, EventCause.TIMEOUT)

    def longest_idle(self, acd: AcdQueue) -> Agent | None:
        best: Agent | None = None
        for agent in acd.agents.values():
            if agent.state is AgentState.READY and self.member_free(agent.device):
                if best is None or agent.idle_since < best.idle_since:
                    best = agent
        return best

    def dispatch(self) -> None:
        """Give queued calls to agents that became available."""
        for acd in self.acd.values():
            if acd.routed_by_application:
                continue
            while acd.queue:
                agent = self.longest_idle(acd)
                if agent is None:
                    break
                call = acd.queue.popleft()
                if not call.ended:
                    self.distribute(call, acd.plan.number, agent.device)

    # -- hooks from the core -----------------------------------------------------------------
    def on_answered(self, call: Call, device: str) -> None:
        agent = self._agent_at(device)
        if agent is not None and call.group == agent.group:
            agent.cancel_wrap_up()
            self._set_state(agent, AgentState.BUSY)

    def on_released(self, call: Call, device: str, conn: Connection | None) -> None:
        agent = self._agent_at(device)
        if agent is not None and agent.state is AgentState.BUSY and call.group == agent.group:
            self._work_after_call(agent)

    def on_call_ended(self, call: Call) -> None:
        acd = self.acd.get(call.group or "")
        if acd is not None and call in acd.queue:
            acd.queue.remove(call)

    # -- agents (ECMA-269 19.1.x SetAgentState) ----------------------------------------------
    def _agent_at(self, device: str) -> Agent | None:
        info = self.steps.info(device)
        return info.agent if info is not None else None

    def acd_for(self, device: str, group: str | None) -> AcdQueue:
        """The ACD group an agent at ``device`` belongs to (``group`` if given)."""
        own = self.acd_of_device.get(device)
        if own is None:
            raise SwitchError(
                Refusal.WRONG_DEVICE_KIND,
                f"{device} is not an agent position of an ACD group",
            )
        if group is not None and group != own:
            acd = self.acd.get(group)
            if acd is None or device not in acd.plan.agent_devices:
                raise SwitchError(
                    Refusal.BAD_ARGUMENT,
                    f"{device} is not an agent device of {group}",
                )
            return acd
        return self.acd[own]

    def log_on(
        self, device: str, agent_id: str | None, group: str | None, password: str | None = None
    ) -> None:
        acd = self.acd_for(device, group)
        info = self.steps.info(device)
        assert info is not None
        if not agent_id or agent_id not in acd.plan.agent_ids:
            raise SwitchError(
                Refusal.BAD_ARGUMENT,
                f"agent ID {agent_id!r} is not an agent of group {acd.plan.number}",
            )
        pin = acd.plan.pin_of(agent_id)
        if pin is not None and password != pin:
            raise SwitchError(Refusal.WRONG_PASSWORD, f"wrong password for agent {agent_id}")
        if info.agent is not None:
            raise SwitchError(
                Refusal.NOT_IN_STATE,
                f"agent {info.agent.agent_id} is already logged on at {device}",
            )
        if agent_id in acd.agents:
            raise SwitchError(
                Refusal.NOT_IN_STATE,
                f"agent {agent_id} is logged on at {acd.agents[agent_id].device}",
            )
        agent = Agent(agent_id, acd.plan.number, device, idle_since=self.clock.seconds())
        info.agent = agent
        acd.agents[agent_id] = agent
        self._emit_agent(AgentLoggedOn, agent)

    def log_off(self, device: str, agent_id: str | None) -> None:
        agent = self.require_agent(device, agent_id)
        agent.cancel_wrap_up()
        del self.acd[agent.group].agents[agent.agent_id]
        info = self.steps.info(device)
        assert info is not None
        info.agent = None
        agent.state = AgentState.LOGGED_OFF
        self._emit_agent(AgentLoggedOff, agent)

    def require_agent(self, device: str, agent_id: str | None = None) -> Agent:
        self.acd_for(device, None)
        agent = self._agent_at(device)
        if agent is None:
            raise SwitchError(Refusal.NOT_IN_STATE, f"no agent is logged on at {device}")
        if agent_id and agent_id != agent.agent_id:
            raise SwitchError(
                Refusal.BAD_ARGUMENT,
                f"agent {agent_id} is not the agent logged on at {device}",
            )
        return agent

    def request_state(self, device: str, state: AgentState, agent_id: str | None) -> None:
        """Ready / not ready / working after call, as requested (validated first)."""
        agent = self.require_agent(device, agent_id)
        if agent.state is AgentState.BUSY and state is not AgentState.WORKING_AFTER_CALL:
            raise SwitchError(Refusal.NOT_IN_STATE, f"agent {agent.agent_id} is busy on a call")
        if state is AgentState.WORKING_AFTER_CALL:
            self._work_after_call(agent)
            return
        agent.cancel_wrap_up()
        self._set_state(agent, state)
        self.dispatch()

    def _work_after_call(self, agent: Agent) -> None:
        agent.cancel_wrap_up()
        self._set_state(agent, AgentState.WORKING_AFTER_CALL)
        wrap = self.acd[agent.group].plan.wrap_up_seconds
        agent.wrap_up = self.clock.callLater(wrap, self._wrap_up_done, agent)

    def _wrap_up_done(self, agent: Agent) -> None:
        agent.wrap_up = None
        if agent.state is AgentState.WORKING_AFTER_CALL:
            self._set_state(agent, AgentState.READY)
            self.dispatch()

    def _set_state(self, agent: Agent, state: AgentState) -> None:
        if state is AgentState.READY and agent.state is not AgentState.READY:
            agent.idle_since = self.clock.seconds()
        agent.state = state
        self._emit_agent(_AGENT_EVENTS[state], agent)

    def _emit_agent(self, cls: type[AgentEvent], agent: Agent) -> None:
        self.steps.emit(
            cls(agent.device, agent_id=agent.agent_id, group=agent.group, state=agent.state)
        )
        log.debug(
            "agent {agent_id} at {device}: {state}",
            agent_id=agent.agent_id,
            device=agent.device,
            state=agent.state.value,
        )
