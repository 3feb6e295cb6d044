"""``python -m cstaserver.scenario run FILE``: the same as ``csta-sim run FILE``."""

from cstaserver.scenario.cli import run

run()
