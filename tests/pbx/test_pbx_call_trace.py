"""The switch's per-step call trace (``cstaserver.pbx.core.CALL_TRACE``): off by default (the
domain events are the trace), debug log lines for every call step when turned on."""

from __future__ import annotations

from twisted.logger import LogLevel, capturedLogs

from cstaserver.pbx import core


def _trace_lines(switch, sim) -> list[str]:
    with capturedLogs() as events:
        call_id, _ = switch.make_call("1000", "1001")
        switch.answer_call(call_id, "1001")
        switch.clear_call(call_id)
        sim.call("1000", "9")  # dialled by the terminal: not a number, so Failed
    return [
        e["log_format"].format(**e)
        for e in events
        if e["log_level"] is LogLevel.debug
        and e.get("log_namespace", "").startswith("cstaserver.pbx")
    ]


def test_call_trace_off_by_default(switch, sim) -> None:
    assert core.CALL_TRACE is False
    assert _trace_lines(switch, sim) == []


def test_call_trace_on_logs_every_step(switch, sim, monkeypatch) -> None:
    monkeypatch.setattr(core, "CALL_TRACE", True)
    lines = _trace_lines(switch, sim)
    assert lines[:4] == [
        "call 1 originated at 1000",
        "call 1 delivered to 1001",
        "call 1 answered by 1001",
        "call 1 cleared",
    ]
    assert any(line.startswith("call 2 failed at ") for line in lines[4:]), lines
