"""The once-per-episode log of reached limits (cstaserver.csta.limitlog)."""

from __future__ import annotations

from cstaserver.csta.limitlog import LimitLog


def test_first_refusal_logs_then_quiet_until_below() -> None:
    limits = LimitLog()
    assert [limits.first("10.0.0.1") for _ in range(3)] == [True, False, False]
    assert limits.first("10.0.0.2")  # another key has its own episode
    limits.below("10.0.0.1", "never-logged")
    assert limits.first("10.0.0.1")
    assert not limits.first("10.0.0.2")


def test_new_limits_log_every_key_again() -> None:
    limits = LimitLog()
    limits.first(("device", "1000"))
    limits.first(("address", "10.0.0.1"))
    limits.clear()
    assert limits.first(("device", "1000")) and limits.first(("address", "10.0.0.1"))
