"""``sim call FROM TO [--withheld]``: an outside caller with its number withheld."""

from __future__ import annotations

from twisted.internet.task import Clock

from cstaserver.admin.output import BufferOutput
from cstaserver.admin.simcommands import SimControls
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch


def _run(line: str) -> tuple[Switch, BufferOutput]:
    switch = Switch(demo_plan(), Clock())
    out = BufferOutput()
    SimControls(Simulator(switch)).run(line.split(), out)
    return switch, out


def test_an_outside_caller_withholds_its_number() -> None:
    switch, out = _run("call +4685550107 1001 --withheld")
    assert out.stdout == "call 1: +4685550107 calls 1001 (number withheld)\n"
    assert switch.restricted_parties("1") == (("+4685550107", "0"),)


def test_without_withheld_the_number_is_shown() -> None:
    switch, out = _run("call +4685550107 1001")
    assert out.stdout == "call 1: +4685550107 calls 1001\n"
    assert switch.restricted_parties("1") == ()


def test_a_bad_option_is_the_usage_line_and_changes_nothing() -> None:
    switch, out = _run("call +4685550107 1001 --hidden")
    assert out.stderr == "sim: usage: sim call FROM TO [--withheld]\n"
    assert switch.calls == {}


def test_an_extension_cannot_withhold_per_call() -> None:
    switch, out = _run("call 1000 1001 --withheld")
    assert out.stderr.startswith("sim: only an outside caller withholds its number")
    assert out.stderr.count("\n") == 1 and switch.calls == {}
