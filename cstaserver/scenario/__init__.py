"""Driving a running cstaserver from test code: clients of its JSON API and CSTA XML port
(:mod:`~cstaserver.scenario.clients`), scenario files in TOML
(:mod:`~cstaserver.scenario.format`), playing them (:mod:`~cstaserver.scenario.runner`) and
``csta-sim run`` (:mod:`~cstaserver.scenario.cli`). docs/testing-your-application.md is the
guide; the pytest plugin (:mod:`cstaserver.pytest_plugin`) starts servers for them.

Standard library only, beside the project's frame codec and attrs: it talks to the server
over sockets like any CTI application and imports nothing of the server's.
"""

from cstaserver.scenario.clients import (
    ApiClient,
    ApiError,
    ApiUnreachable,
    CstaConnection,
    CstaRefused,
    CstaTimeout,
    Message,
    csta_xml,
)
from cstaserver.scenario.format import Scenario, ScenarioError, load_scenario, parse_scenario
from cstaserver.scenario.runner import ScenarioResult, Target, play

__all__ = [
    "ApiClient",
    "ApiError",
    "ApiUnreachable",
    "CstaConnection",
    "CstaRefused",
    "CstaTimeout",
    "Message",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "Target",
    "csta_xml",
    "load_scenario",
    "parse_scenario",
    "play",
]
