"""The ``sim`` controls of the admin shell (docs/admin.md): what a person does at a
simulated terminal, or an outside caller, through :class:`cstaserver.pbx.simulator.Simulator`.

``sim call FROM TO [--withheld]`` (an outside caller withholding its number), ``sim answer|hangup|hold|retrieve DEVICE``, ``sim busy DEVICE on|off``,
``sim mode DEVICE handsfree|manual``, ``sim agent DEVICE login AGENT_ID|logout|ready|notready``,
``sim traffic RATE SECONDS [--to NUMBER]`` (``sim traffic`` alone: the last run's counters).
A refusal of the switch is one line (its reason) and changes nothing.
"""

from __future__ import annotations

from typing import Any

import attrs

from cstaserver.admin.output import CommandError, ICommandOutput
from cstaserver.pbx.errors import SwitchError

USAGE = {
    "call": "sim call FROM TO [--withheld]",
    "answer": "sim answer DEVICE",
    "hangup": "sim hangup DEVICE",
    "hold": "sim hold DEVICE",
    "retrieve": "sim retrieve DEVICE",
    "busy": "sim busy DEVICE on|off",
    "mode": "sim mode DEVICE handsfree|manual",
    "agent": "sim agent DEVICE login AGENT_ID | logout | ready | notready",
    "traffic": "sim traffic RATE SECONDS [--to NUMBER]",
}


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"{what} {text!r} is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise CommandError(f"{what} must be more than 0")
    return value


def _traffic(controls: SimControls, args: list[str], out: ICommandOutput) -> None:
    if not args:
        run = controls.last_run
        if run is None:
            raise CommandError("no traffic run yet")
        out.write(
            f"traffic: offered {run.offered}, answered {run.answered}, failed {run.failed}, "
            f"rejected {run.rejected}, cleared {run.cleared}, in progress {run.in_progress}"
            f"{', finished' if run.finished else ''}\n"
        )
        return
    to = None
    if len(args) == 4 and args[2] == "--to":
        to = args[3]
    elif len(args) != 2:
        raise CommandError(f"usage: {USAGE['traffic']}")
    rate = _number(args[0], "RATE")
    seconds = _number(args[1], "SECONDS")
    controls.last_run = controls.simulator.traffic(rate, seconds, to=to)
    target = f" to {to}" if to else ""
    out.write(f"traffic: {rate:g} calls/s for {seconds:g} s{target} (sim traffic: counters)\n")


def _usage_line() -> str:
    """The usage line of ``sim`` itself (no verb, or one it does not know)."""
    return f"usage: sim {'|'.join(USAGE)} ... (help lists each)"


def _do(simulator: Any, verb: str, args: list[str]) -> str:
    if verb not in USAGE:
        raise CommandError(f"unknown control {verb!r}; {_usage_line()}")
    usage = CommandError(f"usage: {USAGE[verb]}")
    if verb == "call":
        withheld = args[2:] == ["--withheld"]
        if len(args) != 2 and not withheld:
            raise usage
        call_id = simulator.call(args[0], args[1], withheld=withheld)
        hidden = " (number withheld)" if withheld else ""
        return f"call {call_id}: {args[0]} calls {args[1]}{hidden}"
    if verb in ("answer", "hangup", "hold", "retrieve"):
        if len(args) != 1:
            raise usage
        call_id = getattr(simulator, verb)(args[0])
        return f"{args[0]}: {verb} (call {call_id})"
    if verb == "busy":
        if len(args) != 2 or args[1] not in ("on", "off"):
            raise usage
        simulator.busy(args[0], args[1] == "on")
        return f"{args[0]}: busy {args[1]}"
    if verb == "mode":
        if len(args) != 2:
            raise usage
        simulator.mode(args[0], args[1])
        return f"{args[0]}: {args[1]} terminal"
    if verb == "agent":
        if not args or len(args) < 2:
            raise usage
        if args[1] == "login":
            if len(args) != 3:
                raise usage
            simulator.agent(args[0], "login", args[2])
            return f"{args[0]}: agent {args[2]} logged on"
        if len(args) != 2:
            raise usage
        simulator.agent(args[0], args[1])
        return f"{args[0]}: agent {args[1]}"
    raise CommandError(f"unknown control {verb!r}; {_usage_line()}")


@attrs.define
class SimControls:
    """The ``sim`` command of one server: its Simulator and the last traffic run."""

    simulator: Any
    last_run: Any = None

    def run(self, args: list[str], out: ICommandOutput) -> int:
        """One ``sim`` command line (without the word ``sim``); its exit status (0, or 2 for
        wrong input or a refusal of the switch)."""
        try:
            if not args:
                raise CommandError(_usage_line())
            if args[0] == "traffic":
                _traffic(self, args[1:], out)
                return 0
            out.write(_do(self.simulator, args[0], args[1:]) + "\n")
        except CommandError as e:
            out.error(f"sim: {e}\n")
            return 2
        except SwitchError as e:
            out.error(f"sim: {e.message}\n")
            return 2
        return 0
