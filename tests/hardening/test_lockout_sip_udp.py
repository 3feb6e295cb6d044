"""SIP over UDP (RFC 3261 §18): two findings.

- Sizes: Twisted's UDP port reads 8,192 bytes of a datagram by default and drops the rest,
  so a larger request (a CSTA body with a long snapshot, say) was answered 400; the docs
  promise messages up to 65,535 bytes. The port now reads every datagram whole (over
  loopback).
- Reflection: an INVITE with a forged source address draws a 200 OK that §17.2.1
  retransmits (Timer G) until an ACK that never comes: about ten times its size towards the
  victim. ``Limits.udp_unacknowledged_bytes`` bounds the response bytes one address may have
  waiting for ACKs; over it a response is sent once and not retransmitted. A client that
  ACKs keeps the RFC behaviour (on ``task.Clock``).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from twisted.logger import capturedLogs
from twisted.trial import unittest

from cstaserver.sip.message import parse_datagram
from tests.hardening.support import FullServer, until
from tests.sip.sip_support import RecordingFlow, deliver, make_endpoint, sip_request

BUDGET = 2000
VICTIM = ("192.0.2.66", 5060)


def _invite(call_id: str) -> bytes:
    return sip_request("INVITE", call_id=call_id, transport="UDP", branch=f"z9hG4bK{call_id}")


def _oks_per_call(flow: RecordingFlow) -> dict[str, int]:
    counts: dict[str, int] = {}
    for response in flow.responses:
        if response.status == 200:
            counts[response.call_id or ""] = counts.get(response.call_id or "", 0) + 1
    return counts


def _reflected(count: int) -> tuple[RecordingFlow, Any]:
    """``count`` forged INVITEs from the victim's address, never ACKed, until Timer H."""
    endpoint, _app, clock = make_endpoint(udp_unacknowledged_bytes=BUDGET, trying_delay=None)
    victim = RecordingFlow(peer=VICTIM)
    for n in range(count):
        deliver(endpoint, victim, _invite(f"forged{n:02d}"))
    clock.pump([0.25] * int(64 * 0.5 / 0.25 + 8))  # Timer G up to Timer H, no ACK
    clock.pump([1.0] * 40)  # and whatever follows (the BYEs' Timer E/F)
    return victim, endpoint


def test_a_forged_invite_is_not_reflected_beyond_the_budget() -> None:
    victim, endpoint = _reflected(10)
    size = len(victim.sent[0])
    within = BUDGET // size
    assert 1 <= within < 10
    counts = _oks_per_call(victim)
    assert all(counts[f"forged{n:02d}"] >= 5 for n in range(within))  # §17.2.1 retransmissions
    assert [counts[f"forged{n:02d}"] for n in range(within, 10)] == [1] * (10 - within)
    byes = {r.call_id for r in victim.requests if r.method == "BYE"}
    assert byes == {f"forged{n:02d}" for n in range(within)}  # over the budget: not even a BYE
    assert endpoint.response_budget.waiting == {}  # Timer H released what was waiting

    # the bound: each further forged INVITE reflects its one response, nothing more
    more, _ = _reflected(30)
    total = sum(len(data) for data in victim.sent)
    assert sum(len(data) for data in more.sent) == total + 20 * size

    # a later INVITE from the victim's address gets its retransmissions again
    victim.clear()
    deliver(endpoint, victim, _invite("later"))
    endpoint.clock.pump([0.5] * 4)
    assert _oks_per_call(victim)["later"] > 1


def test_a_client_that_acks_is_retransmitted_to_until_its_ack() -> None:
    endpoint, _app, clock = make_endpoint(udp_unacknowledged_bytes=BUDGET, trying_delay=None)
    victim = RecordingFlow(peer=VICTIM)
    for n in range(10):
        deliver(endpoint, victim, _invite(f"forged{n:02d}"))
    client = RecordingFlow(peer=("192.0.2.20", 5060))
    deliver(endpoint, client, _invite("honest"))
    clock.advance(0.5)
    clock.advance(1.0)
    assert _oks_per_call(client)["honest"] == 3  # the response, then Timer G twice
    ok = client.responses[0]
    ack = sip_request(
        "ACK", call_id="honest", to_tag=ok.to_tag, transport="UDP", branch="z9hG4bKhonest"
    )
    deliver(endpoint, client, ack)
    clock.pump([1.0] * 40)
    assert _oks_per_call(client)["honest"] == 3
    assert "192.0.2.20" not in endpoint.response_budget.waiting


class DatagramSizeTests(unittest.TestCase):
    async def test_a_large_datagram_is_read_whole(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir(parents=True)
        server = FullServer(self, tmp / "data")
        port = server.port_of("sip")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        answers: list[bytes] = []

        def poll() -> bool:
            try:
                answers.append(sock.recv(65536))
            except BlockingIOError:
                pass
            return bool(answers)

        for size in (20_000, 60_000):
            answers.clear()
            body = b"<x>" + b"a" * (size - 7) + b"</x>"
            request = sip_request("OPTIONS", body=body, transport="UDP", call_id=f"big{size}")
            assert len(request) > size > 8192
            sock.sendto(request, ("127.0.0.1", port))
            await until(poll, f"the answer to a {size}-byte OPTIONS")
            self.assertEqual(parse_datagram(answers[0]).status, 200)


def _budget_lines(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if "unacknowledged" in e.get("log_format", "")]


def test_going_over_the_budget_is_logged_once_not_per_response() -> None:
    """A flood of forged INVITEs costs one log line, not one per response it draws; the
    address is logged again once its waiting bytes were released and it goes over again."""
    endpoint, _app, clock = make_endpoint(udp_unacknowledged_bytes=BUDGET, trying_delay=None)
    victim = RecordingFlow(peer=VICTIM)
    with capturedLogs() as events:
        for n in range(30):
            deliver(endpoint, victim, _invite(f"forged{n:02d}"))
    assert endpoint.response_budget.refused > 20
    assert [line["address"] for line in _budget_lines(events)] == [VICTIM[0]]

    clock.pump([0.25] * int(64 * 0.5 / 0.25 + 8))  # Timer H releases what was waiting
    assert endpoint.response_budget.waiting == {}
    with capturedLogs() as events:
        for n in range(30):
            deliver(endpoint, victim, _invite(f"again{n:02d}"))
    assert len(_budget_lines(events)) == 1
