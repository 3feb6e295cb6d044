"""Versions of exchange.json (docs/exchange-data.md, "Versions"): an older layout is upgraded
on reading by its migration steps, a field added with a default needs no step (an older file
without it reads with the default), a newer or unknown version is refused in one line."""

from __future__ import annotations

import json

import pytest

from cstaserver.config import ConfigError, codec, demo_exchange_data, from_json, to_json


def demo_json() -> dict:
    return json.loads(to_json(demo_exchange_data()))


def test_an_older_layout_is_upgraded_by_its_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    old = demo_json()  # pretend version 1 called the alerting time-out "ring_timeout"
    old["plan"]["ring_timeout"] = 45.0
    del old["plan"]["alerting_timeout"]

    def rename(raw: dict) -> dict:
        raw["plan"]["alerting_timeout"] = raw["plan"].pop("ring_timeout")
        return raw

    monkeypatch.setattr(codec, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(codec.MIGRATIONS, 1, rename)
    data = from_json(json.dumps(old))
    assert (data.schema_version, data.plan.alerting_timeout) == (2, 45.0)


def test_a_missing_step_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "SCHEMA_VERSION", 3)
    monkeypatch.setitem(codec.MIGRATIONS, 2, lambda raw: raw)
    with pytest.raises(ConfigError, match="schema_version 1 cannot be upgraded"):
        from_json(json.dumps(demo_json()))


def test_a_field_with_a_default_needs_no_step() -> None:
    raw = demo_json()
    del raw["plan"]["no_answer_ring_seconds"]
    del raw["plan"]["extensions"][0]["handsfree"]
    data = from_json(json.dumps(raw))
    assert data.plan.no_answer_ring_seconds == 5.0 and data.plan.extensions[0].handsfree


@pytest.mark.parametrize("version", [0, 2, 99])
def test_an_unknown_version_is_refused(version: int) -> None:
    raw = demo_json()
    raw["schema_version"] = version
    with pytest.raises(ConfigError, match=f"unknown schema_version {version}"):
        from_json(json.dumps(raw))
