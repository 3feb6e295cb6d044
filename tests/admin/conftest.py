"""Fixtures of the admin tests: a demo data directory per test (copied from one made per
module)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cstaserver.config import DataDirectory
from tests.admin.admin_harness import demo_data


@pytest.fixture(scope="module")
def demo_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("demo")
    demo_data(path)
    return DataDirectory(path).exchange_file.read_bytes()


@pytest.fixture
def data(tmp_path: Path, demo_bytes: bytes) -> Path:
    path = tmp_path / "data"
    path.mkdir(mode=0o700)
    (path / "exchange.json").write_bytes(demo_bytes)
    return path
