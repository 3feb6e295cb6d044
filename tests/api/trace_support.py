"""Stand-ins for what :class:`cstaserver.api.trace.WireRecorder` reads of an association
(its id, peer, profile name and server id, and whether it has closed), shared by the wire
trace's arena and memory tests."""

from __future__ import annotations

import attrs


@attrs.define(eq=False)
class Profile:
    name: str = "xml"
    server_id: str = ""


@attrs.define(eq=False)
class Association:
    """What the recorder reads of an association."""

    id: int
    peer: str = "127.0.0.1:4000"
    profile: Profile = attrs.Factory(Profile)
    closed: bool = False
