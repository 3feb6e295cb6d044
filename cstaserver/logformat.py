"""Log output for ``twistd -n csta --log-format json`` (the twistd options, README "Options").

(Named ``logformat`` rather than ``logging`` so that it never shadows the standard library's
``logging`` module.)

twistd creates its log observer *before* it calls the plugin's ``makeService``, and only from
its own options (``--logger``, ``--logfile``, ``--syslog``). So ``--log-format json`` is
applied while the options are parsed: :class:`cstaserver.app.options.Options` sets twistd's
``--logger`` to :func:`json_stdout_observer` (unless ``--logger`` was given), and twistd
installs it as its only observer. Every event, twistd's own included (and stray ``print``
output, which twistd redirects into the log), becomes one JSON object per line on stdout,
with the named fields of the event; no text line is written. The equivalent by hand is
``twistd -n --logger cstaserver.logformat.json_stdout_observer csta``.

The text log (the default) is twistd's own observer behind :func:`quiet`: no debug events and
none of the lines that only repeat what the server's own lines say (``Starting factory``,
``... starting on <port>``, the ssh and AMP connection chatter); warnings and errors always.
``twistd -n --logger twisted.logger.textFileLogObserver csta`` shows everything.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LegacyLogObserverWrapper,
    LogLevel,
    PredicateResult,
    jsonFileLogObserver,
)

#: The dotted name twistd's ``--logger`` option resolves (``twisted.python.reflect.namedAny``).
JSON_OBSERVER_NAME = "cstaserver.logformat.json_stdout_observer"


def json_stdout_observer() -> ILogObserver:
    """A ``jsonFileLogObserver`` on stdout, one event per line (no RS record separator)."""
    return jsonFileLogObserver(sys.stdout, recordSeparator="")


# -- the text log at the default level: what an operator reads ------------------------------

#: The dotted name of :func:`quiet_text_observer` (set as twistd's ``--logger`` for text logs).
QUIET_OBSERVER_NAME = "cstaserver.logformat.quiet_text_observer"

#: Info-level chatter of Twisted's ssh and AMP internals (channel opened, exit code, key
#: exchange details, connection made and lost): the admin shell logs each login itself.
_CHATTY_NAMESPACES = (
    "twisted.conch.ssh",
    "twisted.protocols.amp",
    "cstaserver.admin.access.AdminConchFactory",
    "cstaserver.admin.sshsession.QuietServerTransport",
)
#: Legacy lines that repeat what ``listening: ...`` already says, or say nothing.
_CHATTY_TEXT = re.compile(r".+ starting on .+|\(.*Port .+ Closed\)|(Starting|Stopping) factory .*")

_twistd_options: Any = None


def quiet(event: dict[str, Any]) -> PredicateResult:
    """The events of the text log at the default level: no debug events, none of the chatter
    above; every warning and error is kept."""
    level = event.get("log_level", LogLevel.info)
    if level >= LogLevel.warn:
        return PredicateResult.maybe
    if level < LogLevel.info:
        return PredicateResult.no
    namespace = event.get("log_namespace") or ""
    if namespace.startswith(_CHATTY_NAMESPACES):
        return PredicateResult.no
    text = event.get("log_format")
    if namespace == "log_legacy" or text is None:
        text = " ".join(str(part) for part in event.get("message", ()) or ())
    if _CHATTY_TEXT.fullmatch(text or ""):
        return PredicateResult.no
    return PredicateResult.maybe


def use_quiet_text(twistd_options: Any) -> None:
    """Make twistd's text log :func:`quiet` (its own file, stdout or syslog choice kept)."""
    global _twistd_options
    _twistd_options = twistd_options
    twistd_options["logger"] = QUIET_OBSERVER_NAME


def quiet_text_observer() -> ILogObserver:
    """twistd's own log observer (``--logfile``, ``--syslog``, stdout under ``-n``) behind the
    :func:`quiet` filter."""
    if os.name == "posix":
        from twisted.scripts._twistd_unix import UnixAppLogger as AppLogger
    else:  # pragma: no cover (twistd on Windows)
        from twisted.application.app import AppLogger
    observer = AppLogger(_twistd_options or {})._getLogObserver()
    if not ILogObserver.providedBy(observer):
        observer = LegacyLogObserverWrapper(observer)
    return FilteringLogObserver(observer, [quiet])
