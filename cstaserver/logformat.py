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
"""

from __future__ import annotations

import sys

from twisted.logger import ILogObserver, jsonFileLogObserver

#: The dotted name twistd's ``--logger`` option resolves (``twisted.python.reflect.namedAny``).
JSON_OBSERVER_NAME = "cstaserver.logformat.json_stdout_observer"


def json_stdout_observer() -> ILogObserver:
    """A ``jsonFileLogObserver`` on stdout, one event per line (no RS record separator)."""
    return jsonFileLogObserver(sys.stdout, recordSeparator="")
