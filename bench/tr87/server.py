"""Benchmark server (not a test): the real TR/87 stack - ``SipEndpoint`` (UDP and TCP on one
port) → ``Tr87Application`` → ``CstaCore`` → ``Switch`` on the demo exchange - on 127.0.0.1,
until SIGTERM or SIGINT.

    .venv/bin/python bench/tr87/server.py [--port 0] [--log-level warn]

Prints ``PORT <n>`` once it listens and ``STATS {...}`` (the endpoint's counters, JSON) when
it stops. Logging goes to stderr at ``--log-level``; the product's per-dialog logs still pass
through the logging system's filter, as in production.

Every SIPp call comes from 127.0.0.1, so the per-address limits of docs/limits.md (200
dialogs, 64 kB of UDP answers waiting for an ACK) and the 1,000 associations would count the
whole load as one hostile host and refuse it with 503 long before the CPU is the limit: the
core runs with ``BENCH_LIMITS`` instead (the defaults otherwise). Once it listens, the
start-up is frozen out of the collector (``freeze_long_lived_objects``) as ``twistd -n csta``
does it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)

from cstaserver.app.root import freeze_long_lived_objects
from cstaserver.config.model import Limits
from cstaserver.csta.core import CstaCore
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.switch import Switch
from cstaserver.sip.endpoint import SipConfig, SipEndpoint
from cstaserver.sip.tr87 import Tr87Application
from cstaserver.sip.transport import listen_sip

reactor: Any = _reactor

#: The load's own limits: one address holds every dialog (at most the ranges' upper bounds).
BENCH_LIMITS = {
    "max_associations": 100_000,
    "max_sessions": 100_000,
    "max_dialogs_per_address": 100_000,
    "max_connections_per_address": 100_000,
    "udp_unacknowledged_bytes": 16_777_216,
}


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log-level", default="warn", choices=["debug", "info", "warn", "error"])
    args = parser.parse_args()
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(args.log_level))
    observer = FilteringLogObserver(textFileLogObserver(sys.stderr), [predicate])
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)

    switch = Switch(demo_plan(), reactor)
    core = CstaCore(switch, reactor, limits=Limits(**BENCH_LIMITS))
    config = SipConfig(udp_unacknowledged_bytes=BENCH_LIMITS["udp_unacknowledged_bytes"])
    endpoint = SipEndpoint(Tr87Application(core, reactor), reactor, config)

    def listening(listeners: Any) -> None:
        freeze_long_lived_objects()  # as the product does once it has started
        say(f"PORT {listeners.port}")

    def failed(failure: Any) -> None:
        sys.stderr.write(f"cannot listen: {failure.getErrorMessage()}\n")
        reactor.stop()

    listen_sip(reactor, endpoint, args.port, "127.0.0.1").addCallbacks(listening, failed)

    def stop(*_: Any) -> None:
        reactor.callFromThread(reactor.stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    reactor.run(installSignalHandlers=False)
    say("STATS " + json.dumps(dict(endpoint.stats)))


if __name__ == "__main__":
    main()
