"""The demo exchange: two LIMs, every monitorable device kind.

| numbers   | kind                                              | LIM |
| 1000-1009 | IP extension (ODN)                                 | 1   |
| 1100-1109 | SIP extension (1100-1104 ODN, 1105-1109 EDN),      | 1   |
|           | call waiting on                                    |     |
|           | EDN 110n (n=5..9) rings in parallel on SIP phone   |     |
|           | 110(n-5) and DECT handset 130(n-5)                 |     |
| 1200-1204 | remote extension                                   | 2   |
| 1300-1304 | cordless DECT extension (prompted for MakeCall)    | 2   |
| 1400-1404 | virtual extension (no terminal logged on)          | 1   |
| 1500-1504 | digital extension (1500-1502 ODN, 1503-1504 ADN)   | 2   |
|           | ADN 1503 is a line of phone 1500, 1504 of 1501     |     |
| 1600-1604 | analog extension (prompted for MakeCall)           | 2   |
| 1700-1702 | CAS extension (prompted for MakeCall)              | 2   |
| 2000      | CTI group routed by the application (CSTA routeing), | 1   |
|           | agents 5001-5005 at 1000-1004; diverted position 1009|     |
| 2001      | ACD group distributed by the exchange, agents        | 1   |
|           | 5006-5009 at 1005-1008; diverted position 1009       |     |
| 2100      | hunt group, members 1100-1103; diverted position 1009| 1   |
| 2101      | cascade ring group: 1104, then 1105, then 1106      | 1   |
| 0+digits  | external line; outside callers +46855501nn          | -   |

Analog, CAS and DECT terminals cannot be taken off-hook by the exchange: a MakeCall from
them prompts the person, who goes off-hook after :data:`PROMPT_ANSWER_SECONDS` (the plan's
``prompt_answer_seconds``), so demo clients see the call proceed (docs/devices.md).
"""

from __future__ import annotations

from cstaserver.pbx.plan import (
    AcdGroup,
    CascadeGroup,
    DeviceKind,
    DirectoryNumberType,
    ExchangePlan,
    Extension,
    ExternalNetwork,
    GroupRouting,
    HuntGroup,
    Lim,
    PublicNumbering,
)

ODN = DirectoryNumberType.ODN
EDN = DirectoryNumberType.EDN
ADN = DirectoryNumberType.ADN


#: seconds after which the demo's simulated person answers a MakeCall prompt (the plan's
#: default, said here so tests can name it)
PROMPT_ANSWER_SECONDS = ExchangePlan().prompt_answer_seconds


def _range(start: int, count: int, kind: DeviceKind, lim: int, label: str, **kw) -> list[Extension]:
    return [
        Extension(number=str(n), kind=kind, lim=lim, name=f"{label} {n}", **kw)
        for n in range(start, start + count)
    ]


def _lines(
    start: int, count: int, kind: DeviceKind, lim: int, label: str, dn_type, phones, **kw
) -> list[Extension]:
    """EDN/ADN lines ``start``.. each on the phones ``phones(n)`` gives for number ``n``."""
    return [
        Extension(
            number=str(n),
            kind=kind,
            lim=lim,
            name=f"{label} {n}",
            dn_type=dn_type,
            terminals=phones(n),
            **kw,
        )
        for n in range(start, start + count)
    ]


def demo_plan() -> ExchangePlan:
    """Build the demo exchange plan (the table of the module docstring)."""
    extensions: list[Extension] = []
    extensions += _range(1000, 10, DeviceKind.IP_EXTENSION, 1, "IP")
    # the SIP extensions (the Lync users) have call waiting: a second call can be answered
    extensions += _range(1100, 5, DeviceKind.SIP_EXTENSION, 1, "SIP", call_waiting=True)
    extensions += _lines(
        1105,
        5,
        DeviceKind.SIP_EXTENSION,
        1,
        "SIP",
        EDN,
        lambda n: (str(n - 5), str(n + 195)),
        call_waiting=True,
    )
    extensions += _range(1200, 5, DeviceKind.REMOTE_EXTENSION, 2, "Remote")
    extensions += _range(1300, 5, DeviceKind.DECT_EXTENSION, 2, "DECT", handsfree=False)
    extensions += _range(1400, 5, DeviceKind.VIRTUAL_EXTENSION, 1, "Virtual", terminal=False)
    extensions += _range(1500, 3, DeviceKind.DIGITAL_EXTENSION, 2, "Digital")
    extensions += _lines(
        1503, 2, DeviceKind.DIGITAL_EXTENSION, 2, "Digital", ADN, lambda n: (str(n - 3),)
    )
    extensions += _range(1600, 5, DeviceKind.ANALOG_EXTENSION, 2, "Analog", handsfree=False)
    extensions += _range(1700, 3, DeviceKind.CAS_EXTENSION, 2, "CAS", handsfree=False)
    return ExchangePlan(
        lims=[Lim(1, "LIM 1"), Lim(2, "LIM 2")],
        extensions=extensions,
        acd_groups=[
            AcdGroup(
                number="2000",
                name="Call centre (CTI)",
                agent_ids=tuple(str(a) for a in range(5001, 5006)),
                agent_devices=tuple(str(d) for d in range(1000, 1005)),
                lim=1,
                routing=GroupRouting.APPLICATION,
                queue_seconds=120.0,
                diverted_position="1009",
            ),
            AcdGroup(
                number="2001",
                name="Sales (ACD)",
                agent_ids=tuple(str(a) for a in range(5006, 5010)),
                agent_devices=tuple(str(d) for d in range(1005, 1009)),
                lim=1,
                diverted_position="1009",
            ),
        ],
        hunt_groups=[
            HuntGroup(
                number="2100",
                name="Hunt group",
                members=("1100", "1101", "1102", "1103"),
                diverted_position="1009",
            )
        ],
        cascade_groups=[
            CascadeGroup(number="2101", name="Cascade group", members=("1104", "1105", "1106"))
        ],
        public_numbering=PublicNumbering(public_prefix="+468555", internal_length=4),
        network=ExternalNetwork(),
        prompt_answer_seconds=PROMPT_ANSWER_SECONDS,
    )
