"""Benchmark (not a test): CPU per TR/87 SIP transaction in process, two source trees in
alternating pairs.

The TR/87 stack of each tree (``CstaCore`` on the demo exchange, ``Tr87Application``,
``SipEndpoint``, one ``SipStreamProtocol`` on a ``StringTransport``) is driven with sipe's
sign-in dialog, as ``bench/tr87/run.py`` drives the whole server with SIPp: INVITE with
RequestSystemStatus and ``lcs:line`` / 200 / ACK, five INFOs (RequestSystemStatus) / 200,
BYE / 200, no Via branch: seven SIP transactions. Each tree runs in a child process of its
own; the figure is the thread's CPU time per transaction, best of the batches (building the
requests, the same in both trees, counted in). No network,
no wire trace and no metrics: this isolates the SIP and TR/87 layers and the CSTA core they
call, which the whole server's figure (``bench/cpu_time.py --paths tr87-tcp``) contains.

``--via-host`` writes another host in the requests' Via than the address they come from,
as a client behind NAT or a front end writing its name does: the server then stamps
``received`` on every request (RFC 3261 §18.2.1).

A tree is a checkout of the project, e.g. the commit before a change unpacked with
``git archive COMMIT | tar -x -C /tmp/before``; both run on this virtualenv's Python.

    .venv/bin/python bench/sip_cost.py /tmp/before . [--rounds 3] [--dialogs 1000]
        [--via-host 192.0.2.10]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import common
import profiling

HERE = Path(__file__).resolve().parent
PEER = ("198.51.100.7", 40000)


def in_process(dialogs: int, batches: int, via_host: str) -> dict[str, Any]:
    """CPU microseconds per SIP transaction on the tree this process imports."""
    import gc
    import re
    import time

    from twisted.internet.address import IPv4Address
    from twisted.internet.task import Clock
    from twisted.internet.testing import StringTransport

    from cstaserver.csta.core import CstaCore
    from cstaserver.pbx.demo import demo_plan
    from cstaserver.pbx.switch import Switch
    from cstaserver.sip.endpoint import SipConfig, SipEndpoint
    from cstaserver.sip.tr87 import Tr87Application
    from cstaserver.sip.transport import SipStreamProtocol

    clock = Clock()
    endpoint = SipEndpoint(
        Tr87Application(CstaCore(Switch(demo_plan(), clock), clock), clock), clock, SipConfig()
    )
    protocol = SipStreamProtocol(endpoint)
    transport = StringTransport(
        hostAddress=IPv4Address("TCP", "127.0.0.1", 5062), peerAddress=IPv4Address("TCP", *PEER)
    )
    protocol.makeConnection(transport)
    body = (
        f'<RequestSystemStatus xmlns="{common.NS}"><extensions><privateData><private>'
        f'<lcs:line xmlns:lcs="{common.LCS}">tel:+4685551101</lcs:line></private></privateData>'
        "</extensions></RequestSystemStatus>"
    )
    caller = profiling.SipCaller(0, "tcp", (via_host, PEER[1]), infos=5)  # sipe's requests
    to = "<sip:rccgateway@127.0.0.1>"

    def request(method: str, cseq: int, to_tag: str = "", with_body: bool = False) -> bytes:
        to_value = f"{to};tag={to_tag}" if to_tag else to
        return caller.request(method, cseq, to_value, "5c1e", body if with_body else "")

    tag_of_answer = re.compile(rb"\r\nTo: [^\r]*;tag=([^;\r]+)")

    def dialog(call_id: str) -> int:
        caller.call_id = call_id
        protocol.dataReceived(request("INVITE", 1, with_body=True))
        clock.advance(0)
        found = tag_of_answer.search(transport.value())
        if found is None or b"SIP/2.0 200" not in transport.value():
            raise RuntimeError(f"no 200 to the INVITE: {transport.value()[:200]!r}")
        tag = found.group(1).decode()
        transport.clear()
        protocol.dataReceived(request("ACK", 1, tag))
        for cseq in range(2, 7):
            protocol.dataReceived(request("INFO", cseq, tag, with_body=True))
            clock.advance(0)
        protocol.dataReceived(request("BYE", 7, tag))
        clock.advance(0)
        answered = transport.value().count(b"SIP/2.0 200 ")
        transport.clear()
        if answered != 6:
            raise RuntimeError(f"{answered} of 6 in-dialog requests answered 200")
        return 7

    for number in range(200):  # warm-up: caches, the first dialogs' objects
        dialog(f"warm-{number}")
    gc.collect()
    gc.freeze()
    best = float("inf")
    for batch in range(batches):
        started = time.thread_time()
        transactions = sum(dialog(f"b{batch}-{number}") for number in range(dialogs))
        best = min(best, (time.thread_time() - started) / transactions * 1e6)
        clock.advance(64)  # the batch's timers run out between batches, not in them
    return {"cpu_us_per_transaction": best}


_CHILD = """
import json, sys
sys.path.insert(0, {bench!r})
import sip_cost
print(json.dumps(sip_cost.in_process({dialogs}, {batches}, {via_host!r})))
"""


def main() -> None:
    parser = common.tree_pair_parser(__doc__.splitlines()[0])
    parser.add_argument("--dialogs", type=int, default=1000, help="dialogs per batch [1000]")
    parser.add_argument("--batches", type=int, default=5, help="batches per tree and round [5]")
    parser.add_argument(
        "--via-host",
        default=PEER[0],
        help=f"the host the requests' Via names [{PEER[0]}: the address they come from]",
    )
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    code = _CHILD.format(
        bench=str(HERE), dialogs=args.dialogs, batches=args.batches, via_host=args.via_host
    )
    figures: dict[str, list[float]] = {"before": [], "after": []}
    for round_ in range(args.rounds):
        for name in ["before", "after"] if round_ % 2 == 0 else ["after", "before"]:
            figure = common.run_in_tree(trees[name], code)["cpu_us_per_transaction"]
            figures[name].append(figure)
            print(
                f"{name}: {figure:.1f} us per SIP transaction; load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    rows = [
        [name, f"{min(values):.1f}", f"{sorted(values)[len(values) // 2]:.1f}"]
        for name, values in figures.items()
    ]
    print()
    print(common.markdown_table(["tree", "min us per transaction", "median"], rows))
    print(json.dumps({"via_host": args.via_host, **figures}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
