"""The bus between front ends and exchange processes (docs/cluster.md): :class:`IBus`, its
in-process implementation (the default) and the Redis one."""

from cstaserver.bus.interfaces import BusError, BusTimeout, IBus, RemoteFailure, Reply
from cstaserver.bus.local import LocalBroker, LocalBus

__all__ = ["BusError", "BusTimeout", "IBus", "LocalBroker", "LocalBus", "RemoteFailure", "Reply"]
