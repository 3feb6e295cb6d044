"""The real redis-server of the bus and cluster tests (``cstaserver.cluster.broker``), and
:class:`WithRedis`, what a trial test case needs of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet import reactor, task
from twisted.trial import unittest

from cstaserver.bus.redis import RedisBus
from cstaserver.cluster.broker import REDIS, WHY_MISSING, RedisServer, free_port

__all__ = ["REDIS", "WAIT", "WHY_MISSING", "RedisServer", "WithRedis", "eventually", "free_port"]


class WithRedis:
    """Mixed into a trial ``TestCase``: :meth:`start_redis` starts a redis-server for the test
    (skipped when there is none), stopped by its PID at clean-up; :meth:`node` is a bus node
    on it, closed at clean-up."""

    redis: RedisServer

    def start_redis(self: Any) -> None:
        if REDIS is None:
            raise unittest.SkipTest(WHY_MISSING)
        self.redis = RedisServer(Path(self.mktemp()))
        self.redis.start()
        self.addCleanup(self.redis.stop)

    def node(self: Any, name: str) -> RedisBus:
        bus = RedisBus(reactor, "127.0.0.1", self.redis.port, node_id=name)
        self.addCleanup(bus.close)
        return bus


WAIT = 10.0  # seconds an eventual condition may take (bounded; far above what it needs)


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` holds, polling every 20 ms; AssertionError after WAIT s."""
    for _ in range(int(WAIT / 0.02)):
        if condition():
            return
        await task.deferLater(reactor, 0.02, lambda: None)
    raise AssertionError(f"not within {WAIT} s: {what}")
