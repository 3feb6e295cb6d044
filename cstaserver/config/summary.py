"""The exchange summary logged at start-up (the README's "What `make run` shows"): LIMs with device counts per kind, groups with members, agents, external lines, CSTA
servers per LIM, authentication criteria (never passwords).

:func:`exchange_summary` returns ``(format, fields)`` pairs for a ``twisted.logger.Logger``,
so a JSON log keeps every field; nothing here logs or prints.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from cstaserver.config.model import CstaServerSettings, ExchangeData
from cstaserver.pbx.plan import DeviceKind

LogLine = tuple[str, dict[str, object]]


def compact_numbers(numbers: Iterable[str]) -> str:
    """``["1100", "1101", "1102", "1105"]`` → ``"1100-1102, 1105"`` (runs of same length)."""
    runs: list[list[str]] = []
    for number in numbers:
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and number.isdigit()
            and last.isdigit()
            and len(number) == len(last)
            and int(number) == int(last) + 1
        ):
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def _kind_counts(kinds: Iterable[DeviceKind]) -> str:
    counts = Counter(kinds)
    return ", ".join(f"{kind.value} {counts[kind]}" for kind in DeviceKind if counts[kind])


def _server_line(server: CstaServerSettings) -> LogLine:
    return (
        "CSTA server on LIM {lim}: {server_type} port {port}, TLS port {tls_port}, "
        "web port {web_port}, authentication {authentication}",
        {
            "lim": server.lim,
            "server_type": server.server_type.value,
            "port": server.port,
            "tls_port": "none" if server.tls_port is None else server.tls_port,
            "web_port": "none" if server.web_port is None else server.web_port,
            "authentication": server.authentication.value,
        },
    )


def exchange_summary(data: ExchangeData, servers: Sequence[CstaServerSettings]) -> list[LogLine]:
    """The summary lines; ``servers`` are the CSTA servers as run (port options applied)."""
    plan = data.plan
    groups = [*plan.acd_groups, *plan.hunt_groups, *plan.cascade_groups]
    agents = [agent for acd in plan.acd_groups for agent in acd.agent_ids]
    lines: list[LogLine] = [
        (
            "exchange: {lims} LIMs, {extensions} extensions, {groups} groups, {agents} agents",
            {
                "lims": len(plan.lims),
                "extensions": len(plan.extensions),
                "groups": len(groups),
                "agents": len(agents),
            },
        )
    ]
    for lim in plan.lims:
        kinds = [e.kind for e in plan.extensions if e.lim == lim.number]
        kinds += [DeviceKind.ACD_GROUP for g in plan.acd_groups if g.lim == lim.number]
        kinds += [DeviceKind.HUNT_GROUP for g in plan.hunt_groups if g.lim == lim.number]
        kinds += [DeviceKind.CASCADE_GROUP for g in plan.cascade_groups if g.lim == lim.number]
        lines.append(
            (
                "LIM {lim} ({name}): {count} devices: {kinds}",
                {
                    "lim": lim.number,
                    "name": lim.name,
                    "count": len(kinds),
                    "kinds": _kind_counts(kinds) or "none",
                },
            )
        )
    for acd in plan.acd_groups:
        routed = "CTI, routed by the application" if acd.routing.value == "application" else "ACD"
        lines.append(
            (
                "group {number} ({routing}, LIM {lim}): agents {agents} log on at {positions}; "
                "diverted position {diverted}",
                {
                    "number": acd.number,
                    "routing": routed,
                    "lim": acd.lim,
                    "agents": compact_numbers(acd.agent_ids) or "none",
                    "positions": compact_numbers(acd.agent_devices) or "none",
                    "diverted": acd.diverted_position or "none",
                },
            )
        )
    for group, label in [(g, "hunt") for g in plan.hunt_groups] + [
        (g, "cascade ring") for g in plan.cascade_groups
    ]:
        lines.append(
            (
                "group {number} ({kind} group, LIM {lim}): members {members}; "
                "diverted position {diverted}",
                {
                    "number": group.number,
                    "kind": label,
                    "lim": group.lim,
                    "members": compact_numbers(group.members) or "none",
                    "diverted": group.diverted_position or "none",
                },
            )
        )
    network = plan.network
    lines.append(
        (
            "external lines: dial {prefix} + number ({trunks} trunks); outside callers {callers}nn",
            {
                "prefix": network.trunk_prefix,
                "trunks": network.trunk_count,
                "callers": network.caller_prefix,
            },
        )
    )
    lines.extend(_server_line(server) for server in servers)
    if not servers:
        lines.append(("no CSTA server initiated (use csta -i)", {}))
    applications = [c.application_id for c in data.authentication.applications]
    lines.append(
        (
            "authentication criteria for applications: {applications}",
            {"applications": ", ".join(applications) or "none"},
        )
    )
    return lines
