"""What both bus implementations share: the request and answer envelopes (JSON text), the
table of requests waiting for their answer, and running a handler into an answer."""

from __future__ import annotations

import json
import uuid
from typing import Any

import attrs
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime

from cstaserver.bus.interfaces import BusError, BusTimeout, Handler, RemoteFailure, Reply


def reply_channel(node_id: str) -> str:
    return f"csta:reply:{node_id}"


def new_node_id(role: str) -> str:
    return f"{role}-{uuid.uuid4().hex[:12]}"


@attrs.frozen
class RequestEnvelope:
    """A request on its way: who waits for it (``reply_to``), until when (``deadline``, in
    seconds since the epoch: the serving process drops it after that, unanswered)."""

    request_id: str
    reply_to: str
    deadline: float
    body: str

    def encode(self) -> str:
        return json.dumps(attrs.asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> RequestEnvelope:
        fields = json.loads(text)
        return cls(
            str(fields["request_id"]),
            str(fields["reply_to"]),
            float(fields["deadline"]),
            str(fields["body"]),
        )


def answer_text(
    request_id: str, *, body: str | None = None, error: tuple[str, str] | None = None
) -> str:
    answer: dict[str, Any] = {"answer": request_id}
    if error is None:
        answer["body"] = body
    else:
        answer["error"] = list(error)
    return json.dumps(answer, separators=(",", ":"))


async def run_handler(handler: Handler, envelope: RequestEnvelope) -> tuple[str, tuple]:
    """The answer to publish (text) and the follow-up events, whatever the handler does."""
    try:
        result = await defer.maybeDeferred(handler, envelope.body)
    except Exception as error:  # answered, never raised into the serving loop
        return answer_text(envelope.request_id, error=(type(error).__name__, str(error))), ()
    if isinstance(result, Reply):
        return answer_text(envelope.request_id, body=result.body), result.then
    return answer_text(envelope.request_id, body=str(result)), ()


class PendingRequests:
    """Requests of this process waiting for their answer, each with its time-out."""

    def __init__(self, clock: IReactorTime) -> None:
        self.clock = clock
        self._waiting: dict[str, tuple[defer.Deferred, Any]] = {}
        self._ids = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, service: str, timeout: float) -> tuple[str, defer.Deferred]:
        self._ids += 1
        request_id = f"{self._ids:x}"
        waiting: defer.Deferred = defer.Deferred()
        timer = self.clock.callLater(timeout, self._expire, request_id, service, timeout)
        self._waiting[request_id] = (waiting, timer)
        return request_id, waiting

    def _expire(self, request_id: str, service: str, timeout: float) -> None:
        waiting, _ = self._waiting.pop(request_id, (None, None))
        if waiting is not None:
            waiting.errback(BusTimeout(f"no answer from {service} within {timeout:g} s"))

    def answered(self, text: str) -> bool:
        """Fire the request an answer (as published on the reply channel) is for; False for
        something that is not an answer of ours (a late one, after its time-out)."""
        try:
            answer = json.loads(text)
            request_id = str(answer["answer"])
        except (ValueError, KeyError, TypeError):
            return False
        waiting, timer = self._waiting.pop(request_id, (None, None))
        if waiting is None:
            return False
        timer.cancel()
        if "error" in answer:
            kind, message = answer["error"]
            waiting.errback(RemoteFailure(str(kind), str(message)))
        else:
            waiting.callback(str(answer["body"]))
        return True

    def fail(self, request_id: str, error: BusError) -> None:
        waiting, timer = self._waiting.pop(request_id, (None, None))
        if waiting is not None:
            timer.cancel()
            waiting.errback(error)

    def fail_all(self, error: BusError) -> None:
        for request_id in list(self._waiting):
            self.fail(request_id, error)
