#!/usr/bin/env python3
"""Place a call between two demo extensions through the cstaserver SOAP web service.

    pip install zeep
    python docs/examples/soap_call.py [--wsdl http://127.0.0.1:8080/csta?wsdl]
                                      [--user csta_user --password csta] [--from 1000 --to 1001]

Steps: load the WSDL (served by the server itself, no internet needed), start an ECMA-354
application session, monitor the calling extension with the session's ``sessionID`` SOAP
header, MakeCall, read the events with the GetEvents long poll, clear the call, stop the
session. Nothing is left behind, so it can be run again at once; a refusal (a SOAP Fault) is
printed in one line and the script exits with status 1.
"""

from __future__ import annotations

import argparse
import sys

import requests
import zeep
from zeep.exceptions import Fault
from zeep.transports import Transport

ED3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"


def place_call(args: argparse.Namespace) -> None:
    session = requests.Session()
    session.auth = (args.user, args.password)  # HTTP Basic on every POST
    client = zeep.Client(args.wsdl, transport=Transport(session=session))
    service = client.service

    started = service.StartApplicationSession(
        applicationInfo={"applicationID": "demo"},
        requestedProtocolVersions={"protocolVersion": [ED3]},
        requestedSessionDuration=120,
    )
    header = {"sessionID": started.sessionID}
    print(f"session {started.sessionID} ({started.actualSessionDuration} s)")
    try:
        monitor = service.MonitorStart(
            monitorObject={"deviceObject": {"_value_1": args.calling}}, _soapheaders=header
        )
        print(f"monitoring {args.calling}: crossRefID {monitor.monitorCrossRefID}")
        made = service.MakeCall(
            callingDevice={"_value_1": args.calling},
            calledDirectoryNumber={"_value_1": args.called},
            _soapheaders=header,
        )
        print(f"call {made.callingDevice.callID} from {args.calling} to {args.called}")
        for event in service.GetEvents(timeout=2, _soapheaders=header) or []:
            state = getattr(event, "localConnectionInfo", None)
            print(f"event {type(event).__name__}: state {state}, cause {event.cause}")
        service.ClearConnection(connectionToBeCleared=made.callingDevice, _soapheaders=header)
        print(f"call {made.callingDevice.callID} cleared")
    finally:
        service.StopApplicationSession(sessionID=started.sessionID, _soapheaders=header)
        print("session stopped")


def main(argv: list[str] | None = None) -> int | str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wsdl", default="http://127.0.0.1:8080/csta?wsdl")
    parser.add_argument("--user", default="csta_user")
    parser.add_argument("--password", default="csta")
    parser.add_argument("--from", dest="calling", default="1000")
    parser.add_argument("--to", dest="called", default="1001")
    args = parser.parse_args(argv)
    try:
        place_call(args)
    except Fault as fault:  # e.g. invalidDeviceState: the calling device is in another call
        return f"error: refused: {fault.message}"
    except requests.RequestException as error:
        return f"error: cannot reach {args.wsdl}: {error}"
    return 0


if __name__ == "__main__":
    sys.exit(main())
