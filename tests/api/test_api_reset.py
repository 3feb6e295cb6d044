"""``POST /api/v1/reset`` (docs/api.md): between tests that share one server, the exchange is
made quiet again - traffic stopped, every call cleared, agents logged off, busy, do not
disturb, forwarding and terminal modes as built - while the exchange data stays."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cstaserver.pbx.states import ForwardingType, TerminalMode
from tests.api.api_support import ApiWeb


@pytest.fixture
def api() -> Iterator[ApiWeb]:
    web = ApiWeb()
    yield web
    web.stop()


def test_reset_makes_the_exchange_quiet(api: ApiWeb) -> None:
    switch = api.switch
    api.post("/devices/1000/dial", {"to": "1001"})
    api.post("/callers", {"from": "+4685550107", "to": "2001"})
    api.post("/devices/1006/agent", {"action": "login", "agent": "5006"})
    api.post("/devices/1002/busy", {"on": True})
    api.post("/devices/1003/dnd", {"on": True})
    switch.set_forwarding("1004", ForwardingType.IMMEDIATE, "1005", True)
    api.post("/devices/1007/mode", {"mode": "manual"})
    api.post("/traffic", {"rate": 5, "seconds": 60, "to": "1008"})
    assert len(switch.calls) == 2

    answer = api.post("/reset", {})
    assert answer.status == 200, answer.json
    assert answer.json == {"cleared": 2}
    assert switch.calls == {}
    assert switch.get_agent_state("1006") == []
    assert not switch.device("1002").busy and not switch.get_do_not_disturb("1003")
    assert not any(active for _kind, active, _to, _rc in switch.get_forwarding("1004"))
    assert switch.device("1007").mode is TerminalMode.HANDSFREE
    api.post("/time/advance", {"seconds": 120})  # the traffic run places nothing more
    assert switch.calls == {}
    assert api.get("/traffic").json["traffic"]["finished"] is True


def test_reset_is_for_admin_accounts(api: ApiWeb) -> None:
    api.post("/devices/1000/dial", {"to": "1001"})
    refused = api.post("/reset", {}, auth=("csta_user", "csta"))
    assert refused.status == 403
    assert len(api.switch.calls) == 1
