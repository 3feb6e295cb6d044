"""The real redis-server of the bus and cluster tests (``cstaserver.cluster.broker``)."""

from cstaserver.cluster.broker import REDIS, WHY_MISSING, RedisServer, free_port

__all__ = ["REDIS", "WHY_MISSING", "RedisServer", "free_port"]
