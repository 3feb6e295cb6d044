"""What an exchange process and its front ends say to each other over the bus
(``cstaserver.bus.IBus``; docs/cluster.md, "Requests" and "Events"): names of the service and
the channels, and the JSON text of each message.

- **The exchange's service** ``csta:exchange:<exchange>`` takes two kinds of request:
  a forwarded CSTA request (:class:`ForwardedRequest`: the ECMA-323 request, its namespace
  and what the client's association contributes to presenting devices) answered with a
  :class:`ForwardedAnswer` (the ECMA-323 response, or the ECMA-269 error value), and a
  look-up of the live switch (:class:`Lookup`: ``snapshot_device`` / ``snapshot_call``, what
  a front end needs before it starts a call-type monitor) answered with the rows or the
  switch's refusal.
- **Routeing** (ECMA-269 clause 20) lives with the switch: a front end's routeing requests
  name the client (``client``: the front end's channel, ``association``: the client's number
  there), so the exchange keeps one stand-in per client for its registrations and dialogues
  and sends it Route Request, Route Used and Route End on that channel
  (``csta:front:<exchange>:<node>``) as ``{"a": association, "m": message}``; a
  :class:`ClientGone` ends them when the client goes.
- **Events** go out on a channel per device (``csta:ev:<exchange>:d:<number>``) for every
  device an event names and a channel per call (``csta:ev:<exchange>:c:<call id>``) for every
  call, each as ``{"x": epoch, "n": sequence, "e": event}``: the sequence number (counting
  from 1 in each run ``epoch`` of the exchange process) lets a front end subscribed to several
  of an event's channels deliver it once.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from cstaserver.cluster.codec import (
    CodecError,
    decode_event,
    encode_event,
    from_json_value,
    to_json_value,
)


def service_name(exchange: str) -> str:
    return f"csta:exchange:{exchange}"


def device_channel(exchange: str, number: str) -> str:
    return f"csta:ev:{exchange}:d:{number}"


def call_channel(exchange: str, call_id: str) -> str:
    return f"csta:ev:{exchange}:c:{call_id}"


def front_channel(exchange: str, node_id: str) -> str:
    """Where the exchange sends a front end's clients their server-originated messages."""
    return f"csta:front:{exchange}:{node_id}"


def unsolicited_message(association: int, data: bytes) -> str:
    return _dumps({"a": association, "m": data.decode("utf-8")})


def read_unsolicited(text: str) -> tuple[int, bytes]:
    data = _loads(text)
    try:
        return int(data["a"]), str(data["m"]).encode("utf-8")
    except (KeyError, TypeError, ValueError) as error:
        raise CodecError(f"not a message for a client: {error}") from None


def event_channels(exchange: str, event: Any) -> list[str]:
    """The channels an event goes out on: its devices', then its calls'."""
    channels = [device_channel(exchange, number) for number in event.devices if number]
    channels += [call_channel(exchange, call_id) for call_id in event.call_ids if call_id]
    return channels


def channel_subject(exchange: str, channel: str) -> tuple[str, str] | None:
    """What an event channel of ``exchange`` is about, the reverse of
    :func:`device_channel` and :func:`call_channel`: ``("device", number)`` or
    ``("call", call_id)``; None for any other channel."""
    prefix = f"csta:ev:{exchange}:"
    if not channel.startswith(prefix):
        return None
    kind, _, key = channel[len(prefix) :].partition(":")
    if not key:
        return None
    if kind == "d":
        return "device", key
    if kind == "c":
        return "call", key
    return None


def event_message(epoch: str, sequence: int, event: object) -> str:
    """An event as it goes out (the event encoded once, whatever its channels)."""
    return f'{{"x":{json.dumps(epoch)},"n":{sequence},"e":{encode_event(event)}}}'


def read_event_header(text: str) -> tuple[str, int, Any]:
    """(epoch, sequence, the event's still encoded data) of an event message."""
    try:
        message = json.loads(text)
        return str(message["x"]), int(message["n"]), message["e"]
    except (ValueError, KeyError, TypeError) as error:
        raise CodecError(f"not an event message: {error}") from None


def _loads(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise CodecError(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise CodecError("not a JSON object")
    return data


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


@attrs.frozen
class ForwardedRequest:
    """A client's CSTA request, as a front end forwards it: ``body`` (ECMA-323 XML text) in
    ``namespace``; ``e164`` and ``echo`` (number -> the client's own string) are what the
    client's association contributes to presenting devices (``CstaCore.presenter_for``);
    ``peer`` and ``profile`` name the client in the exchange's log."""

    body: str
    namespace: str
    e164: bool = False
    echo: tuple[tuple[str, str], ...] = ()
    peer: str = ""
    profile: str = "xml"
    client: str = ""  # routeing: the front end's channel for this client's messages
    association: int = 0  # routeing: the client's association on its front end

    def encode(self) -> str:
        return _dumps({"op": "csta", **attrs.asdict(self)})

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ForwardedRequest:
        try:
            return cls(
                body=str(data["body"]),
                namespace=str(data["namespace"]),
                e164=bool(data.get("e164", False)),
                echo=tuple((str(n), str(t)) for n, t in data.get("echo", ())),
                peer=str(data.get("peer", "")),
                profile=str(data.get("profile", "xml")),
                client=str(data.get("client", "")),
                association=int(data.get("association", 0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CodecError(f"not a forwarded request: {error}") from None


@attrs.frozen
class ForwardedAnswer:
    """The exchange's answer: ``body`` (the ECMA-323 response, ``""`` for a request without
    a positive response) or ``error`` (an ``ErrorValue`` member's name) with ``message``;
    ``learned``: the device strings the handler remembered (echo rule) for the association."""

    body: str | None = None
    error: str | None = None
    message: str = ""
    learned: tuple[tuple[str, str], ...] = ()

    def encode(self) -> str:
        return _dumps(attrs.asdict(self))

    @classmethod
    def decode(cls, text: str) -> ForwardedAnswer:
        data = _loads(text)
        try:
            return cls(
                body=None if data.get("body") is None else str(data["body"]),
                error=None if data.get("error") is None else str(data["error"]),
                message=str(data.get("message", "")),
                learned=tuple((str(n), str(t)) for n, t in data.get("learned", ())),
            )
        except (TypeError, ValueError) as error:
            raise CodecError(f"not a forwarded answer: {error}") from None


@attrs.frozen
class Lookup:
    """A look-up of the live switch: ``op`` (``snapshot_device`` or ``snapshot_call``) of
    ``key`` (the device's number or the call's ID)."""

    op: str
    key: str

    OPS = ("snapshot_device", "snapshot_call")

    def encode(self) -> str:
        return _dumps({"op": self.op, "key": self.key})

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Lookup:
        op, key = data.get("op"), data.get("key")
        if op not in cls.OPS or not isinstance(key, str):
            raise CodecError(f"not a look-up: {op!r}")
        return cls(op, key)


def lookup_answer(rows: Any = None, refusal: Any = None, message: str = "") -> str:
    """A look-up's answer: the rows, or the switch's refusal (a ``Refusal``) and message."""
    if refusal is not None:
        return _dumps({"refusal": refusal.name, "message": message})
    return _dumps({"rows": to_json_value(rows)})


def read_lookup_answer(text: str) -> tuple[Any, str | None, str]:
    """(rows, refusal name or None, message) of a look-up's answer."""
    data = _loads(text)
    if "refusal" in data:
        return None, str(data["refusal"]), str(data.get("message", ""))
    if "rows" not in data:
        raise CodecError("not a look-up answer")
    return from_json_value(data["rows"]), None, ""


@attrs.frozen
class ClientGone:
    """A front end's client that made routeing requests is gone (its registrations end)."""

    client: str
    association: int

    def encode(self) -> str:
        return _dumps({"op": "gone", "client": self.client, "association": self.association})

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ClientGone:
        try:
            return cls(str(data["client"]), int(data["association"]))
        except (KeyError, TypeError, ValueError) as error:
            raise CodecError(f"not a client gone: {error}") from None


@attrs.frozen
class Interest:
    """A front end (``node``) starts (``on``) or stops listening to event ``channels``: the
    exchange publishes an event only on the channels some front end listens to."""

    node: str
    channels: tuple[str, ...]
    on: bool = True

    def encode(self) -> str:
        return _dumps(
            {"op": "interest", "node": self.node, "channels": list(self.channels), "on": self.on}
        )

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Interest:
        try:
            channels = data["channels"]
            if not isinstance(channels, list):
                raise TypeError("channels is not a list")
            return cls(str(data["node"]), tuple(str(c) for c in channels), bool(data["on"]))
        except (KeyError, TypeError, ValueError) as error:
            raise CodecError(f"not an interest: {error}") from None


def read_request(text: str) -> ForwardedRequest | Lookup | ClientGone | Interest:
    """What a front end asked the exchange."""
    data = _loads(text)
    if data.get("op") == "csta":
        return ForwardedRequest.from_data(data)
    if data.get("op") == "gone":
        return ClientGone.from_data(data)
    if data.get("op") == "interest":
        return Interest.from_data(data)
    return Lookup.from_data(data)


__all__ = [
    "ClientGone",
    "Interest",
    "ForwardedAnswer",
    "ForwardedRequest",
    "Lookup",
    "call_channel",
    "channel_subject",
    "decode_event",
    "device_channel",
    "event_channels",
    "event_message",
    "front_channel",
    "lookup_answer",
    "read_event_header",
    "read_lookup_answer",
    "read_request",
    "read_unsolicited",
    "service_name",
    "unsolicited_message",
]
