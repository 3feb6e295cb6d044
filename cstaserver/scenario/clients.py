"""Clients of a running cstaserver for test code, standard library only (beside the frame codec
of :mod:`cstaserver.xmlproto.framing`): what the pytest plugin hands a test and what
``csta-sim run`` plays a scenario with.

- :class:`ApiClient`: the JSON API at ``/api/v1`` on the web port (JSON, RFC 8259; HTTP
  Basic, RFC 7617, sent with every request, never waiting for a challenge). A 4xx or 5xx
  answer raises :class:`ApiError` with the API's ``{"error": {"code", "message"}}``.
- :class:`CstaConnection`: one connection to the CSTA XML port (ECMA-323 with the 8-byte
  header of its "CSTA XML without SOAP" annex): requests built from plain data
  (:func:`csta_xml`), answers matched on their invoke ID, every message kept in arrival
  order, and :meth:`CstaConnection.wait_for` an event (or a server request such as a
  RouteRequest) by name, monitor and field values within a time-out.

How :meth:`~CstaConnection.wait_for` picks a message: it looks at the messages after the one
the previous ``wait_for`` on the same monitor returned (each monitor has its own place, and
so do the messages of no monitor: ``monitor=None`` looks at every message from its own
place), takes the first of the name whose fields match, and reads more from the socket until
one comes or the time-out. Messages it passes over are not offered again to that monitor;
the events of one monitor come in the order the switch made them, so an ordered list of
expectations per monitor works whatever the other monitors receive in between.
"""

from __future__ import annotations

import base64
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape

import attrs

from cstaserver.xmlproto.framing import EVENT_INVOKE_ID, Deframer, FramingError, encode_frame

#: The ECMA-323 namespace requests are written in unless told otherwise (3rd edition).
ED3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
#: Requests with no positive response (ECMA-269 "always responds: false"): nothing comes back
#: unless the server refuses them (a CSTAErrorCode with their invoke ID).
ONE_WAY = frozenset({"RouteSelectRequest", "RouteEndRequest", "RouteReject"})
DEFAULT_TIMEOUT = 5.0
#: At most this many messages are described when a wait fails.
SHOWN = 12


# -- the JSON API -----------------------------------------------------------------------------


class ApiError(Exception):
    """A refusal of the JSON API: the HTTP ``status``, the error ``code`` and ``message``
    of its JSON body (``body``: the whole JSON answer, or the raw text if it was not JSON)."""

    def __init__(self, method: str, path: str, status: int, code: str, message: str, body: Any):
        super().__init__(f"{method} {path}: {status} {code}: {message}")
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.message = message
        self.body = body


class ApiUnreachable(ConnectionError):
    """The web port did not answer at all (refused, reset, timed out)."""


#: No proxy, whatever the environment says: the server is on this machine's loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@attrs.define
class ApiClient:
    """The JSON API of one server: ``get("/devices")``, ``post("/devices/1001/dial", {"to":
    "1002"})``. Paths are below ``/api/v1`` (a path that starts with ``/api/`` is taken
    whole); answers are the decoded JSON object."""

    base: str  # http://host:port
    user: str = "admin"
    password: str = ""  # no default: the admin password is the server's own
    timeout: float = 10.0

    def url(self, path: str) -> str:
        path = path if path.startswith("/") else "/" + path
        return self.base.rstrip("/") + (path if path.startswith("/api/") else "/api/v1" + path)

    def get(self, path: str, **query: str) -> Any:
        if query:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
        return self.call("GET", path)

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self.call("POST", path, dict(body or {}))

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One request; the JSON answer, or ApiError (4xx, 5xx) / ApiUnreachable."""
        status, answer = self.exchange(method, path, body)
        if status >= 400:
            error = answer.get("error") if isinstance(answer, dict) else None
            if isinstance(error, dict):
                code, message = str(error.get("code", "")), str(error.get("message", ""))
            else:
                code, message = "http_error", str(answer)[:200]
            raise ApiError(method, path, status, code, message, answer)
        return answer

    def exchange(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> tuple[int, Any]:
        """One request: the HTTP status and the answer (decoded JSON, else its text), raising
        only ApiUnreachable."""
        data = json.dumps(body).encode("utf-8") if body is not None else None
        credentials = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request = urllib.request.Request(self.url(path), data=data, method=method)
        request.add_header("Authorization", f"Basic {credentials}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return response.status, _decode(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, _decode(error.read())
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ApiUnreachable(f"{method} {self.url(path)}: {reason}") from None


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return raw.decode("utf-8", "replace")


# -- CSTA XML messages ------------------------------------------------------------------------


def csta_xml(name: str, body: Any = None, namespace: str = ED3) -> bytes:
    """The XML document of request ``name`` (UTF-8). ``body``: None (an empty request), a
    string (the XML inside the root element, as is), or a mapping of element names to values
    in document order: a string, number or boolean is the element's text (``true``/``false``),
    a mapping nests, a list repeats the element, None or ``""`` is an empty element
    (``{"lastRedirectionDevice": {"notKnown": None}}``). A ``name`` starting with ``<`` is a
    whole document and is sent as given."""
    if name.lstrip().startswith("<"):
        return name.encode("utf-8")
    inner = body if isinstance(body, str) else _elements(body or {})
    ns = f' xmlns="{escape(namespace, {chr(34): "&quot;"})}"' if namespace else ""
    return f"<{name}{ns}>{inner}</{name}>".encode()


def _elements(values: Mapping[str, Any]) -> str:
    parts = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None or item == "":
                parts.append(f"<{key}/>")
            elif isinstance(item, Mapping):
                parts.append(f"<{key}>{_elements(item)}</{key}>")
            else:
                parts.append(f"<{key}>{escape(_text(item))}</{key}>")
    return "".join(parts)


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def element_text(element: ET.Element) -> str:
    """A field's value as a test compares it: its text, all of it (``<callingDevice>
    <deviceIdentifier>+4685550107</deviceIdentifier></callingDevice>`` is ``+4685550107``),
    stripped; an element with no text but children is its first child's name
    (``<lastRedirectionDevice><notKnown/></lastRedirectionDevice>`` is ``notKnown``)."""
    text = "".join(element.itertext()).strip()
    if not text and len(element):
        return _local(element[0].tag)
    return text


class MissingField(KeyError):
    """A message has no such field (a KeyError whose text is read as it is)."""

    def __str__(self) -> str:
        return str(self.args[0])


@attrs.frozen
class Message:
    """One message from the server: its invoke ID (``9999`` for events), the raw body and
    the parsed document. ``message["callingDevice"]``, ``message.get("connection/callID")``:
    a field by its path of local names (``/`` or ``.`` between them; found from the root, else
    anywhere in the document) as :func:`element_text` gives it."""

    invoke_id: str
    body: bytes = attrs.field(repr=False)
    element: ET.Element = attrs.field(repr=False, eq=False)

    @classmethod
    def parse(cls, invoke_id: str, body: bytes) -> Message:
        return cls(invoke_id, body, ET.fromstring(body))

    @property
    def name(self) -> str:
        """The root element's local name: ``DeliveredEvent``, ``MakeCallResponse``."""
        return _local(self.element.tag)

    @property
    def xml(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def monitor(self) -> str | None:
        """The event's ``monitorCrossRefID``, None for a message of no monitor."""
        return self.get("monitorCrossRefID")

    def find(self, path: str) -> ET.Element | None:
        steps = [s for s in path.replace(".", "/").split("/") if s]
        if not steps:
            return None
        relative = "/".join("{*}" + step for step in steps)
        found = self.element.find(relative)
        return found if found is not None else self.element.find(".//" + relative)

    def get(self, path: str, default: str | None = None) -> str | None:
        found = self.find(path)
        return element_text(found) if found is not None else default

    def __getitem__(self, path: str) -> str:
        value = self.get(path)
        if value is None:
            raise MissingField(f"{self.name} has no {path!r}: {self.xml}")
        return value

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.find(path) is not None

    def fields(self) -> dict[str, str]:
        """Every leaf of the document by its path (``connection/callID``), for reports."""
        found: dict[str, str] = {}

        def walk(element: ET.Element, prefix: str) -> None:
            for child in element:
                path = f"{prefix}/{_local(child.tag)}" if prefix else _local(child.tag)
                if len(child) and (child.text or "").strip() == "":
                    walk(child, path)
                else:
                    found.setdefault(path, element_text(child))

        walk(self.element, "")
        return found

    def mismatches(self, match: Mapping[str, str]) -> list[str]:
        """What in ``match`` (path: expected text; ``*``: present with any value) this
        message does not have, one phrase each; empty when it matches."""
        wrong = []
        for path, expected in match.items():
            actual = self.get(path)
            if actual is None:
                wrong.append(f"no {path} (expected {expected!r})")
            elif expected != "*" and actual != expected:
                wrong.append(f"{path} = {actual!r} (expected {expected!r})")
        return wrong

    def error(self) -> str | None:
        """For a CSTAErrorCode, ``category/value`` (``operation/invalidCalledDevice``)."""
        if self.name != "CSTAErrorCode" or not len(self.element):
            return None
        return f"{_local(self.element[0].tag)}/{element_text(self.element[0])}"

    def summary(self) -> str:
        where = f" (monitor {self.monitor})" if self.monitor is not None else ""
        return f"{self.name}{where}"


class CstaRefused(Exception):
    """The server answered a request with a CSTAErrorCode."""

    def __init__(self, request: str, answer: Message) -> None:
        super().__init__(f"{request} refused: {answer.error()}")
        self.request = request
        self.answer = answer


class CstaTimeout(TimeoutError):
    """What was waited for did not come in time: ``expected`` says what it was, ``came``
    what came instead."""

    def __init__(self, expected: str, came: str) -> None:
        super().__init__(f"no {expected}; came: {came}")
        self.expected = expected
        self.came = came


def describe_miss(
    wanted: str, match: Mapping[str, str], monitor: str | None, seen: Iterable[Message]
) -> str:
    """What came instead of the message waited for: those of its name first, with the
    fields that differ, then the others by name."""
    seen = list(seen)
    same = [m for m in seen if m.name == wanted and (monitor is None or m.monitor == monitor)]
    parts = [f"{m.summary()}: " + "; ".join(m.mismatches(match)) for m in same[:SHOWN]]
    others = [m for m in seen if m not in same]
    if others:
        names = ", ".join(m.summary() for m in others[:SHOWN])
        more = f" and {len(others) - SHOWN} more" if len(others) > SHOWN else ""
        parts.append(names + more)
    return " | ".join(parts) if parts else "nothing"


def describe_wanted(name: str, match: Mapping[str, str], monitor: str | None) -> str:
    where = f" on monitor {monitor}" if monitor is not None else ""
    fields = ", ".join(f"{path} = {value!r}" for path, value in match.items())
    return f"{name}{where}" + (f" with {fields}" if fields else "")


class CstaConnection:
    """One connection to the CSTA XML port (see the module docstring). ``timeout``: the
    default of every wait. The server's own requests that need an answer (SystemStatus) are
    answered as they are read."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        namespace: str = ED3,
        connect_timeout: float = 5.0,
        sock: socket.socket | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.timeout = timeout
        self.namespace = namespace
        #: ``sock``: a connected socket to use instead of connecting to host and port.
        self.sock = sock or socket.create_connection((host, port), timeout=connect_timeout)
        self.messages: list[Message] = []  # everything received, in order
        self.sent: dict[str, str] = {}  # invoke ID: request name
        self._deframer = Deframer()
        self._pending: list[Message] = []  # read from the socket, not yet in ``messages``
        self._count = 0
        self._places: dict[str | None, int] = {}  # monitor: index after its last wait_for
        self._refusals_told: set[int] = set()  # one-way refusals raised already (by index)
        self.closed = False

    # -- sending -------------------------------------------------------------------------------
    def send(self, name: str, body: Any = None) -> str:
        """Send a request (:func:`csta_xml`); its invoke ID (``0001`` ... ``9998``)."""
        self._count = self._count % 9998 + 1
        invoke_id = f"{self._count:04d}"
        document = csta_xml(name, body, self.namespace)
        self.sock.settimeout(self.timeout)
        self.sock.sendall(encode_frame(invoke_id, document))
        self.sent[invoke_id] = _local(ET.fromstring(document).tag)
        return invoke_id

    def request(
        self, name: str, body: Any = None, *, timeout: float | None = None, check: bool = True
    ) -> Message:
        """Send a request and return its answer (the message with its invoke ID); a
        CSTAErrorCode raises CstaRefused unless ``check`` is false."""
        invoke_id = self.send(name, body)
        answer = self.answer(invoke_id, timeout)
        if check and answer.name == "CSTAErrorCode":
            raise CstaRefused(self.sent[invoke_id], answer)
        return answer

    def answer(self, invoke_id: str, timeout: float | None = None) -> Message:
        """The answer to the request sent with ``invoke_id``, read for up to ``timeout``."""
        start = len(self.messages)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        scanned = start
        while True:
            for index in range(scanned, len(self.messages)):
                if self.messages[index].invoke_id == invoke_id:
                    return self.messages[index]
            scanned = len(self.messages)
            if time.monotonic() >= deadline or not self._read(deadline):
                name = self.sent.get(invoke_id, invoke_id)
                raise CstaTimeout(
                    f"answer to {name} ({invoke_id}) within {self._seconds(timeout)} s",
                    describe_miss("", {}, None, self.messages[start:]),
                )

    def monitor(self, device: str, *, timeout: float | None = None) -> str:
        """MonitorStart on ``device``: its ``monitorCrossRefID``."""
        body = {"monitorObject": {"deviceObject": device}}
        return self.request("MonitorStart", body, timeout=timeout)["monitorCrossRefID"]

    # -- waiting ---------------------------------------------------------------------------------
    def wait_for(
        self,
        name: str,
        *,
        monitor: str | None = None,
        match: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Message:
        """The next message ``name`` (on ``monitor``, with the fields of ``match``) after the
        place of the previous wait on that monitor; CstaTimeout (saying what came) if none
        comes within ``timeout``, CstaRefused if a one-way request of ours is refused."""
        wanted = {str(k): _text(v) for k, v in (match or {}).items()}
        start = self._places.get(monitor, 0)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        scanned = start
        while True:
            for index in range(scanned, len(self.messages)):
                message = self.messages[index]
                refused = self._refused_one_way(message)
                if refused is not None and index not in self._refusals_told:
                    self._refusals_told.add(index)
                    raise refused
                if monitor is not None and message.monitor != monitor:
                    continue
                if message.name == name and not message.mismatches(wanted):
                    self._places[monitor] = index + 1
                    return message
            scanned = len(self.messages)
            if time.monotonic() >= deadline or not self._read(deadline):
                seen = [
                    m
                    for m in self.messages[start:]
                    if monitor in (None, m.monitor) and m.invoke_id not in self.sent
                ]
                raise CstaTimeout(
                    f"{describe_wanted(name, wanted, monitor)} within {self._seconds(timeout)} s",
                    describe_miss(name, wanted, monitor, seen),
                )

    def _refused_one_way(self, message: Message) -> CstaRefused | None:
        request = self.sent.get(message.invoke_id)
        if message.name == "CSTAErrorCode" and request in ONE_WAY:
            return CstaRefused(request, message)
        return None

    def _seconds(self, timeout: float | None) -> str:
        return f"{self.timeout if timeout is None else timeout:g}"

    # -- reading ---------------------------------------------------------------------------------
    def _read(self, deadline: float) -> bool:
        """Read until at least one more message is in ``messages`` or ``deadline`` passes
        (one try at least, so what has come is read even then); False when none came in
        time. ConnectionError when the server closed the connection."""
        tried = False
        while not self._pending:
            left = deadline - time.monotonic()
            if left <= 0 and tried:
                return False
            tried = True
            self.sock.settimeout(max(left, 0.001))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return False
            if not data:
                self.closed = True
                raise ConnectionError(f"{self.host}:{self.port}: the server closed the connection")
            try:
                frames = self._deframer.feed(data)
            except FramingError as error:
                raise ConnectionError(f"{self.host}:{self.port}: {error}") from None
            for frame in frames:
                try:
                    message = Message.parse(frame.invoke_id, frame.body)
                except ET.ParseError as error:
                    where = f"{self.host}:{self.port}"
                    raise ConnectionError(f"{where}: a message that is not XML: {error}") from None
                self._pending.append(message)
                if message.name == "SystemStatus" and frame.invoke_id != EVENT_INVOKE_ID:
                    response = csta_xml("SystemStatusResponse", None, self.namespace)
                    self.sock.sendall(encode_frame(frame.invoke_id, response))
        self.messages.extend(self._pending)
        self._pending.clear()
        return True

    def read_all(self, seconds: float = 0.0) -> list[Message]:
        """Read whatever comes within ``seconds``; the messages that came."""
        start = len(self.messages)
        deadline = time.monotonic() + seconds
        while self._read(deadline) and time.monotonic() < deadline:
            pass
        return self.messages[start:]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.sock.close()

    def __enter__(self) -> CstaConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
