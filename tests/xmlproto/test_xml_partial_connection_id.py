"""ConnectionIDs with only a callID or only a deviceID (ECMA-269 12.3.x lets either be left
out), as clients written for other exchanges send them: accepted wherever they name one
connection, refused with invalidConnectionIdentifier when several (or none) would fit."""

from __future__ import annotations

from twisted.trial import unittest

from tests.xmlproto.xml_client import MemoryClient, Req, brief, make_world, xml

BAD = "operation/invalidConnectionIdentifier"


def only_call(root: str, element: str, call_id: str, extra: str = "") -> str:
    return xml(root, f"<{element}><callID>{call_id}</callID></{element}>{extra}")


def only_device(root: str, element: str, device: str, extra: str = "") -> str:
    return xml(root, f"<{element}><deviceID>{device}</deviceID></{element}>{extra}")


class PartialConnectionIDs(unittest.TestCase):
    timeout = 10

    def setUp(self) -> None:
        self.world = make_world()
        self.client: MemoryClient = self.world.connect()

    def state(self, call_id: str) -> dict[str, str]:
        return {d: s.value for d, s in self.world.switch.snapshot_call(call_id)}

    async def test_answer_with_only_the_call_id_answers_the_one_alerting_connection(self) -> None:
        call = await self.client.make_call("1000", "1001")
        await self.client.ok(only_call("AnswerCall", "callToBeAnswered", call))
        assert self.state(call) == {"1000": "connected", "1001": "connected"}

    async def test_hold_with_only_the_device_id_holds_its_one_call(self) -> None:
        call = await self.client.make_call("1000", "1001")
        await self.client.ok(Req.answer(call, "1001"))
        await self.client.ok(only_device("HoldCall", "callToBeHeld", "1001"))
        assert self.state(call) == {"1000": "connected", "1001": "hold"}
        await self.client.ok(only_device("RetrieveCall", "callToBeRetrieved", "1001"))
        assert self.state(call) == {"1000": "connected", "1001": "connected"}

    async def test_clear_call_and_snapshot_call_with_only_the_device(self) -> None:
        call = await self.client.make_call("1000", "1001")
        snapshot = await self.client.ok(only_device("SnapshotCall", "snapshotObject", "1001"))
        assert len(snapshot.message.snapshot.snapshot_data) == 2
        await self.client.ok(only_device("ClearCall", "callToBeCleared", "1000"))
        assert call not in self.world.switch.calls

    async def test_only_the_call_id_of_a_call_connected_at_both_ends_is_ambiguous(self) -> None:
        call = await self.client.make_call("1000", "1001")
        await self.client.ok(Req.answer(call, "1001"))
        assert await self.client.error(only_call("HoldCall", "callToBeHeld", call)) == BAD
        assert (
            await self.client.error(only_call("ClearConnection", "connectionToBeCleared", call))
            == BAD
        )
        assert self.state(call) == {"1000": "connected", "1001": "connected"}

    async def test_only_the_device_of_a_device_with_two_calls_is_ambiguous(self) -> None:
        first = await self.client.make_call("1000", "1001")
        await self.client.ok(Req.answer(first, "1001"))
        await self.client.ok(Req.hold(first, "1000"))
        second = await self.client.make_call("1000", "1002")
        await self.client.ok(Req.answer(second, "1002"))
        # ClearConnection could mean either call: refused, nothing changes
        clear = only_device("ClearConnection", "connectionToBeCleared", "1000")
        assert await self.client.error(clear) == BAD
        assert self.state(first) == {"1000": "hold", "1001": "connected"}
        assert self.state(second) == {"1000": "connected", "1002": "connected"}
        # HoldCall acts only on a connected connection: the second call is the one
        await self.client.ok(only_device("HoldCall", "callToBeHeld", "1000"))
        assert self.state(second) == {"1000": "hold", "1002": "connected"}
        # now both are held: RetrieveCall could mean either
        retrieve = only_device("RetrieveCall", "callToBeRetrieved", "1000")
        assert await self.client.error(retrieve) == BAD

    async def test_unknown_call_or_device_or_neither(self) -> None:
        assert await self.client.error(only_call("AnswerCall", "callToBeAnswered", "999")) == BAD
        assert await self.client.error(only_device("AnswerCall", "callToBeAnswered", "1005")) == BAD
        assert await self.client.error(xml("AnswerCall", "<callToBeAnswered/>")) == BAD

    async def test_events_name_the_connection_in_full(self) -> None:
        """A client that wrote only the callID still sees complete ConnectionIDs."""
        xref = await self.client.monitor("1001")
        call = await self.client.make_call("1000", "1001")
        await self.client.drain()
        await self.client.ok(only_call("AnswerCall", "callToBeAnswered", call))
        (established,) = [
            e for e in await self.client.drain() if e.get("monitor_cross_ref_id") == xref
        ]
        assert brief(established) == ("EstablishedEvent", "connected", "newCall")
        assert established.get("established_connection") == (call, "1001")
