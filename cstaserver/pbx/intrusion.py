"""Intrusion: a caller who meets a busy extension joins the call it is in.

ECMA-269 17.2.x Intrude Call, event cause ``intrude`` (12.3.x); ``participationType``
silent: the intruder only listens. Our reading of MX-ONE (docs/call-pickup-park.md): an
extension whose category allows intrusion (``Extension.intrusion_allowed``) may break into
the call of a busy extension it called, unless that extension is protected against it
(``Extension.intrusion_protected``, refused: privilege violation); the parties hear an
intrusion tone (not simulated).

Event sequence of IntrudeCall(intrude = the intruder's connection in its call to the busy
extension): one ``Conferenced`` (cause intrude) in the busy extension's call - primary old
call that call, secondary old call the intruder's own (which ends without CallCleared, as in
a conference), ``conferencingDevice`` and ``addedParty`` the intruder. A waiting call of the
intruder at the busy extension (call waiting) is withdrawn first (``ConnectionCleared``).
"""

from __future__ import annotations

from twisted.logger import Logger

from cstaserver.pbx.calls import Call
from cstaserver.pbx.core import CallProcessing
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import Conferenced, ConnectionChange, ConnectionCleared
from cstaserver.pbx.states import ConnectionState, EventCause


class Intrusion:
    """IntrudeCall over the call-processing core; ``limit`` parties per call at most."""

    log = Logger()

    def __init__(self, core: CallProcessing, limit: int) -> None:
        self.core = core
        self.limit = limit

    def _target_call(self, call: Call, intruder: str) -> tuple[str, Call]:
        """The busy extension ``intruder`` called in ``call`` and the call it is in."""
        target = call.called_device or ""
        info = self.core.info(target)
        if info is None or not info.is_extension:
            raise SwitchError(Refusal.NOT_IN_STATE, f"call {call.call_id} is not to an extension")
        tconn = call.connection(target)
        if tconn is not None and tconn.state is not ConnectionState.ALERTING:
            raise SwitchError(Refusal.NOT_IN_STATE, f"{target} is already in call {call.call_id}")
        active = [
            self.core.calls[call_id]
            for call_id, conn in info.connections.items()
            if call_id != call.call_id and conn.state is ConnectionState.CONNECTED
        ]
        if len(active) != 1:
            raise SwitchError(Refusal.NOT_IN_STATE, f"{target} is not talking in a call")
        plan = self.core.plan
        settings = plan.extension(intruder)
        if settings is None or not settings.intrusion_allowed:
            raise SwitchError(Refusal.NOT_ALLOWED, f"{intruder} may not intrude")
        protected = plan.extension(target)
        if protected is not None and protected.intrusion_protected:
            raise SwitchError(Refusal.NOT_ALLOWED, f"{target} is protected against intrusion")
        if len(active[0].connections) >= self.limit:
            raise SwitchError(Refusal.CONFERENCE_FULL, f"a call has at most {self.limit} parties")
        return target, active[0]

    def intrude(self, call: Call, intruder: str, *, silent: bool = False) -> Call:
        """``intruder`` (whose ``call`` met a busy extension) joins that extension's call;
        the call joined."""
        conn = call.connection(intruder)
        if conn is None or intruder != call.calling_device:
            raise SwitchError(Refusal.NOT_IN_CALL, f"{intruder} did not make call {call.call_id}")
        if conn.state not in (ConnectionState.FAIL, ConnectionState.CONNECTED):
            raise SwitchError(
                Refusal.CONNECTION_NOT_IN_STATE,
                f"call {call.call_id} has not reached {intruder}'s party",
            )
        target, joined = self._target_call(call, intruder)
        for other in call.others(intruder):  # the waiting call at the target, if any
            self.core.remove_connection(call, other)
            self.core.emit_call(
                call, ConnectionCleared, EventCause.INTRUDE, gone=(other,), releasing_device=other
            )
        self.core.remove_connection(call, intruder)
        self.core.retire(call)
        self.core.join_restricted(joined, call)
        added = self.core.add_connection(joined, intruder, ConnectionState.CONNECTED)
        added.silent = silent
        self.log.info(
            "{intruder} intrudes on {target} in call {call_id}",
            intruder=intruder,
            target=target,
            call_id=joined.call_id,
        )
        changes = [
            ConnectionChange(d, joined.call_id, joined.call_id) for d in joined.others(intruder)
        ]
        changes.append(ConnectionChange(intruder, call.call_id, joined.call_id))
        self.core.emit_call(
            joined,
            Conferenced,
            EventCause.INTRUDE,
            secondary_old_call_id=call.call_id,
            new_call_id=joined.call_id,
            conferencing_device=intruder,
            added_party=intruder,
            connections=changes,
        )
        return joined
