"""RFC 3261 §17 transactions on a task.Clock."""

from __future__ import annotations

from twisted.internet.task import Clock

from cstaserver.sip.message import SipRequest, SipResponse, make_response, parse_datagram
from cstaserver.sip.transaction import (
    CompletedTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    RequestTimeout,
    TimerSettings,
    TransactionState,
    TransactionTable,
    server_key,
)
from tests.sip.sip_support import RecordingFlow, sip_request

TIMERS = TimerSettings()


class ParsingFlow(RecordingFlow):
    """A recording flow that also appends each response, parsed, to ``parsed``."""

    def __init__(self, parsed: list[SipResponse], *, reliable: bool) -> None:
        super().__init__(reliable=reliable)
        self.parsed = parsed

    def send_bytes(self, data: bytes) -> None:
        super().send_bytes(data)
        message = parse_datagram(data)
        assert isinstance(message, SipResponse)
        self.parsed.append(message)


def invite_transaction(
    *, reliable: bool = False, trying_delay: float | None = None
) -> tuple[InviteServerTransaction, list[SipResponse], Clock, list]:
    clock = Clock()
    sent: list[SipResponse] = []
    timeouts: list = []
    request = parse_datagram(sip_request("INVITE", branch="z9hG4bKinv"))
    transaction = InviteServerTransaction(
        request,
        clock=clock,
        timers=TIMERS,
        flow=ParsingFlow(sent, reliable=reliable),
        trying_delay=trying_delay,
        on_ack_timeout=timeouts.append,
    )
    return transaction, sent, clock, timeouts


def resend_times(clock: Clock, sent: list, until: float, step: float = 0.25) -> list[float]:
    times = []
    count = len(sent)
    while clock.seconds() < until:
        clock.advance(step)
        if len(sent) > count:
            times.append(clock.seconds())
            count = len(sent)
    return times


class TestInviteServer:
    def test_udp_2xx_retransmitted_by_timer_g_until_ack(self) -> None:
        transaction, sent, clock, timeouts = invite_transaction()
        transaction.respond_with(200, to_tag="x")
        assert [r.status for r in sent] == [200]
        times = resend_times(clock, sent, 8)
        assert times == [0.5, 1.5, 3.5, 7.5]  # T1, 2*T1, 4*T1, then capped at T2 = 4 s
        transaction.ack_received()
        assert transaction.state is TransactionState.CONFIRMED
        count = len(sent)
        clock.advance(30)
        assert len(sent) == count
        assert timeouts == []

    def test_acked_over_udp_kept_by_the_table_until_timer_i(self) -> None:
        """Confirmed (§17.2.1): the table absorbs the INVITE and its ACK again for T4,
        without the transaction (nor the request, nor its dialog)."""
        transaction, sent, clock, timeouts = invite_transaction()
        table = TransactionTable(clock, TIMERS)
        table.add_server(transaction)
        transaction.respond_with(200, to_tag="x")
        transaction.ack_received()
        assert table.server_transactions == [] and table.server_count == 1
        kept = table.find_server(transaction.request)
        ack = parse_datagram(sip_request("ACK", branch="z9hG4bKinv"))
        assert isinstance(kept, CompletedTransaction) and table.find_server(ack) is kept
        kept.request_retransmitted()
        assert [r.status for r in sent] == [200]  # absorbed
        clock.advance(4.9)
        assert table.find_server(ack) is kept
        clock.advance(0.1)  # Timer I = T4
        assert table.find_server(ack) is None and len(table) == 0
        assert clock.getDelayedCalls() == [] and timeouts == []

    def test_timer_h_reports_no_ack(self) -> None:
        transaction, sent, clock, timeouts = invite_transaction()
        transaction.respond_with(200, to_tag="x")
        clock.advance(31.9)
        assert timeouts == []
        clock.advance(0.2)
        assert timeouts == [transaction]
        assert transaction.state is TransactionState.TERMINATED
        count = len(sent)
        clock.advance(60)
        assert len(sent) == count

    def test_tcp_no_retransmission_but_timer_h(self) -> None:
        transaction, sent, clock, timeouts = invite_transaction(reliable=True)
        transaction.respond_with(486)
        clock.advance(31)
        assert len(sent) == 1
        clock.advance(1.5)
        assert timeouts == [transaction]

    def test_request_retransmission_re_sends_last_response(self) -> None:
        transaction, sent, clock, _ = invite_transaction(reliable=True)
        transaction.request_retransmitted()
        assert sent == []  # nothing to re-send yet
        transaction.respond_with(180)
        transaction.request_retransmitted()
        assert [r.status for r in sent] == [180, 180]
        transaction.respond_with(200)
        transaction.request_retransmitted()
        assert [r.status for r in sent] == [180, 180, 200, 200]
        transaction.ack_received()
        transaction.request_retransmitted()
        assert len(sent) == 4

    def test_100_trying_when_slow(self) -> None:
        transaction, sent, clock, _ = invite_transaction(trying_delay=0.2)
        clock.advance(0.1)
        assert sent == []
        clock.advance(0.1)
        assert [r.status for r in sent] == [100]
        transaction.respond_with(200)
        assert [r.status for r in sent] == [100, 200]

    def test_no_100_when_fast(self) -> None:
        transaction, sent, clock, _ = invite_transaction(trying_delay=0.2)
        transaction.respond_with(200)
        clock.advance(1)
        assert [r.status for r in sent][:1] == [200]
        assert 100 not in [r.status for r in sent]

    def test_late_response_dropped(self) -> None:
        transaction, sent, clock, _ = invite_transaction()
        transaction.respond_with(487)
        transaction.respond_with(200)
        assert [r.status for r in sent] == [487]


class TestNonInviteServer:
    def make(
        self, reliable: bool, cseq: int = 2
    ) -> tuple[NonInviteServerTransaction, list, Clock, TransactionTable]:
        clock = Clock()
        sent: list[SipResponse] = []
        table = TransactionTable(clock, TIMERS)
        transaction = self.add(table, clock, sent, reliable, cseq)
        return transaction, sent, clock, table

    @staticmethod
    def add(
        table: TransactionTable, clock: Clock, sent: list, reliable: bool, cseq: int
    ) -> NonInviteServerTransaction:
        request = parse_datagram(sip_request("INFO", to_tag="t", cseq=cseq))
        transaction = NonInviteServerTransaction(
            request, clock=clock, timers=TIMERS, flow=ParsingFlow(sent, reliable=reliable)
        )
        table.add_server(transaction)
        return transaction

    def test_timer_j_on_udp(self) -> None:
        transaction, sent, clock, table = self.make(reliable=False)
        request = transaction.request
        transaction.request_retransmitted()  # Trying: absorbed silently
        assert sent == []
        transaction.respond_with(200)
        clock.advance(31)
        kept = table.find_server(request)
        assert kept is not None
        kept.request_retransmitted()
        assert [r.status for r in sent] == [200, 200]
        assert sent[0].to_bytes() == sent[1].to_bytes()  # the same response again
        clock.advance(1)  # 64*T1 after the response: Timer J fired
        assert table.find_server(request) is None and len(table) == 0

    def test_a_completed_udp_transaction_is_kept_as_its_response_only(self) -> None:
        """Held for Timer J only to answer retransmissions: the response's bytes and the
        flow, not the transaction with its request."""
        transaction, sent, clock, table = self.make(reliable=False)
        transaction.respond_with(200)
        kept = table.find_server(transaction.request)
        assert isinstance(kept, CompletedTransaction)
        assert kept.response == sent[0].to_bytes()
        assert kept.flow is transaction.flow
        assert table.server_transactions == [] and table.server_count == 1

    def test_one_sweep_ends_the_completed_transactions_in_time_order(self) -> None:
        """Transactions completed 10 s apart end 32 s after each, by one delayed call."""
        first, sent, clock, table = self.make(reliable=False, cseq=2)
        first.respond_with(200)
        clock.advance(10)
        second = self.add(table, clock, sent, False, cseq=3)
        second.respond_with(200)
        assert len(clock.getDelayedCalls()) == 1
        clock.advance(22)
        assert table.find_server(first.request) is None
        assert isinstance(table.find_server(second.request), CompletedTransaction)
        assert len(clock.getDelayedCalls()) == 1
        clock.advance(10)
        assert table.find_server(second.request) is None
        assert clock.getDelayedCalls() == []

    def test_terminate_all_drops_the_completed_ones_and_their_sweep(self) -> None:
        transaction, _, clock, table = self.make(reliable=False)
        transaction.respond_with(200)
        table.terminate_all()
        assert len(table) == 0 and clock.getDelayedCalls() == []

    def test_no_timer_j_on_tcp(self) -> None:
        transaction, _, clock, table = self.make(reliable=True)
        transaction.respond_with(200)
        assert transaction.state is TransactionState.TERMINATED
        assert len(table) == 0 and clock.getDelayedCalls() == []


class TestNonInviteClient:
    def make(self, reliable: bool) -> tuple[NonInviteClientTransaction, list, Clock, list]:
        clock = Clock()
        sent: list[SipRequest] = []
        request = parse_datagram(sip_request("INFO", branch="z9hG4bKout", to_tag="t"))
        transaction = NonInviteClientTransaction(
            request, clock=clock, timers=TIMERS, send=sent.append, reliable=reliable
        )
        results: list = []
        transaction.deferred.addCallback(results.append)
        transaction.start()
        return transaction, sent, clock, results

    def test_udp_timer_e_and_f(self) -> None:
        transaction, sent, clock, results = self.make(reliable=False)
        times = resend_times(clock, sent, 31.75)
        assert times[:4] == [0.5, 1.5, 3.5, 7.5]
        assert all(b - a == 4 for a, b in zip(times[3:], times[4:], strict=False))
        assert results == []
        clock.advance(0.25)
        (result,) = results
        assert isinstance(result, RequestTimeout) and result.reason == "timeout"
        assert result.request is transaction.request
        assert transaction.state is TransactionState.TERMINATED

    def test_tcp_only_timer_f(self) -> None:
        _, sent, clock, results = self.make(reliable=True)
        clock.advance(31.9)
        assert len(sent) == 1 and results == []
        clock.advance(0.2)
        assert isinstance(results[0], RequestTimeout)

    def test_provisional_then_final(self) -> None:
        transaction, sent, clock, results = self.make(reliable=False)
        transaction.response_received(make_response(transaction.request, 100))
        assert transaction.state is TransactionState.PROCEEDING
        clock.advance(0.5)
        clock.advance(4)
        assert len(sent) == 3  # E keeps going at T2 while proceeding
        final = make_response(transaction.request, 200)
        transaction.response_received(final)
        assert results == [final]
        transaction.response_received(final)  # retransmitted final: absorbed
        assert results == [final]
        clock.advance(5)  # Timer K = T4
        assert transaction.state is TransactionState.TERMINATED

    def test_send_failure_is_a_result_not_an_exception(self) -> None:
        def broken(message: object) -> None:
            raise ConnectionError("gone")

        request = parse_datagram(sip_request("INFO", branch="z9hG4bKx", to_tag="t"))
        transaction = NonInviteClientTransaction(
            request, clock=Clock(), timers=TIMERS, send=broken, reliable=True
        )
        results: list = []
        transaction.deferred.addCallback(results.append)
        transaction.start()
        assert results[0].reason == "transport error"


class TestTimerKInATable:
    """§17.1.2.2: a client transaction completed over UDP absorbs retransmitted responses
    for T4 (Timer K); a table's are ended by one time-ordered sweep, not a delayed call
    each."""

    @staticmethod
    def add(table: TransactionTable, clock: Clock, branch: str) -> NonInviteClientTransaction:
        request = parse_datagram(sip_request("INFO", branch=branch, to_tag="t"))
        transaction = NonInviteClientTransaction(
            request, clock=clock, timers=TIMERS, send=lambda message: None, reliable=False
        )
        table.add_client(transaction)
        transaction.start()
        return transaction

    def test_one_sweep_ends_the_completed_client_transactions_in_time_order(self) -> None:
        clock = Clock()
        table = TransactionTable(clock, TIMERS)
        first = self.add(table, clock, "z9hG4bKk1")
        results: list = []
        first.deferred.addCallback(results.append)
        final = make_response(first.request, 200)
        table.find_client(final).response_received(final)  # type: ignore[union-attr]
        assert results == [final] and first.state is TransactionState.COMPLETED
        assert len(clock.getDelayedCalls()) == 1  # the sweep, no Timer E/F/K of its own
        clock.advance(2)
        second = self.add(table, clock, "z9hG4bKk2")
        answer = make_response(second.request, 200)
        second.response_received(answer)
        again = table.find_client(final)
        assert again is first  # the retransmitted final is still matched, and absorbed
        again.response_received(final)
        assert results == [final]
        assert len(clock.getDelayedCalls()) == 1
        clock.advance(3)  # T4 after the first
        assert first.state is TransactionState.TERMINATED
        assert table.find_client(final) is None
        assert table.find_client(answer) is second
        assert table.client_transactions == [second]
        clock.advance(2)
        assert second.state is TransactionState.TERMINATED
        assert len(table) == 0 and clock.getDelayedCalls() == []

    def test_terminate_all_ends_the_completed_client_transactions(self) -> None:
        clock = Clock()
        table = TransactionTable(clock, TIMERS)
        transaction = self.add(table, clock, "z9hG4bKk3")
        transaction.response_received(make_response(transaction.request, 200))
        table.terminate_all()
        assert transaction.state is TransactionState.TERMINATED
        assert len(table) == 0 and clock.getDelayedCalls() == []


class TestMatching:
    def test_branch_matching(self) -> None:
        first = parse_datagram(sip_request("INFO", branch="z9hG4bKa", to_tag="t"))
        again = parse_datagram(sip_request("INFO", branch="z9hG4bKa", to_tag="t", cseq=9))
        other = parse_datagram(sip_request("INFO", branch="z9hG4bKb", to_tag="t"))
        assert server_key(first) == server_key(again)
        assert server_key(first) != server_key(other)

    def test_no_branch_matches_call_id_cseq_method_from_tag(self) -> None:
        info = parse_datagram(sip_request("INFO", cseq=2, to_tag="t", body=b"<a/>"))
        assert server_key(info) == server_key(
            parse_datagram(sip_request("INFO", cseq=2, to_tag="t", body=b"<a/>"))
        )
        assert server_key(info) != server_key(
            parse_datagram(sip_request("INFO", cseq=3, to_tag="t", body=b"<a/>"))
        )
        assert server_key(info) != server_key(
            parse_datagram(sip_request("INFO", cseq=2, to_tag="t", from_tag="zz", body=b"<a/>"))
        )
        # sipe re-uses CSeq 2 after a re-INVITE: a new body is a new request.
        assert server_key(info) != server_key(
            parse_datagram(sip_request("INFO", cseq=2, to_tag="t", body=b"<b/>"))
        )

    def test_bare_magic_cookie_falls_back(self) -> None:
        request = parse_datagram(sip_request("OPTIONS", branch="z9hG4bK"))
        assert server_key(request)[0] == "rfc2543"

    def test_ack_and_cancel_find_the_invite(self) -> None:
        table = TransactionTable(Clock())
        transaction, _, _, _ = invite_transaction()
        table.add_server(transaction)
        ack = parse_datagram(sip_request("ACK", branch="z9hG4bKinv"))
        cancel = parse_datagram(sip_request("CANCEL", branch="z9hG4bKinv"))
        assert table.find_server(ack) is transaction
        assert table.find_server(cancel) is None
        assert table.find_server(cancel, "INVITE") is transaction
        transaction.terminate()
        assert table.find_server(ack) is None and len(table) == 0
