"""Dialog flows through the endpoint (RFC 3261 §12, RFC 4028; docs/protocol-notes.md T2, Q1-Q6)."""

from __future__ import annotations

from twisted.internet.defer import Deferred

from cstaserver.csta.grace import EXPIRY_GRACE
from cstaserver.sip.dialog import Dialog, DialogId
from cstaserver.sip.endpoint import SipEndpoint
from cstaserver.sip.interfaces import SipAnswer
from cstaserver.sip.message import SipResponse, make_response
from cstaserver.sip.transaction import RequestTimeout
from tests.sip.sip_support import (
    CSTA,
    RecordingApplication,
    RecordingFlow,
    deliver,
    make_endpoint,
    sip_request,
)


def establish(
    endpoint: SipEndpoint,
    flow: RecordingFlow,
    *,
    call_id: str = "6f1b0c2a9d7e4b3f8a5c0d1e2f3a4b5c",
    extra: tuple = (("Supported", "timer"),),
) -> tuple[Dialog, str]:
    """sipe's start: INVITE CSeq 1 with RequestSystemStatus, 200, ACK CSeq 1."""
    deliver(
        endpoint,
        flow,
        sip_request("INVITE", call_id=call_id, body=b"<RequestSystemStatus/>", extra=extra),
    )
    response = flow.final_responses()[-1]
    assert response.status == 200
    tag = response.to_tag
    assert tag
    deliver(endpoint, flow, sip_request("ACK", call_id=call_id, to_tag=tag, cseq=1))
    return endpoint.dialogs[DialogId(call_id, tag, "5c1e")], tag


class TestEstablishment:
    def test_invite_200_ack(self) -> None:
        endpoint, app, clock = make_endpoint()
        flow = RecordingFlow(reliable=True)
        dialog, tag = establish(endpoint, flow)
        (invite_dialog, invite, confirmed_then) = app.invites[0]
        assert invite_dialog is dialog and not confirmed_then
        assert invite.body == b"<RequestSystemStatus/>"
        (response,) = flow.responses
        assert response.body == b"<RequestSystemStatusResponse/>"
        assert response.content_type == CSTA
        assert response.contacts[0].uri == "sip:cstaserver@192.0.2.1:5062;transport=tcp"
        assert response.headers.get("Session-Expires") == "1800;refresher=uac"
        assert response.headers.get("From") == "<sip:alice@example.net>;tag=5c1e;epid=0a1b2c3d4e"
        assert dialog.confirmed and dialog.pending_invite is None
        assert dialog.remote_target == "sip:alice@example.net:50123;maddr=192.0.2.10;transport=tcp"
        assert endpoint.stats["internal errors"] == 0

    def test_udp_200_retransmitted_until_ack(self) -> None:
        endpoint, _, clock = make_endpoint()
        flow = RecordingFlow(reliable=False)
        deliver(endpoint, flow, sip_request("INVITE", transport="UDP", body=b"<R/>"))
        clock.advance(0.5)
        clock.advance(1.0)
        assert [r.status for r in flow.responses] == [200, 200, 200]
        tag = flow.responses[0].to_tag
        # sipe's ACK: no branch, CSeq 1 whatever the INVITE's was
        deliver(endpoint, flow, sip_request("ACK", transport="UDP", to_tag=tag, cseq=1))
        clock.advance(40)
        assert len(flow.responses) == 3

    def test_acked_udp_invite_absorbs_retransmissions_and_cancel_until_timer_i(self) -> None:
        """§17.2.1 Confirmed for T4: the INVITE again gets nothing, a CANCEL 200 without
        effect (§9.2); after Timer I the same INVITE is a new request."""
        endpoint, app, clock = make_endpoint()
        flow = RecordingFlow(reliable=False)
        invite = sip_request("INVITE", transport="UDP", branch="z9hG4bKi", body=b"<R/>")
        deliver(endpoint, flow, invite)
        tag = flow.responses[0].to_tag
        ack = sip_request("ACK", transport="UDP", branch="z9hG4bKi", to_tag=tag)
        deliver(endpoint, flow, ack)
        clock.advance(4)
        deliver(endpoint, flow, invite)
        deliver(endpoint, flow, ack)
        deliver(endpoint, flow, sip_request("CANCEL", transport="UDP", branch="z9hG4bKi"))
        assert [(r.status, r.cseq.method) for r in flow.responses] == [
            (200, "INVITE"),
            (200, "CANCEL"),
        ]
        assert len(app.invites) == 1 and endpoint.dialogs
        clock.advance(1)  # Timer I (T4 = 5 s after the ACK): the INVITE is new again
        deliver(endpoint, flow, invite)
        assert len(app.invites) == 2 and flow.responses[-1].cseq.method == "INVITE"

    def test_no_ack_ends_the_dialog_with_bye(self) -> None:
        endpoint, app, clock = make_endpoint()
        flow = RecordingFlow(reliable=False)
        deliver(endpoint, flow, sip_request("INVITE", transport="UDP", body=b"<R/>"))
        clock.advance(32.1)
        assert [reason for _, reason in app.ended] == ["no ACK"]
        assert flow.requests[-1].method == "BYE"
        assert not endpoint.dialogs

    def test_invite_retransmission_absorbed(self) -> None:
        endpoint, app, _ = make_endpoint()
        flow = RecordingFlow(reliable=False)
        invite = sip_request("INVITE", transport="UDP", body=b"<R/>")
        deliver(endpoint, flow, invite)
        deliver(endpoint, flow, invite)
        assert len(app.invites) == 1
        assert [r.status for r in flow.responses] == [200, 200]
        assert endpoint.stats["retransmissions"] == 1

    def test_refused_invite_leaves_no_dialog(self) -> None:
        endpoint, app, _ = make_endpoint()
        app.invite_answer = 403
        flow = RecordingFlow(reliable=True)
        deliver(endpoint, flow, sip_request("INVITE", body=b"<R/>"))
        (response,) = flow.responses
        assert response.status == 403 and response.to_tag
        assert not endpoint.dialogs and app.ended == []

    def test_bodyless_invite_accepted(self) -> None:
        endpoint, app, _ = make_endpoint()
        flow = RecordingFlow(reliable=True)
        deliver(endpoint, flow, sip_request("INVITE"))
        assert flow.responses[-1].status == 200
        assert app.invites[0][1].body == b""

    def test_application_answering_later(self) -> None:
        endpoint, app, clock = make_endpoint(RecordingApplication(deferred=True))
        flow = RecordingFlow(reliable=True)
        deliver(endpoint, flow, sip_request("INVITE", body=b"<R/>"))
        clock.advance(0.3)
        assert [r.status for r in flow.responses] == [100]
        app.pending[0][1].callback((200, [("Content-Type", CSTA)], b"<ok/>"))
        assert flow.responses[-1].status == 200 and flow.responses[-1].body == b"<ok/>"

    def test_application_exception_is_500(self) -> None:
        class Failing(RecordingApplication):
            def dialog_requested(self, dialog, invite):  # type: ignore[no-untyped-def]
                raise RuntimeError("boom")

        endpoint, _, _ = make_endpoint(Failing())
        flow = RecordingFlow(reliable=True)
        deliver(endpoint, flow, sip_request("INVITE", body=b"<R/>"))
        assert flow.responses[-1].status == 500
        assert not endpoint.dialogs
        assert endpoint.stats["application errors"] == 1

    def test_cancel_pending_invite(self) -> None:
        endpoint, app, _ = make_endpoint(RecordingApplication(deferred=True))
        flow = RecordingFlow(reliable=True)
        deliver(endpoint, flow, sip_request("INVITE", branch="z9hG4bKc", body=b"<R/>"))
        deliver(endpoint, flow, sip_request("CANCEL", branch="z9hG4bKc"))
        statuses = sorted((r.status, r.cseq.method) for r in flow.final_responses())
        assert statuses == [(200, "CANCEL"), (487, "INVITE")]
        assert [reason for _, reason in app.ended] == ["cancelled"]
        app.pending[0][1].callback(200)  # too late: nothing more is sent
        assert len(flow.final_responses()) == 2
        deliver(endpoint, flow, sip_request("CANCEL", branch="z9hG4bKunknown"))
        assert flow.final_responses()[-1].status == 481


class TestInDialog:
    def test_pipelined_infos_answered_in_completion_order(self) -> None:
        endpoint, app, _ = make_endpoint()
        flow = RecordingFlow(reliable=True)
        dialog, tag = establish(endpoint, flow)
        app.deferred = True
        flow.clear()
        deliver(endpoint, flow, sip_request("INFO", to_tag=tag, cseq=2, body=b"<GetCSTAFeatures/>"))
        deliver(endpoint, flow, sip_request("INFO", to_tag=tag, cseq=3, body=b"<MonitorStart/>"))
        assert flow.responses == [] and len(app.pending) == 2
        app.pending[1][1].callback(b"<MonitorStartResponse/>")
        app.pending[0][1].callback(SipAnswer(body=b"<GetCSTAFeaturesResponse/>"))
        assert [(r.cseq.number, r.body) for r in flow.responses] == [
            (3, b"<MonitorStartResponse/>"),
            (2, b"<GetCSTAFeaturesResponse/>"),
        ]
        assert all(r.status == 200 and r.to_tag == tag for r in flow.responses)

    def test_cseq_reset_and_decrease_accepted(self) -> None:
        endpoint, app, _ = make_endpoint()
        flow = RecordingFlow(reliable=True)
        dialog, tag = establish(endpoint, flow)
        for cseq in (2, 3, 4, 2, 1, 7, 2):
            deliver(
                endpoint,
                flow,
                sip_request("INFO", to_tag=tag, cseq=cseq, body=f"<n{cseq}/>".encode()),
            )
        statuses = [r.status for r in flow.responses if r.cseq.method == "INFO"]
        assert statuses == [200] * 7
        assert dialog.remote_cseq == 2

    def test_no_branch_retransmission_answered_again(self) -> None:
        endpoint, app, _ = make_endpoint()
        flow = RecordingFlow(reliable=False)
        dialog, tag = establish(endpoint, flow, extra=())
        info = sip_request("INFO", to_tag=tag, cseq=2, body=b"<x/>", transport="UDP")
        deliver(endpoint, flow, info)
        deliver(endpoint, flow, info)
        infos = [r for r in flow.responses if r.cseq.method == "INFO"]
        assert len(app.infos) == 1 and len(infos) == 2

    def test_reinvite_keeps_the_dialog(self) -> None:
        endpoint, app, clock = make_endpoint()
        flow = RecordingFlow(reliable=True)
        dialog, tag = establish(endpoint, flow)
        dialog.context = "association-1"
        extra = (("Supported", "timer"), ("Session-Expires", "1800"))
        deliver(
            endpoint, flow, sip_request("INVITE", to_tag=tag, cseq=9, body=b"<R/>", extra=extra)
        )
        response = flow.final_responses()[-1]
        assert response.status == 200 and response.to_tag == tag
        assert app.invites[-1][0] is dialog and app.invites[-1][2] is True
        assert dialog.pending_invite is not None
        deliver(endpoint, flow, sip_request("ACK", to_tag=tag, cseq=1))  # sipe: CSeq reset
        assert dialog.pending_invite is None
        deliver(endpoint, flow, sip_request("INFO", to_tag=tag, cseq=2, body=b"<x/>"))
        assert flow.final_responses()[-1].status == 200
        assert list(endpoint.dialogs.values()) == [dialog] and dialog.context == "association-1"

    def test_refused_reinvite_keeps_the_dialog(self) -> None:
        endpoint, app, _ = make_endpoint()
        flow = RecordingFlow(reliable=True)
        dialog, tag = establish(endpoint, flow)
        app.invite_answer = 488
        deliver(endpoint, flow, sip_request("INVITE", to_tag=tag, cseq=5, body=b"<R/>"))
        assert flow.final_responses()[-1].status == 488
        assert not dialog.terminated and endpoint.dialogs

    def test_new_invite_for_the_same_line_makes_a_second_dialog(self) -> None:
        endpoint, app, _ = make_endpoint()
        flow = RecordingFlow(reliable=True)
        first, _ = establish(endpoint, flow, call_id="first")
        second, _ = establish(endpoint, flow, call_id="second")
        assert first is not second and len(endpoint.dialogs) == 2
        assert app.invites[1][1].from_address.uri == app.invites[0][1].from_address.uri

    def test_bye_ends_the_dialog(self) -> None:
        endpoint, app, _ = make_endpoint()
        flow = RecordingFlow(reliable=True)
        dialog, tag = establish(endpoint, flow)
        deliver(endpoint, flow, sip_request("BYE", to_tag=tag, cseq=12))
        assert flow.final_responses()[-1].status == 200
        assert app.ended == [(dialog, "bye")]
        assert dialog.terminated and not endpoint.dialogs
        deliver(endpoint, flow, sip_request("INFO", to_tag=tag, cseq=13, body=b"<x/>"))
        assert flow.final_responses()[-1].status == 481

    def test_update_refreshes_the_session(self) -> None:
        endpoint, app, clock = make_endpoint(session_expires=600)
        flow = RecordingFlow(reliable=True)
        dialog, tag = establish(endpoint, flow)
        clock.advance(500)
        deliver(
            endpoint,
            flow,
            sip_request("UPDATE", to_tag=tag, cseq=3, extra=(("Supported", "timer"),)),
        )
        assert flow.final_responses()[-1].status == 200
        clock.advance(500)
        assert not dialog.terminated


class TestRequestsWeSend:
    def test_event_info_shape(self) -> None:
        endpoint, _, _ = make_endpoint()
        flow = RecordingFlow(reliable=True)
        dialog, tag = establish(endpoint, flow)
        flow.clear()
        dialog.send_request(
            "INFO",
            b"<DeliveredEvent/>",
            CSTA,
            [("Content-Disposition", "signal;handling=required")],
        )
        (info,) = flow.requests
        assert info.uri == "sip:alice@example.net:50123;maddr=192.0.2.10;transport=tcp"
        assert info.headers.get("To") == "<sip:alice@example.net>;tag=5c1e;epid=0a1b2c3d4e"
        assert info.headers.get("From") == f"<sip:rccgateway@example.net>;tag={tag}"
        assert info.call_id == dialog.call_id
        assert info.cseq.number == 1
        assert info.top_via.branch.startswith("z9hG4bK")
        assert info.headers.get("Content-Disposition") == "signal;handling=required"
        assert info.body == b"<DeliveredEvent/>"
        dialog.send_request("INFO", b"<EstablishedEvent/>", CSTA)
        assert flow.requests[-1].cseq.number == 2

    def test_response_fires_the_deferred(self) -> None:
        endpoint, _, _ = make_endpoint()
        flow = RecordingFlow(reliable=True)
        dialog, _ = establish(endpoint, flow)
        results: list = []
        dialog.send_request("INFO", b"<E/>", CSTA).addCallback(results.append)
        sent = flow.requests[-1]
        endpoint.message_received(make_response(sent, 200), flow)
        assert isinstance(results[0], SipResponse) and results[0].status == 200

    def test_unanswered_info_times_out_and_the_dialog_stays_usable(self) -> None:
        endpoint, app, clock = make_endpoint()
        flow = RecordingFlow(reliable=False)
        dialog, tag = establish(endpoint, flow, extra=())
        results: list = []
        dialog.send_request("INFO", b"<E1/>", CSTA).addCallback(results.append)
        dialog.send_request("INFO", b"<E2/>", CSTA).addCallback(results.append)  # never waits
        clock.advance(31.9)
        assert results == []
        clock.advance(0.2)
        assert [r.reason for r in results] == ["timeout", "timeout"]
        assert endpoint.stats["request timeouts"] == 2
        assert not dialog.terminated and app.ended == []
        deliver(
            endpoint, flow, sip_request("INFO", to_tag=tag, cseq=2, body=b"<x/>", transport="UDP")
        )
        assert flow.final_responses()[-1].status == 200
        later: list = []
        dialog.send_request("INFO", b"<E3/>", CSTA).addCallback(later.append)
        endpoint.message_received(make_response(flow.requests[-1], 200), flow)
        assert later[0].status == 200

    def test_session_expiry_sends_bye(self) -> None:
        endpoint, app, clock = make_endpoint(session_expires=120)
        flow = RecordingFlow(reliable=True)
        dialog, tag = establish(endpoint, flow)
        assert flow.responses[0].headers.get("Session-Expires") == "120;refresher=uac"
        clock.advance(60)  # sipe refreshes at N - 60
        deliver(
            endpoint,
            flow,
            sip_request(
                "INVITE", to_tag=tag, cseq=4, body=b"<R/>", extra=(("Supported", "timer"),)
            ),
        )
        deliver(endpoint, flow, sip_request("ACK", to_tag=tag, cseq=1))
        clock.advance(80)
        assert not dialog.terminated
        clock.advance(10)  # 120 - min(32, 40) = 88 s after the refresh: due
        assert app.ended == []  # a refresh waiting in the socket would still be read
        clock.advance(EXPIRY_GRACE)
        assert app.ended == [(dialog, "session expired")]
        assert flow.requests[-1].method == "BYE"

    def test_no_session_timer_when_disabled_or_unsupported(self) -> None:
        endpoint, app, clock = make_endpoint(session_expires=None)
        flow = RecordingFlow(reliable=True)
        dialog, _ = establish(endpoint, flow)
        assert "Session-Expires" not in flow.responses[0].headers
        endpoint2, _, _ = make_endpoint()
        flow2 = RecordingFlow(reliable=True)
        establish(endpoint2, flow2, extra=())
        assert "Session-Expires" not in flow2.responses[0].headers
        clock.advance(100000)
        assert not dialog.terminated

    def test_too_small_session_expires_is_422(self) -> None:
        endpoint, _, _ = make_endpoint()
        flow = RecordingFlow(reliable=True)
        deliver(
            endpoint,
            flow,
            sip_request("INVITE", extra=(("Supported", "timer"), ("Session-Expires", "30"))),
        )
        response = flow.final_responses()[-1]
        assert response.status == 422 and response.headers.get("Min-SE") == "90"

    def test_end_and_close_send_bye(self) -> None:
        endpoint, app, _ = make_endpoint()
        flow = RecordingFlow(reliable=True)
        first, _ = establish(endpoint, flow, call_id="a")
        second, _ = establish(endpoint, flow, call_id="b")
        first.end()
        endpoint.close()
        byes = [r for r in flow.requests if r.method == "BYE"]
        assert sorted(r.call_id for r in byes) == ["a", "b"]
        assert [reason for _, reason in app.ended] == ["local", "shutdown"]
        results: list = []
        first.send_request("INFO", b"<x/>", CSTA).addCallback(results.append)
        assert isinstance(results[0], RequestTimeout) and results[0].reason == "dialog terminated"

    def test_connection_loss_ends_its_dialogs(self) -> None:
        endpoint, app, _ = make_endpoint()
        flow = RecordingFlow(reliable=True)
        other = RecordingFlow(reliable=True, peer=("192.0.2.11", 40000))
        dialog, _ = establish(endpoint, flow, call_id="a")
        kept, _ = establish(endpoint, other, call_id="b")
        flow.connected = False
        results: list = []
        dialog.send_request("INFO", b"<x/>", CSTA).addCallback(results.append)
        assert results[0].reason == "no transport"
        endpoint.flow_closed(flow)
        assert app.ended == [(dialog, "connection lost")]
        assert not kept.terminated


def test_handler_deferred_failure_does_not_harm_other_dialogs() -> None:
    endpoint, app, _ = make_endpoint()
    flow = RecordingFlow(reliable=True)
    first, tag_a = establish(endpoint, flow, call_id="a")
    second, tag_b = establish(endpoint, flow, call_id="b")
    app.deferred = True
    deliver(endpoint, flow, sip_request("INFO", call_id="a", to_tag=tag_a, cseq=2, body=b"<x/>"))
    deliver(endpoint, flow, sip_request("INFO", call_id="b", to_tag=tag_b, cseq=2, body=b"<y/>"))
    failing: Deferred = app.pending[0][1]
    failing.errback(RuntimeError("handler broke"))
    app.pending[1][1].callback(b"<ok/>")
    answers = {r.call_id: r.status for r in flow.final_responses() if r.cseq.method == "INFO"}
    assert answers == {"a": 500, "b": 200}
    assert not first.terminated and not second.terminated
