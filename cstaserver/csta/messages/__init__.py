"""Typed ECMA-323 messages, one module per ECMA-269 clause (see ``csta.schema``).

Importing this package registers every root element with ``schema.message_class``.
"""

from __future__ import annotations

from cstaserver.csta.messages.call_control import *  # noqa: F403
from cstaserver.csta.messages.capabilities import *  # noqa: F403
from cstaserver.csta.messages.common import *  # noqa: F403
from cstaserver.csta.messages.error_code import *  # noqa: F403
from cstaserver.csta.messages.events import *  # noqa: F403
from cstaserver.csta.messages.logical import *  # noqa: F403
from cstaserver.csta.messages.monitoring import *  # noqa: F403
from cstaserver.csta.messages.physical import *  # noqa: F403
from cstaserver.csta.messages.routeing import *  # noqa: F403
from cstaserver.csta.messages.sessions import *  # noqa: F403
from cstaserver.csta.messages.snapshot import *  # noqa: F403
from cstaserver.csta.messages.system import *  # noqa: F403
