"""exchange.json: round trip and strict reading."""

from __future__ import annotations

import base64
import copy
import json

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cstaserver.config import (
    SCHEMA_VERSION,
    AdminAccount,
    ApplicationCriteria,
    AuthenticationCriteria,
    AuthMode,
    ConfigError,
    CstaServerSettings,
    ExchangeData,
    Limits,
    LineReplacement,
    ServerType,
    UserCredential,
    WebAccount,
    demo_exchange_data,
    empty_exchange_data,
    from_json,
    to_json,
)
from cstaserver.config.codec import unstructure
from cstaserver.config.model import LIMIT_RANGES
from cstaserver.config.passwords import hash_password
from cstaserver.pbx.plan import (
    AcdGroup,
    CascadeGroup,
    DeviceKind,
    DirectoryNumberType,
    ExchangePlan,
    Extension,
    ExternalNetwork,
    HuntGroup,
    HuntStrategy,
    Lim,
    PublicNumbering,
)

# -- strategies ---------------------------------------------------------------------------

texts = st.text(max_size=12)
finite = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
EXTENSION_KINDS = [kind for kind in DeviceKind if kind.is_extension]


@st.composite
def password_hashes(draw: st.DrawFn) -> str:
    salt = base64.b64encode(draw(st.binary(min_size=16, max_size=16))).decode()
    digest = base64.b64encode(draw(st.binary(min_size=32, max_size=32))).decode()
    return f"scrypt$16384$8$1${salt}${digest}"


def unique_names() -> st.SearchStrategy[list[str]]:
    return st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=4)


@st.composite
def plans(draw: st.DrawFn) -> ExchangePlan:
    lim_numbers = draw(st.lists(st.integers(1, 50), min_size=1, max_size=3, unique=True))
    numbers = draw(
        st.lists(st.from_regex(r"[1-9][0-9]{0,4}", fullmatch=True), unique=True, max_size=14)
    )
    split = draw(st.integers(0, len(numbers)))
    extension_numbers, group_numbers = numbers[:split], numbers[split:]
    lims = st.sampled_from(lim_numbers)
    extensions = [
        Extension(
            number=number,
            kind=draw(st.sampled_from(EXTENSION_KINDS)),
            lim=draw(lims),
            name=draw(texts),
            dn_type=draw(st.sampled_from(DirectoryNumberType)),
            terminal=draw(st.booleans()),
            handsfree=draw(st.booleans()),
        )
        for number in extension_numbers
    ]
    members = st.lists(st.sampled_from(extension_numbers), unique=True, max_size=4).map(tuple)
    if not extension_numbers:
        members = st.just(())
    hunt, cascade, acd = [], [], []
    agent_ids = iter(range(5000, 6000))
    for number in group_numbers:
        kind = draw(st.sampled_from(["hunt", "cascade", "acd"]))
        if kind == "hunt":
            strategy = draw(st.sampled_from(HuntStrategy))
            hunt.append(HuntGroup(number, draw(members), draw(lims), draw(texts), strategy))
        elif kind == "cascade":
            cascade.append(CascadeGroup(number, draw(members), draw(lims), draw(texts), 2.5))
        else:
            agents = tuple(str(next(agent_ids)) for _ in range(draw(st.integers(0, 3))))
            acd.append(
                AcdGroup(number, agents, draw(members), draw(lims), draw(texts), draw(finite))
            )
    return ExchangePlan(
        lims=[Lim(n, draw(texts)) for n in lim_numbers],
        extensions=extensions,
        hunt_groups=hunt,
        cascade_groups=cascade,
        acd_groups=acd,
        public_numbering=PublicNumbering(draw(texts), draw(st.integers(1, 8))),
        network=ExternalNetwork(trunk_prefix="0", answer_delay=draw(finite)),
        alerting_timeout=draw(finite),
    )


@st.composite
def exchange_data(draw: st.DrawFn) -> ExchangeData:
    plan = draw(plans())
    ports = iter(draw(st.lists(st.integers(1, 65535), min_size=6, max_size=6, unique=True)))
    optional_port = st.sampled_from([None, "port"])
    servers = []
    for server_type in draw(st.lists(st.sampled_from(ServerType), unique=True)):
        lim = draw(st.sampled_from(plan.lims)).number
        tls = next(ports) if draw(optional_port) else None
        web = next(ports) if server_type is ServerType.XML and draw(optional_port) else None
        servers.append(
            CstaServerSettings(
                lim,
                server_type,
                next(ports),
                tls,
                web,
                draw(st.sampled_from(AuthMode)),
                draw(st.booleans()),
            )
        )
    users = st.lists(
        st.builds(UserCredential, st.text(min_size=1, max_size=8), password_hashes()),
        max_size=3,
        unique_by=lambda u: u.user,
    ).map(tuple)
    applications = tuple(
        ApplicationCriteria(app_id, draw(users), draw(st.integers(0, 86400)))
        for app_id in draw(unique_names())
    )
    return ExchangeData(
        plan=plan,
        csta_servers=servers,
        authentication=AuthenticationCriteria(applications),
        web_accounts=[WebAccount(u, draw(password_hashes())) for u in draw(unique_names())],
        admin_accounts=[AdminAccount(u, draw(password_hashes())) for u in draw(unique_names())],
        limits=Limits(
            **{name: draw(st.integers(low, high)) for name, (low, high) in LIMIT_RANGES.items()},
            notify_to_allow=tuple(
                draw(st.lists(st.sampled_from(["http://127.0.0.1:9000/", "https://hooks.lab/"])))
            ),
        ),
    )


# -- round trip ---------------------------------------------------------------------------


@given(exchange_data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip(data: ExchangeData) -> None:
    text = to_json(data)
    assert from_json(text) == data
    assert from_json(text.encode("utf-8")) == data
    assert to_json(from_json(text)) == text


def test_demo_and_empty_round_trip() -> None:
    for data in (demo_exchange_data(), empty_exchange_data()):
        assert from_json(to_json(data)) == data


def test_json_layout_enums_by_value_tuples_as_lists() -> None:
    raw = json.loads(to_json(demo_exchange_data()))
    assert list(raw)[0] == "schema_version"
    assert raw["schema_version"] == SCHEMA_VERSION
    assert raw["plan"]["extensions"][0]["kind"] == "ip"
    assert raw["plan"]["hunt_groups"][0]["members"] == ["1100", "1101", "1102", "1103"]
    assert raw["csta_servers"][0]["server_type"] == "xml"
    assert raw["csta_servers"][0]["authentication"] == "optional"
    assert raw["csta_servers"][1]["tls_port"] is None
    criteria = raw["authentication"]["applications"][0]
    assert criteria["application_id"] == "demo"
    assert criteria["users"][0]["password_hash"].startswith("scrypt$")
    assert "csta" not in json.dumps(criteria["users"][0]["password_hash"]).split("$")


def test_missing_field_with_default_takes_the_default() -> None:
    raw = unstructure(empty_exchange_data())
    del raw["limits"]
    del raw["csta_servers"][0]["system_status_on_connect"]
    data = from_json(json.dumps(raw))
    assert data.limits == Limits()
    assert data.csta_servers[0].system_status_on_connect is False


def test_an_exchange_file_from_before_device_realism_loads() -> None:
    """Files written before EDN/ADN terminals, the prompt timer and the TR/87 settings
    existed: every new field takes its default."""
    raw = unstructure(demo_exchange_data())
    for extension in raw["plan"]["extensions"]:
        del extension["terminals"]
    del raw["plan"]["prompt_answer_seconds"]
    for server in raw["csta_servers"]:
        for name in ("line_replacement", "out_of_dialog_info", "session_expires"):
            del server[name]
    data = from_json(json.dumps(raw))
    assert all(e.terminals == () for e in data.plan.extensions)
    assert data.plan.prompt_answer_seconds == 2.0  # the simulated person answers prompts
    tr87 = data.csta_server(2, ServerType.TR87)
    assert (tr87.line_replacement, tr87.out_of_dialog_info, tr87.session_expires) == (
        LineReplacement.SAME_PEER,
        False,
        1800,
    )


# -- strict reading: every problem is a ConfigError naming it -----------------------------


def _mutated(change) -> str:
    demo = demo_exchange_data()  # as the first run leaves it: with an admin login
    demo.admin_accounts = [AdminAccount("admin", hash_password("admin-pw", n=16, r=1))]
    raw = unstructure(demo)
    change(raw)
    return json.dumps(raw)


def _set(path: str, value: object):
    def change(raw: dict) -> None:
        *parents, last = path.split(".")
        node = raw
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _delete(path: str):
    def change(raw: dict) -> None:
        *parents, last = path.split(".")
        node = raw
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]

    return change


BAD = [
    (_set("schema_version", 2), "unknown schema_version 2 (this cstaserver reads 1)"),
    (_set("schema_version", "1"), "missing or non-integer schema_version"),
    (_delete("schema_version"), "missing or non-integer schema_version"),
    (_set("colour", "blue"), "unknown field 'colour'"),
    (_set("plan.extensions.3.colour", 1), "plan.extensions[3]: unknown field 'colour'"),
    (_delete("plan.extensions.3.number"), "plan.extensions[3]: missing field 'number'"),
    (_delete("csta_servers.0.port"), "csta_servers[0]: missing field 'port'"),
    (_set("plan.extensions.3.kind", "fax"), "plan.extensions[3].kind: 'fax' is not one of"),
    (_set("plan.extensions.3.number", 1003), "plan.extensions[3].number: expected a string"),
    (_set("plan.extensions.3.lim", True), "plan.extensions[3].lim: expected an integer"),
    (_set("plan.extensions.3.lim", 1.5), "plan.extensions[3].lim: expected an integer"),
    (_set("plan.extensions.3.terminal", 1), "plan.extensions[3].terminal: expected true or"),
    (_set("plan.alerting_timeout", "60"), "plan.alerting_timeout: expected a number"),
    (_set("plan.extensions", {}), "plan.extensions: expected an array, got an object"),
    (_set("plan.network", []), "plan.network: expected an object, got an array"),
    (_set("csta_servers.0.server_type", "soap"), "csta_servers[0].server_type: 'soap'"),
    (_set("csta_servers.0.tls_port", "8883"), "csta_servers[0].tls_port: expected an integer"),
    (_set("plan.extensions.3.number", "1002"), "duplicate number 1002"),
    (_set("plan.hunt_groups.0.number", "1002"), "duplicate number 1002"),
    (_set("plan.extensions.3.number", "10x"), "number '10x' is not a string of digits"),
    (_set("plan.extensions.3.number", "0123"), "number 0123 starts with the trunk prefix 0"),
    (_set("plan.extensions.3.lim", 7), "number 1003 is on LIM 7, which does not exist"),
    (_set("plan.extensions.3.kind", "hunt"), "extension 1003 has kind hunt"),
    (_set("plan.hunt_groups.0.members.0", "2000"), "group 2100: member 2000 is not an extension"),
    (_set("plan.cascade_groups.0.members.0", "9"), "group 2101: member 9 is not an extension"),
    (_set("plan.hunt_groups.0.members.1", "1100"), "group 2100: member 1100 appears twice"),
    (_set("plan.acd_groups.0.agent_devices.0", "2100"), "agent position 2100 is not an ext"),
    (_set("plan.lims.1.number", 1), "duplicate LIM number 1"),
    (_set("plan.hold_recall_seconds", -1), "hold_recall_seconds -1 is not in 0-1000000 s"),
    (_set("plan.consultation_recall_seconds", 2e6), "consultation_recall_seconds 2000000 is"),
    (_set("plan.on_hook_consultation", "recall"), None),
    (_set("plan.extensions.3.call_waiting", True), None),
    (_set("plan.extensions.3.pickup_group", 4), None),
    (
        _set("plan.extensions.3.pickup_group", -1),
        "extension 1003: pickup_group -1 is not in 0-9999",
    ),
    (_set("plan.extensions.3.pickup_group", "a"), "pickup_group: expected an integer"),
    (_set("plan.extensions.3.intrusion_protected", True), None),
    (_set("plan.park_recall_seconds", -5), "park_recall_seconds -5 is not in 0-1000000 s"),
    (_set("plan.call_back_timeout", 2e6), "call_back_timeout 2000000 is"),
    (_set("plan.extensions.15.terminals", ["1100", "1400"]), "terminal 1400 has no terminal"),
    (_set("plan.extensions.15.terminals", ["1100", "1106"]), "terminal 1106 is not an ODN"),
    (_set("plan.extensions.15.terminals", ["1100", "1100"]), "terminal 1100 appears twice"),
    (_set("plan.extensions.38.terminals", ["1500", "1501"]), "an ADN is a line of exactly one"),
    (_set("plan.extensions.3.terminals", ["1001"]), "only an EDN or ADN has terminals"),
    (_set("plan.extensions.38.terminals", []), None),  # an ADN with a terminal of its own
    (_set("plan.prompt_answer_seconds", 0), "prompt_answer_seconds must be more than 0"),
    (_set("plan.prompt_answer_seconds", None), None),
    (_set("csta_servers.1.port", 8882), "port 8882 is used twice by the CSTA servers"),
    (_set("csta_servers.1.port", 0), "port 0 is not in 1-65535"),
    (_set("csta_servers.1.port", 70000), "port 70000 is not in 1-65535"),
    (_set("csta_servers.1.lim", 3), "CSTA server tr87 on LIM 3: LIM 3 does not exist"),
    (_set("csta_servers.1.web_port", 8081), "only an XML server has a web port"),
    (_set("csta_servers.1.server_type", "xml"), None),  # fine: XML on LIM 1 and on LIM 2
    (_set("authentication.applications.0.users.0.password_hash", "csta"), "no valid password"),
    (_set("authentication.applications.0.max_duration", -1), "max_duration -1 is not in 0-"),
    (
        _set("authentication.applications.0.max_duration", 10**7),
        "max_duration 10000000 is not in 0-1000000 s",
    ),
    (_set("web_accounts.0.password_hash", "csta"), "web accounts: user 'csta_user' has no"),
    (_set("admin_accounts.0.user", ""), "admin accounts: empty user name"),
    (_set("limits.max_sessions", 0), "limits.max_sessions is 0, less than 1"),
    (_set("limits.session_cleanup_delay", -1), "limits.session_cleanup_delay is -1"),
    (_set("limits.max_message_bytes", 10**9), "limits.max_message_bytes is 1000000000, more than"),
    (_set("limits.trace_total_bytes", 2**40), "limits.trace_total_bytes is 1099511627776, more"),
    (_set("plan.lims.0.number", 1000), "LIM number 1000 is not in 1-999"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_content_is_a_config_error(change, message: str | None) -> None:
    text = _mutated(change)
    if message is None:
        from_json(text)
        return
    with pytest.raises(ConfigError) as caught:
        from_json(text)
    assert str(caught.value).startswith("exchange.json: ")
    assert message in caught.value.problem, caught.value.problem
    assert "\n" not in str(caught.value)


def test_duplicate_servers_and_accounts() -> None:
    data = demo_exchange_data()
    cases = [
        attrs.evolve(data, csta_servers=[*data.csta_servers, attrs.evolve(data.csta_servers[0])]),
        attrs.evolve(data, web_accounts=data.web_accounts * 2),
        attrs.evolve(
            data,
            authentication=AuthenticationCriteria(data.authentication.applications * 2),
        ),
    ]
    for case in cases:
        with pytest.raises(ConfigError):
            to_json(case)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not valid JSON: Expecting value at line 1 column 1"),
        (b'{"schema_version": 1,', "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"[1, 2]", "expected an object at the top, got an array"),
        (b"null", "expected an object at the top, got null"),
        (b'{"schema_version": 1, "schema_version": 1}', "duplicate key 'schema_version'"),
        (b'{"schema_version": NaN}', "not valid JSON: NaN is not a number"),
        (b"[" * 100000, "not valid JSON"),
    ],
)
def test_corrupt_json(content: bytes, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_json(content)
    assert message in caught.value.problem


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


_SMALL_EXCHANGE = unstructure(empty_exchange_data())
_SMALL_EXCHANGE["plan"]["extensions"] = [unstructure(Extension("1000", DeviceKind.IP_EXTENSION))]
_SMALL_EXCHANGE["plan"]["hunt_groups"] = [unstructure(HuntGroup("2100", ("1000",)))]


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_any_damage_is_a_config_error_or_valid_data(data: st.DataObject) -> None:
    """Replace one value anywhere in the demo's JSON: never an exception but ConfigError."""
    damaged = copy.deepcopy(_SMALL_EXCHANGE)
    node: dict | list = damaged
    for _ in range(10):
        keys = list(range(len(node))) if isinstance(node, list) else list(node)
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if not isinstance(child, (dict, list)) or not child or data.draw(st.booleans()):
            node[key] = data.draw(json_values)
            break
        node = child
    try:
        result = from_json(json.dumps(damaged))
    except ConfigError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(result, ExchangeData)


def test_files_that_say_replace_line_dialogs_still_load() -> None:
    """``replace_line_dialogs`` (before ``line_replacement``): true is read as
    ``same-peer`` (a restarted client replaces its own dialog, another host cannot), false as
    ``off``; the next save writes ``line_replacement``."""
    for old, new in ((True, LineReplacement.SAME_PEER), (False, LineReplacement.OFF)):
        raw = unstructure(demo_exchange_data())
        for server in raw["csta_servers"]:
            del server["line_replacement"]
            server["replace_line_dialogs"] = old
        data = from_json(json.dumps(raw))
        assert data.csta_server(2, ServerType.TR87).line_replacement is new
        assert "replace_line_dialogs" not in to_json(data)
    raw = unstructure(demo_exchange_data())
    raw["csta_servers"][0]["replace_line_dialogs"] = "yes"
    with pytest.raises(ConfigError, match="replace_line_dialogs: expected true or false"):
        from_json(json.dumps(raw))
