"""Events for SOAP clients: WS-Eventing style Subscribe/NotifyTo POSTs (ECMA-348 5th ed.
Annex A, Ecma TR/90) and the GetEvents long poll."""

from __future__ import annotations

import attrs
from lxml import etree
from twisted.internet import defer, reactor
from twisted.internet.task import Clock
from twisted.trial import unittest
from twisted.web.server import Site

from cstaserver.csta.grace import EXPIRY_GRACE
from cstaserver.csta.namespaces import APPL_SESSION, ED3
from cstaserver.soap.envelope import SOAP_NS
from cstaserver.soap.events import MAX_POLL_SECONDS, DeliveryPolicy, EventQueue
from tests.soap.soap_support import FakeAgent, LoopbackWeb, MemoryWeb, NotifyReceiver, soap11

S11 = "http://schemas.xmlsoap.org/soap/envelope/"


def body_names(envelope: bytes) -> list[str]:
    body = etree.fromstring(envelope).find(f"{{{S11}}}Body")
    response = body[0]
    if etree.QName(response).localname == "GetEventsResponse":
        return [etree.QName(e).localname for e in response]
    return [etree.QName(response).localname]


def monitor_start(number: str) -> str:
    return f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{number}</deviceObject></monitorObject></MonitorStart>'


def make_call(calling: str, called: str) -> str:
    return f'<MakeCall xmlns="{ED3}"><callingDevice>{calling}</callingDevice><calledDirectoryNumber>{called}</calledDirectoryNumber></MakeCall>'


def get_events(timeout: float, max_events: int | None = None) -> str:
    extra = f"<maxEvents>{max_events}</maxEvents>" if max_events else ""
    return f'<GetEvents xmlns="{SOAP_NS}"><timeout>{timeout}</timeout>{extra}</GetEvents>'


def session_header(session_id: str) -> str:
    return f'<cs:sessionID xmlns:cs="{SOAP_NS}">{session_id}</cs:sessionID>'


class EventQueueTests(unittest.TestCase):
    def test_waiter_gets_the_events_of_one_turn_together(self) -> None:
        clock = Clock()
        queue = EventQueue(clock)
        waiting = queue.wait(10, 100)
        queue.push(b"a")
        queue.push(b"b")
        self.assertNoResult(waiting)
        clock.advance(0)
        self.assertEqual(self.successResultOf(waiting), [b"a", b"b"])

    def test_timeout_is_capped_and_answers_empty(self) -> None:
        clock = Clock()
        queue = EventQueue(clock)
        waiting = queue.wait(10_000, 10)
        clock.advance(MAX_POLL_SECONDS)
        self.assertEqual(self.successResultOf(waiting), [])

    def test_bounded_oldest_dropped_and_max_events(self) -> None:
        queue = EventQueue(Clock(), limit=3)
        for item in (b"1", b"2", b"3", b"4"):
            queue.push(item)
        self.assertEqual(queue.dropped, 1)
        self.assertEqual(self.successResultOf(queue.wait(1, 2)), [b"2", b"3"])
        self.assertEqual(self.successResultOf(queue.wait(0, 10)), [b"4"])

    def test_cancelled_waiter_is_forgotten(self) -> None:
        clock = Clock()
        queue = EventQueue(clock)
        waiting = queue.wait(5, 10)
        waiting.cancel()
        self.failureResultOf(waiting, defer.CancelledError)
        queue.push(b"x")
        clock.advance(0)
        self.assertEqual(len(queue), 1)
        self.assertEqual(clock.getDelayedCalls(), [])


class LongPollTests(unittest.TestCase):
    """GetEvents on the site's clock (``MemoryWeb``): a poll waits until an event comes or
    its time-out passes on ``reactor``; sessions expire on the core's ``clock``."""

    def setUp(self) -> None:
        self.web = MemoryWeb()
        self.addCleanup(self.web.stop)

    def post(self, envelope: bytes) -> tuple[int, object, bytes]:
        """A request the site answers at once."""
        return self.successResultOf(self.web.post(envelope))

    def test_events_after_make_call(self) -> None:
        self.post(soap11(monitor_start("1000")))
        status, _h, data = self.post(soap11(make_call("1000", "1001")))
        self.assertEqual(status, 200)
        self.web.reactor.advance(0)  # the response's events are queued together
        status, _h, data = self.post(soap11(get_events(1)))
        self.assertEqual(status, 200)
        self.assertEqual(
            body_names(data), ["ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent"]
        )

    def test_waits_for_an_event(self) -> None:
        self.post(soap11(monitor_start("1005")))
        polling = self.web.post(soap11(get_events(10)))
        self.web.reactor.advance(9.9)
        self.assertNoResult(polling)
        from cstaserver.pbx.simulator import Simulator

        Simulator(self.web.switch).call("1006", "1005")
        self.web.reactor.advance(0)
        status, _h, data = self.successResultOf(polling)
        self.assertEqual(status, 200)
        self.assertEqual(body_names(data), ["DeliveredEvent"])

    def test_message_waiting_indicator_and_its_event(self) -> None:
        self.post(soap11(monitor_start("1001")))
        on = (
            f'<SetMessageWaitingIndicator xmlns="{ED3}"><device>1001</device>'
            "<messageWaitingOn>true</messageWaitingOn></SetMessageWaitingIndicator>"
        )
        status, _h, data = self.post(soap11(on))
        self.assertEqual((status, body_names(data)), (200, ["SetMessageWaitingIndicatorResponse"]))
        get = f'<GetMessageWaitingIndicator xmlns="{ED3}"><device>1001</device></GetMessageWaitingIndicator>'
        status, _h, data = self.post(soap11(get))
        self.assertIn(b"<messageWaitingOn>true</messageWaitingOn>", data)
        self.web.reactor.advance(0)
        status, _h, data = self.post(soap11(get_events(1)))
        self.assertEqual(body_names(data), ["MessageWaitingEvent"])

    def test_answer_a_waiting_second_call(self) -> None:
        from cstaserver.pbx.simulator import Simulator

        sim = Simulator(self.web.switch)
        self.post(soap11(monitor_start("1100")))  # a SIP extension: call waiting on
        sim.call("1000", "1100")
        sim.answer("1100")
        second = sim.call("1001", "1100")
        answer = (
            f'<AnswerCall xmlns="{ED3}"><callToBeAnswered><callID>{second}</callID>'
            "<deviceID>1100</deviceID></callToBeAnswered></AnswerCall>"
        )
        status, _h, data = self.post(soap11(answer))
        self.assertEqual((status, body_names(data)), (200, ["AnswerCallResponse"]))
        self.web.reactor.advance(0)
        status, _h, data = self.post(soap11(get_events(1)))
        self.assertEqual(
            body_names(data),
            [
                "DeliveredEvent",
                "EstablishedEvent",
                "DeliveredEvent",
                "HeldEvent",
                "EstablishedEvent",
            ],
        )
        self.assertIn(b"<cause>campOn</cause>", data)

    def test_times_out_empty(self) -> None:
        polling = self.web.post(soap11(get_events(0.2)))
        self.web.reactor.advance(0.19)
        self.assertNoResult(polling)
        self.web.reactor.advance(0.01)
        status, _h, data = self.successResultOf(polling)
        self.assertEqual(status, 200)
        self.assertEqual(body_names(data), [])

    def test_bad_timeout_is_a_client_fault(self) -> None:
        status, _h, data = self.post(soap11(get_events("soon")))  # type: ignore[arg-type]
        self.assertEqual(status, 500)
        self.assertIn(b"Client", data)

    def test_session_terminated_reaches_the_poll_and_ends_the_channel(self) -> None:
        start = f'<StartApplicationSession xmlns="{APPL_SESSION}"><applicationInfo><applicationID>demo</applicationID></applicationInfo><requestedSessionDuration>30</requestedSessionDuration></StartApplicationSession>'
        _s, _h, data = self.post(soap11(start))
        session_id = etree.fromstring(data).xpath("//*[local-name()='sessionID']")[-1].text
        header = session_header(session_id)
        self.post(soap11(monitor_start("1007"), header))
        polling = self.web.post(soap11(get_events(10), header))
        self.web.clock.advance(30)  # the session timer (core clock) falls due
        self.web.clock.advance(EXPIRY_GRACE)  # and expires a grace later
        self.web.reactor.advance(0)
        _s, _h, data = self.successResultOf(polling)
        self.assertEqual(body_names(data), ["ApplicationSessionTerminated"])
        self.web.reactor.advance(0)
        self.assertNotIn(session_id, self.web.site.channels.by_session)
        self.assertEqual(len(self.web.core.monitors), 0)


class SubscriptionTests(unittest.TestCase):
    def setUp(self) -> None:
        self.web = LoopbackWeb(
            reactor, policy=DeliveryPolicy(attempts=2, backoff=(0.01,), timeout=2, max_failures=2)
        )
        self.web.listen()
        self.addCleanup(lambda: self.web.stop())

    def receiver(self, status: int = 202) -> tuple[NotifyReceiver, str]:
        receiver = NotifyReceiver(status)
        port = reactor.listenTCP(0, Site(receiver), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        url = f"http://127.0.0.1:{port.getHost().port}/events"
        core = self.web.core  # the operator allows this receiver (csta_limits --notify-to-allow)
        allowed = (*core.limits.notify_to_allow, url)
        core.apply_limits(attrs.evolve(core.limits, notify_to_allow=allowed))
        return receiver, url

    async def subscribe(self, url: str, header: str = "") -> str:
        body = f'<Subscribe xmlns="{SOAP_NS}"><NotifyTo>{url}</NotifyTo></Subscribe>'
        status, _h, data = await self.web.post(soap11(body, header))
        self.assertEqual(status, 200, data)
        return etree.fromstring(data).xpath("//*[local-name()='subscriptionID']")[0].text

    async def test_events_are_posted_to_notify_to(self) -> None:
        receiver, url = self.receiver()
        subscription_id = await self.subscribe(url)
        await self.web.post(soap11(monitor_start("1000")))
        await self.web.post(soap11(make_call("1000", "1001")))
        bodies = await receiver.wait_for(3)
        names = [body_names(b)[0] for b in bodies]
        self.assertEqual(names, ["ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent"])
        header = etree.fromstring(bodies[0]).find(f"{{{S11}}}Header")
        self.assertEqual(header.find(f"{{{SOAP_NS}}}subscriptionID").text, subscription_id)
        # nothing left for the long poll: the subscription took them
        _s, _h, data = await self.web.post(soap11(get_events(0)))
        self.assertEqual(body_names(data), [])

    async def test_ws_eventing_delivery_form_and_unsubscribe(self) -> None:
        receiver, url = self.receiver()
        wse = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
        wsa = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
        body = (
            f'<Subscribe xmlns="{SOAP_NS}" xmlns:wse="{wse}" xmlns:wsa="{wsa}">'
            f"<wse:Delivery><wse:NotifyTo><wsa:Address>{url}</wsa:Address></wse:NotifyTo>"
            "</wse:Delivery></Subscribe>"
        )
        _s, _h, data = await self.web.post(soap11(body))
        subscription_id = etree.fromstring(data).xpath("//*[local-name()='subscriptionID']")[0].text
        unsubscribe = f'<Unsubscribe xmlns="{SOAP_NS}"><subscriptionID>{subscription_id}</subscriptionID></Unsubscribe>'
        status, _h, _d = await self.web.post(soap11(unsubscribe))
        self.assertEqual(status, 200)
        status, _h, _d = await self.web.post(soap11(unsubscribe))
        self.assertEqual(status, 500)  # no such subscription any more
        await self.web.post(soap11(monitor_start("1002")))
        await self.web.post(soap11(make_call("1002", "1003")))
        _s, _h, data = await self.web.post(soap11(get_events(1)))
        self.assertEqual(len(body_names(data)), 3)
        self.assertEqual(receiver.bodies, [])

    async def test_bad_notify_to_is_a_client_fault(self) -> None:
        for target in ("", "<NotifyTo>ftp://x/</NotifyTo>", "<NotifyTo>not a url</NotifyTo>"):
            body = f'<Subscribe xmlns="{SOAP_NS}">{target}</Subscribe>'
            status, _h, data = await self.web.post(soap11(body))
            self.assertEqual(status, 500)
            self.assertIn(b"NotifyTo", data)


class SubscriptionFailureTests(unittest.TestCase):
    """NotifyTo endpoints that fail, on the site's clock (``MemoryWeb`` and a ``FakeAgent``):
    each event is tried ``attempts`` times ``backoff`` apart; ``max_failures`` undeliverable
    events in a row end the subscription; requests are never held up."""

    policy = DeliveryPolicy(attempts=2, backoff=(0.5,), timeout=2, max_failures=2)

    def start(self, agent: FakeAgent) -> MemoryWeb:
        web = MemoryWeb(agent=agent, policy=self.policy)
        self.addCleanup(web.stop)
        return web

    def post(self, web: MemoryWeb, envelope: bytes) -> tuple[int, object, bytes]:
        return self.successResultOf(web.post(envelope))

    def subscribe(self, web: MemoryWeb, url: str) -> None:
        core = web.core  # the operator allows the URL (csta_limits --notify-to-allow)
        core.apply_limits(attrs.evolve(core.limits, notify_to_allow=(url,)))
        body = f'<Subscribe xmlns="{SOAP_NS}"><NotifyTo>{url}</NotifyTo></Subscribe>'
        status, _h, data = self.post(web, soap11(body))
        self.assertEqual(status, 200, data)

    def test_failing_endpoint_drops_the_subscription(self) -> None:
        agent = FakeAgent(status=500)
        web = self.start(agent)
        self.subscribe(web, "http://192.0.2.1/events")
        channel = web.site.channels.by_login["csta_user"]
        subscription = channel.subscription
        self.post(web, soap11(monitor_start("1004")))
        self.post(web, soap11(make_call("1004", "1005")))
        web.reactor.advance(0)
        self.assertEqual(len(agent.posts), 1)  # the retry waits for the back-off
        web.reactor.advance(0.5)
        self.assertEqual(len(agent.posts), 3)  # event 1 failed twice; event 2, first try
        self.assertIs(channel.subscription, subscription)
        web.reactor.advance(0.5)
        self.assertIsNone(channel.subscription)
        self.assertFalse(subscription.active)
        self.assertEqual(subscription.failed, 2)
        self.assertEqual(len(agent.posts), 4)  # 2 events x 2 attempts
        self.assertEqual({url for url, _body in agent.posts}, {b"http://192.0.2.1/events"})
        # later events wait for a long poll again; requests were never held up
        from cstaserver.pbx.simulator import Simulator

        Simulator(web.switch).answer("1005")
        web.reactor.advance(0)
        _s, _h, data = self.post(web, soap11(get_events(1)))
        self.assertIn("EstablishedEvent", body_names(data))

    def test_unreachable_endpoint_does_not_block_other_clients(self) -> None:
        agent = FakeAgent(error=ConnectionRefusedError("connection refused"))
        web = self.start(agent)
        self.subscribe(web, "http://192.0.2.1/gone")
        self.post(web, soap11(monitor_start("1006")))
        status, _h, data = self.post(web, soap11(make_call("1006", "1007")))
        self.assertEqual(status, 200)
        self.assertIn(b"MakeCallResponse", data)
        channel = web.site.channels.by_login["csta_user"]
        web.reactor.advance(0)
        self.assertIsNotNone(channel.subscription)
        web.reactor.advance(0.5)
        web.reactor.advance(0.5)
        self.assertIsNone(channel.subscription)
        self.assertEqual(len(agent.posts), 4)
