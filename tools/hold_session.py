"""A CTI client that stays connected: an ECMA-354 application session and device monitors on
the XML port, held until it is stopped (at most ``--seconds``). ``tools/docs_check.py`` runs it
in the background where a document shows a connected client (docs/admin.md).

    python3 tools/hold_session.py [--port 8882] [--duration 600] [--seconds 600] DEVICE ...

Prints ``ready`` once the session and the monitors are in place.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "examples"))
from xml_client import NS, frame, read_frame  # noqa: E402  (the guide's framing helpers)

ACSE = "http://www.ecma-international.org/standards/ecma-354/appl_session"


def start_session(application: str, user: str, password: str, duration: int) -> str:
    return (
        f'<StartApplicationSession xmlns="{ACSE}"><applicationInfo>'
        f"<applicationID>{application}</applicationID><applicationSpecificInfo>"
        f"<userName>{user}</userName><password>{password}</password>"
        "</applicationSpecificInfo></applicationInfo><requestedProtocolVersions>"
        f"<protocolVersion>{NS}</protocolVersion></requestedProtocolVersions>"
        f"<requestedSessionDuration>{duration}</requestedSessionDuration>"
        "</StartApplicationSession>"
    )


def monitor_start(device: str) -> str:
    return (
        f'<MonitorStart xmlns="{NS}"><monitorObject><deviceObject>{device}'
        "</deviceObject></monitorObject></MonitorStart>"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("devices", nargs="*")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8882)
    parser.add_argument("--application", default="demo")
    parser.add_argument("--user", default="csta_user")
    parser.add_argument("--password", default="csta")
    parser.add_argument("--duration", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=600.0)
    args = parser.parse_args(argv)
    requests = [start_session(args.application, args.user, args.password, args.duration)]
    requests += [monitor_start(device) for device in args.devices]
    with socket.create_connection((args.host, args.port), timeout=5) as sock:
        for number, xml in enumerate(requests, 1):
            sock.sendall(frame(f"{number:04d}", xml))
            invoke_id, body = read_frame(sock)
            if invoke_id != f"{number:04d}" or "Error" in body or "NegResponse" in body:
                raise SystemExit(f"error: refused: {body}")
        print("ready", flush=True)
        sock.settimeout(None)
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:  # events are read and dropped until closed
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                if not sock.recv(65536):
                    return
            except TimeoutError:
                return


if __name__ == "__main__":
    main(sys.argv[1:])
