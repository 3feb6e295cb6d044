"""The ``sim`` session of docs/admin.md ("Simulated people") replayed line by line on the demo
exchange and a Clock: each ``mxone> sim ...`` line's output must be what the document
shows. After a line that starts a traffic run, simulated time runs until the run and its
calls are over (the document says so below the session)."""

from __future__ import annotations

import re
from pathlib import Path

from twisted.internet.task import Clock

from cstaserver.admin.output import BufferOutput
from cstaserver.admin.simcommands import SimControls
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch

DOC = Path(__file__).resolve().parents[2] / "docs" / "admin.md"
PROMPT = "mxone> "


def session() -> list[tuple[str, list[str]]]:
    """(command, expected lines) of the session block under "Simulated people"."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### Simulated people (`sim`)") :]
    block = re.search(r"```\n(mxone> sim .*?)```", section, re.S)
    assert block is not None, "no sim session in docs/admin.md"
    steps: list[tuple[str, list[str]]] = []
    for line in block.group(1).splitlines():
        if line.startswith(PROMPT):
            steps.append((line[len(PROMPT) :], []))
        else:
            steps[-1][1].append(line)
    return steps


def test_the_documented_session_is_what_sim_prints() -> None:
    clock = Clock()
    controls = SimControls(Simulator(Switch(demo_plan(), clock)))
    steps = session()
    assert len(steps) > 20
    for command, expected in steps:
        words = command.split()
        assert words[0] == "sim"
        out = BufferOutput()
        controls.run(words[1:], out)
        assert (out.stdout + out.stderr).splitlines() == expected, command
        if words[1] == "traffic" and len(words) > 2 and not out.stderr:
            seconds = float(words[3])
            clock.pump([0.1] * int(10 * seconds + 10))  # the calls arrive
            clock.pump([5.0] * 100)  # and end (ring, talk, the alerting time-out)
