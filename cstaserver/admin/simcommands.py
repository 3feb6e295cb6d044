"""The ``sim`` controls of the admin shell (docs/admin.md, docs/testing-your-application.md):
what a person does at a simulated phone, what an outside caller does, how the people behave
and traffic runs, through :class:`cstaserver.pbx.simulator.Simulator`.

Each verb has one usage line (:data:`USAGE`, also what ``sim`` alone and ``help`` show).
Wrong words are the usage line; a refusal of the switch is one line (its reason) and
changes nothing; both are errors (exit status 2 from a console or ``ssh ... sim ...``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from cstaserver.admin.output import OK, WRONG_INPUT, CommandError, ICommandOutput
from cstaserver.pbx.behaviour import Behaviour
from cstaserver.pbx.errors import SwitchError
from cstaserver.pbx.traffic import TrafficProfile

USAGE = {
    "call": "sim call FROM TO [--withheld]",
    "offhook": "sim offhook DEVICE",
    "dial": "sim dial DEVICE DIGITS",
    "answer": "sim answer DEVICE",
    "reject": "sim reject DEVICE",
    "hangup": "sim hangup DEVICE",
    "onhook": "sim onhook DEVICE",
    "hold": "sim hold DEVICE",
    "retrieve": "sim retrieve DEVICE",
    "consult": "sim consult DEVICE NUMBER",
    "transfer": "sim transfer DEVICE",
    "conference": "sim conference DEVICE",
    "dtmf": "sim dtmf DEVICE DIGITS",
    "park": "sim park DEVICE TO",
    "pickup": "sim pickup DEVICE [TARGET]",
    "dnd": "sim dnd DEVICE on|off",
    "forward": "sim forward DEVICE TYPE NUMBER|off",
    "busy": "sim busy DEVICE on|off",
    "mode": "sim mode DEVICE handsfree|manual",
    "agent": "sim agent DEVICE login AGENT_ID | logout | ready | notready",
    "behaviour": (
        "sim behaviour [DEVICE [manual | answer [SECONDS] [--talk SECONDS] [--dtmf DIGITS]"
        " | noanswer | busy | reject [SECONDS] | dnd]]"
    ),
    "traffic": (
        "sim traffic [RATE SECONDS [--to NUMBER] [--seed N] [--answer W] [--busy W]"
        " [--noanswer W] [--abandon W] [--ring MIN-MAX] [--talk MIN-MAX] [--withheld SHARE]"
        " [--dtmf DIGITS] [--exclude NUMBERS]]"
    ),
    "reset": "sim reset",
}

#: The verbs that press one key on the device's phone (``Simulator.press`` and friends).
_ONE_DEVICE = {
    "offhook": ("off_hook", "off-hook"),
    "answer": ("answer", "answer"),
    "reject": ("reject", "reject"),
    "hangup": ("hangup", "hangup"),
    "onhook": ("hangup", "on-hook"),
    "hold": ("hold", "hold"),
    "retrieve": ("retrieve", "retrieve"),
}


def _number(text: str, what: str, *, low: float = 0.0, strict: bool = True) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value) or (value <= low if strict else value < low):
        raise CommandError(f"{what} must be {'more than' if strict else 'at least'} {low:g}")
    return value


def _range(text: str, what: str) -> tuple[float, float]:
    low, dash, high = text.partition("-")
    if not dash:
        raise CommandError(f"{what} must be MIN-MAX seconds, not {text!r}")
    return (_number(low, what, strict=False), _number(high, what, strict=False))


def _options(
    args: list[str], known: dict[str, bool], verb: str
) -> tuple[list[str], dict[str, str | None]]:
    """Positional words and ``--name [VALUE]`` options (``known``: name -> takes a value)."""
    words: list[str] = []
    options: dict[str, str | None] = {}
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("--"):
            name = word[2:]
            if name not in known or name in options:
                raise CommandError(f"usage: {USAGE[verb]}")
            if known[name]:
                if i + 1 >= len(args):
                    raise CommandError(f"{word} needs a value")
                options[name] = args[i + 1]
                i += 2
                continue
            options[name] = None
        else:
            words.append(word)
        i += 1
    return words, options


# -- verbs -------------------------------------------------------------------------------------
Verb = Callable[["SimControls", list[str]], str]


def _call(controls: SimControls, args: list[str]) -> str:
    words, options = _options(args, {"withheld": False}, "call")
    if len(words) != 2:
        raise CommandError(f"usage: {USAGE['call']}")
    withheld = "withheld" in options
    call_id = controls.simulator.call(words[0], words[1], withheld=withheld)
    hidden = " (number withheld)" if withheld else ""
    return f"call {call_id}: {words[0]} calls {words[1]}{hidden}"


def _exact(args: list[str], count: int, verb: str) -> list[str]:
    if len(args) != count or any(a.startswith("--") for a in args):
        raise CommandError(f"usage: {USAGE[verb]}")
    return args


def _on_off(word: str, verb: str) -> bool:
    if word not in ("on", "off"):
        raise CommandError(f"usage: {USAGE[verb]}")
    return word == "on"


def _dial(controls: SimControls, args: list[str]) -> str:
    device, digits = _exact(args, 2, "dial")
    call_id = controls.simulator.dial(device, digits)
    pending = controls.simulator.digits.dialling(device)
    after = f", waiting for more digits after {pending}" if pending else ""
    return f"{device}: dialled {digits} (call {call_id}{after})"


def _consult(controls: SimControls, args: list[str]) -> str:
    device, number = _exact(args, 2, "consult")
    call_id = controls.simulator.consult(device, number)
    return f"{device}: consultation call {call_id} to {number} (the other call held)"


def _park(controls: SimControls, args: list[str]) -> str:
    device, to = _exact(args, 2, "park")
    call_id = controls.simulator.park(device, to)
    return f"{device}: parked call {call_id} at {to}"


def _pickup(controls: SimControls, args: list[str]) -> str:
    if len(args) not in (1, 2):
        raise CommandError(f"usage: {USAGE['pickup']}")
    words = _exact(args, len(args), "pickup")
    target = words[1] if len(words) == 2 else None
    call_id = controls.simulator.pickup(words[0], target)
    where = f"at {target}" if target else "in its pick-up group"
    return f"{words[0]}: picked up call {call_id} {where}"


def _join(verb: str) -> Verb:
    def run(controls: SimControls, args: list[str]) -> str:
        (device,) = _exact(args, 1, verb)
        call_id = controls.simulator.join(device, verb)
        return f"{device}: {verb} (call {call_id})"

    return run


def _dtmf(controls: SimControls, args: list[str]) -> str:
    device, digits = _exact(args, 2, "dtmf")
    call_id = controls.simulator.dtmf(device, digits)
    return f"{device}: DTMF {digits} (call {call_id})"


def _dnd(controls: SimControls, args: list[str]) -> str:
    device, word = _exact(args, 2, "dnd")
    controls.simulator.dnd(device, _on_off(word, "dnd"))
    return f"{device}: do not disturb {word}"


def _forward(controls: SimControls, args: list[str]) -> str:
    device, kind, target = _exact(args, 3, "forward")
    if target == "off":
        controls.simulator.forward(device, kind, None, False)
        return f"{device}: {kind} off"
    controls.simulator.forward(device, kind, target, True)
    return f"{device}: {kind} to {target}"


def _busy(controls: SimControls, args: list[str]) -> str:
    device, word = _exact(args, 2, "busy")
    controls.simulator.busy(device, _on_off(word, "busy"))
    return f"{device}: busy {word}"


def _mode(controls: SimControls, args: list[str]) -> str:
    device, mode = _exact(args, 2, "mode")
    controls.simulator.mode(device, mode)
    return f"{device}: {mode} terminal"


def _agent(controls: SimControls, args: list[str]) -> str:
    if len(args) == 3 and args[1] == "login":
        controls.simulator.agent(args[0], "login", args[2])
        return f"{args[0]}: agent {args[2]} logged on"
    if len(args) != 2 or args[1] == "login":
        raise CommandError(f"usage: {USAGE['agent']}")
    controls.simulator.agent(args[0], args[1])
    return f"{args[0]}: agent {args[1]}"


def _behaviour(controls: SimControls, args: list[str]) -> str:
    simulator = controls.simulator
    words, options = _options(args, {"talk": True, "dtmf": True}, "behaviour")
    if not words:
        if options:
            raise CommandError(f"usage: {USAGE['behaviour']}")
        profiles = simulator.people.profiles()
        if not profiles:
            return "every phone: manual (nobody answers unless told to)"
        return "\n".join(f"{n}: {b.describe()}" for n, b in profiles.items())
    device = words[0]
    if len(words) == 1 and not options:
        number = simulator.require_terminal(device).number
        return f"{number}: {simulator.people.get(number).describe()}"
    if len(words) not in (2, 3):
        raise CommandError(f"usage: {USAGE['behaviour']}")
    after = _number(words[2], "SECONDS", strict=False) if len(words) == 3 else 0.0
    talk = options.get("talk")
    behaviour = Behaviour(
        words[1],
        after=after,
        talk=_number(talk, "--talk", strict=False) if talk is not None else None,
        dtmf=options.get("dtmf"),
    )
    number = simulator.require_terminal(device).number
    simulator.behave(number, behaviour)
    return f"{number}: {behaviour.describe()}"


_TRAFFIC_OPTIONS = {
    "to": True,
    "seed": True,
    "answer": True,
    "busy": True,
    "noanswer": True,
    "abandon": True,
    "ring": True,
    "talk": True,
    "withheld": True,
    "dtmf": True,
    "exclude": True,
}


def _share(options: dict[str, str | None], name: str, default: float) -> float:
    text = options.get(name)
    return default if text is None else _number(text, f"--{name}", strict=False)


def _traffic(controls: SimControls, args: list[str]) -> str:
    if not args:
        run = controls.last_run
        if run is None:
            raise CommandError("no traffic run yet")
        return f"traffic: {run.summary()}\nprofile: {run.profile.describe()}"
    words, options = _options(args, _TRAFFIC_OPTIONS, "traffic")
    if len(words) != 2:
        raise CommandError(f"usage: {USAGE['traffic']}")
    rate = _number(words[0], "RATE")
    seconds = _number(words[1], "SECONDS")
    seed = options.get("seed")
    if seed is not None and not seed.lstrip("-").isdigit():
        raise CommandError(f"--seed must be a whole number, not {seed!r}")
    answer_default = 0.0 if {"busy", "noanswer", "abandon"} & set(options) else 1.0
    exclude = options.get("exclude")
    profile = TrafficProfile(
        answer=_share(options, "answer", answer_default),
        busy=_share(options, "busy", 0.0),
        no_answer=_share(options, "noanswer", 0.0),
        abandon=_share(options, "abandon", 0.0),
        ring=_range(options["ring"], "--ring") if "ring" in options else (1.0, 4.0),
        talk=_range(options["talk"], "--talk") if "talk" in options else (5.0, 30.0),
        withheld=_share(options, "withheld", 0.0),
        dtmf=options.get("dtmf"),
        exclude=tuple(n for n in (exclude or "").split(",") if n),
    )
    to = options.get("to")
    controls.last_run = controls.simulator.traffic(
        rate, seconds, to=to, seed=int(seed) if seed is not None else None, profile=profile
    )
    target = f" to {to}" if to else ""
    return (
        f"traffic: {rate:g} calls/s for {seconds:g} s{target} (sim traffic: counters)\n"
        f"profile: {profile.describe()}"
    )


def _usage_line() -> str:
    """The usage line of ``sim`` itself (no verb, or one it does not know)."""
    return f"usage: sim {'|'.join(USAGE)} ... (help lists each)"


def _reset(controls: SimControls, args: list[str]) -> str:
    _exact(args, 0, "reset")
    cleared = controls.simulator.reset()
    return f"reset: {cleared} calls cleared, every phone manual, traffic stopped"


def _one_device(verb: str) -> Verb:
    method, said = _ONE_DEVICE[verb]

    def run(controls: SimControls, args: list[str]) -> str:
        (device,) = _exact(args, 1, verb)
        call_id = getattr(controls.simulator, method)(device)
        return f"{device}: {said} (call {call_id})"

    return run


VERBS: dict[str, Verb] = {
    "call": _call,
    **{verb: _one_device(verb) for verb in _ONE_DEVICE},
    "dial": _dial,
    "consult": _consult,
    "transfer": _join("transfer"),
    "conference": _join("conference"),
    "dtmf": _dtmf,
    "park": _park,
    "pickup": _pickup,
    "dnd": _dnd,
    "forward": _forward,
    "busy": _busy,
    "mode": _mode,
    "agent": _agent,
    "behaviour": _behaviour,
    "traffic": _traffic,
    "reset": _reset,
}
assert set(VERBS) == set(USAGE)


@attrs.define
class SimControls:
    """The ``sim`` command of one server: its Simulator and the last traffic run."""

    simulator: Any
    last_run: Any = None

    def run(self, args: list[str], out: ICommandOutput) -> int:
        """One ``sim`` command line (without the word ``sim``); its exit status (0, or 2
        after the one error line)."""
        try:
            if not args:
                raise CommandError(_usage_line())
            verb = VERBS.get(args[0])
            if verb is None:
                raise CommandError(f"unknown control {args[0]!r}; {_usage_line()}")
            out.write(verb(self, args[1:]) + "\n")
        except CommandError as e:
            out.error(f"sim: {e}\n")
            return 2
        except SwitchError as e:
            out.error(f"sim: {e.message}\n")
        else:
            return OK
        return WRONG_INPUT
