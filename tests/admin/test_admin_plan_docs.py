"""The command transcripts of docs/exchange-data.md ("Building your own exchange", on an
empty exchange) and docs/admin.md ("Your own exchange", on the demo) run as written against
a running server and print exactly what the documents show."""

from __future__ import annotations

import shlex
from pathlib import Path

from twisted.trial import unittest

from cstaserver.config import DataDirectory, empty_exchange_data
from tests.admin.admin_harness import Server, demo_data
from tests.config.test_config_reference import fenced

DOCS = Path(__file__).resolve().parents[2] / "docs"


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
    async def run_transcript(self, server: Server, document: str, heading: str) -> None:
        text = (DOCS / document).read_text(encoding="utf-8")
        steps = transcript(fenced(text, "", heading))
        assert len(steps) >= 5
        for words, expected in steps:
            status, out, err = await server.command(words[0], *words[1:])
            assert (out + err, status) == (expected, 2 if err else 0), words

    async def test_own_exchange(self) -> None:
        path = Path(self.mktemp())
        directory = DataDirectory(path)
        directory.create()
        directory.save(empty_exchange_data())
        server = Server(self, path)
        await self.run_transcript(server, "exchange-data.md", "## Building your own exchange")
        plan = server.runtime.exchange.plan
        assert len(plan.extensions) == 50 and plan.acd_groups[0].agent_ids == ("701", "702", "703")

    async def test_admin_guide(self) -> None:
        path = Path(self.mktemp())
        demo_data(path)
        server = Server(self, path)
        await self.run_transcript(server, "admin.md", "A session on the demo exchange")
        assert server.runtime.switch.device("1819").name == "Support"
