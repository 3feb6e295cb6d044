"""``exchange print|dump|restore`` in the admin shell (docs/admin.md; the "Termination" step
of the MX-ONE operational directions "CSTA Server (Phase III)": "if exchange data have been
altered a dump to backup media must be performed").

- ``exchange print`` lists the numbering plan: every device with its kind, LIM, directory
  number type and state; ``exchange print NUMBER`` one device in detail (calls, forwarding,
  agent, group members, monitors).
- ``exchange dump [FILE]`` writes the exchange data as JSON (the ``exchange.json`` format),
  atomically and mode 0600, by default to ``<data>/backup-<UTC time>.json``.
- ``exchange restore FILE`` reads and validates a backup, saves it atomically as the exchange
  data and applies it to the running server (CSTA servers, authentication criteria, web and
  admin accounts, the numbering plan); it says what needs a restart (the limits).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import tempfile
from pathlib import Path
from typing import Any

from cstaserver.admin.limitcommands import LOGIN_LIMITS
from cstaserver.admin.output import CommandError, fields, table
from cstaserver.config import ConfigError, ExchangeData, from_json, to_json
from cstaserver.config.files import FileRefused, read_regular_file
from cstaserver.config.store import MAX_EXCHANGE_BYTES
from cstaserver.pbx.errors import SwitchError


def device_state(info: Any) -> str:
    """``idle``, ``alerting in 3``, ``busy (sim)``, ``agent 5001 ready`` ... joined by ``; ``."""
    parts = [f"{conn.state.value} in call {call_id}" for call_id, conn in info.connections.items()]
    if info.busy:
        parts.append("busy (sim)")
    if info.dnd:
        parts.append("do not disturb")
    for entry in (info.forwarding or {}).values():
        if entry.active:
            parts.append(f"forwarding {entry.forwarding_type.value} to {entry.forward_to}")
    if info.agent is not None:
        parts.append(f"agent {info.agent.agent_id} {info.agent.state.value}")
    if info.is_extension and info.terminal and info.mode.value != "handsfree":
        parts.append(f"{info.mode.value} terminal")
    if info.is_extension and not info.terminal:
        parts.append("no terminal")
    return "; ".join(parts) or "idle"


def format_plan(switch: Any) -> str:
    rows = [
        (
            info.number,
            info.kind.value,
            info.lim,
            info.dn_type.value if info.is_extension else None,
            info.name or None,
            device_state(info),
        )
        for info in switch.devices()
    ]
    return table(("NUMBER", "KIND", "LIM", "DN", "NAME", "STATE"), rows)


def format_device(switch: Any, number: str, monitors: Any = None) -> str:
    try:
        info = switch.device(number)
    except SwitchError as e:
        raise CommandError(e.message) from None
    pairs: list[tuple[str, object]] = [
        ("number", info.number),
        ("kind", info.kind.value),
        ("LIM", info.lim),
        ("name", info.name or None),
    ]
    if info.is_extension:
        pairs += [
            ("directory number", info.dn_type.value),
            ("terminal", info.mode.value if info.terminal else "none logged on"),
        ]
    if info.members:
        pairs.append(("members", " ".join(info.members)))
    if info.terminals:  # an EDN or ADN: the phones it is a line of (docs/devices.md)
        pairs.append(("phones", " ".join(info.terminals)))
    pairs.append(("state", device_state(info)))
    text = fields(pairs)
    calls = switch.snapshot_device(info.number)
    text += "\nCalls\n" + table(
        ("CALL", "STATE", "OTHER PARTIES"),
        ((call_id, state.value, " ".join(others) or None) for call_id, state, others in calls),
    )
    if monitors is not None:
        watching = [m for m in monitors if m.device == info.number]
        text += "\nMonitors\n" + table(
            ("CROSSREFID", "CLIENT"),
            ((m.cross_ref_id, getattr(m.owner, "peer", None)) for m in watching),
        )
    return text


def backup_name(now: float) -> str:
    stamp = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    return f"backup-{stamp:%Y%m%dT%H%M%SZ}.json"


def dump(data: ExchangeData, path: Path) -> int:
    """Write ``data`` to ``path`` atomically, mode 0600; the number of bytes."""
    return write_file(Path(path), to_json(data).encode("utf-8"))


def write_file(path: Path, text: bytes) -> int:
    """Write ``text`` to ``path`` atomically (a temporary file, fsync, rename), mode 0600;
    the number of bytes. CommandError if it cannot."""
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as e:
        raise CommandError(f"cannot write {path}: {e.strerror or e}") from None
    return len(text)


def read_backup(path: Path) -> ExchangeData:
    try:
        content = read_regular_file(path, MAX_EXCHANGE_BYTES)
    except FileRefused as e:
        raise CommandError(f"{path}: {e.problem}") from None
    except OSError as e:
        raise CommandError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        return from_json(content, Path(path).name)
    except ConfigError as e:
        raise CommandError(str(e)) from None


def restart_needed(old: ExchangeData, new: ExchangeData) -> list[str]:
    """What of ``new`` the running server applies only when it starts again."""
    if any(getattr(old.limits, name) != getattr(new.limits, name) for name in LOGIN_LIMITS):
        return ["limits (the logins)"]
    return []


async def restore(target: Any, path: Path) -> str:
    """``exchange restore FILE``: the report lines."""
    new = read_backup(path)
    old = await target.update(lambda current: (new, current))
    lines = [f"exchange data restored from {path} and saved"]
    applied = "applied now" if target.live else "applied when the server starts"
    lines.append(f"CSTA servers, numbering plan, authentication criteria and accounts: {applied}")
    needed = restart_needed(old, new)
    if needed and target.live:
        lines.append(f"needs a restart: {', '.join(needed)}")
    return "\n".join(lines) + "\n"
