"""The command examples of docs/exchange-data.md ("Building your own exchange") run as
written against a running server with an empty exchange (``--no-demo``), and print exactly
what the document shows."""

from __future__ import annotations

import shlex
from pathlib import Path

from twisted.trial import unittest

from cstaserver.config import DataDirectory, empty_exchange_data
from tests.admin.admin_harness import Server
from tests.config.test_config_reference import DOCUMENT, fenced


def transcript(block: str) -> list[tuple[list[str], str]]:
    """(command words, expected output) for each ``$ `` line of a transcript block."""
    steps: list[tuple[list[str], str]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((shlex.split(line[2:]), ""))
        else:
            words, out = steps[-1]
            steps[-1] = (words, out + line + "\n")
    return steps


class DocTests(unittest.TestCase):
    async def test_own_exchange(self) -> None:
        path = Path(self.mktemp())
        directory = DataDirectory(path)
        directory.create()
        directory.save(empty_exchange_data())
        server = Server(self, path)
        text = DOCUMENT.read_text(encoding="utf-8")
        steps = transcript(fenced(text, "", "## Building your own exchange"))
        assert len(steps) >= 5
        for words, expected in steps:
            status, out, err = await server.command(words[0], *words[1:])
            assert (status, err, out) == (0, "", expected), words
        plan = server.runtime.exchange.plan
        assert len(plan.extensions) == 50 and plan.acd_groups[0].agent_ids == ("701", "702", "703")
