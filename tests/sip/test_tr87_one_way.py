"""A request without a positive response (ECMA-269 "always responds: false", such as
RouteSelect) answered over TR/87: the SIP INFO gets its 200 OK without a body; any other
answer is a 200 OK carrying the CSTA message."""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from cstaserver.sip.tr87 import CSTA_XML, DialogTransport


def answered(data: bytes) -> object:
    transport = DialogTransport(object(), Clock())
    answer: Deferred = Deferred()
    transport.write_message(data, answer)
    results: list[object] = []
    answer.addCallback(results.append)
    (result,) = results
    return result


def test_no_positive_response_is_a_bare_200() -> None:
    answer = answered(b"")
    assert (answer.status, answer.body, answer.content_type) == (200, b"", None)


def test_a_response_travels_in_the_200() -> None:
    answer = answered(b"<MakeCallResponse/>")
    assert (answer.status, answer.body, answer.content_type) == (
        200,
        b"<MakeCallResponse/>",
        CSTA_XML,
    )
