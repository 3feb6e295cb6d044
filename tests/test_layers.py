"""The layer rules of docs/architecture.md, checked over the source: who may import whom, and
no import cycle between modules of different packages. Imports inside functions count too."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "cstaserver"
TRANSPORTS = ("xmlproto", "sip", "soap", "web")
#: Besides csta and config: the web port's shared HTTP layer (``web``: the login gate) is
#: below the SOAP service that runs on it.
TRANSPORT_EXTRAS = {"soap": {"web"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


MODULES = modules()


def resolve(name: str) -> str | None:
    """The project module an imported name lives in (a package, or a module of it)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str) -> Iterator[str]:
    """The project modules ``name`` imports, anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            found = resolve(target)
            if found is not None and found != name:
                yield found


GRAPH = {name: set(imports_of(name)) for name in MODULES}


def package_of(name: str) -> str:
    """``cstaserver.csta.codec`` -> ``csta``; a top-level module is its own package."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "cstaserver"


def test_the_graph_sees_the_imports() -> None:
    # a guard against a checker that finds nothing
    assert "cstaserver.csta.core" in GRAPH["cstaserver.csta.service"]
    assert "cstaserver.pbx.switch" in GRAPH["cstaserver.app.root"]
    assert len(MODULES) > 100


def test_pbx_imports_no_other_package() -> None:
    wrong = {
        (name, target)
        for name, targets in GRAPH.items()
        if package_of(name) == "pbx"
        for target in targets
        if package_of(target) != "pbx"
    }
    assert wrong == set()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_transports_import_only_csta_and_config(transport: str) -> None:
    allowed = {transport, "csta", "config", *TRANSPORT_EXTRAS.get(transport, ())}
    wrong = {
        (name, target)
        for name, targets in GRAPH.items()
        if package_of(name) == transport
        for target in targets
        if package_of(target) not in allowed
    }
    assert wrong == set()


def test_web_stays_below_the_soap_service() -> None:
    wrong = {
        (name, target)
        for name, targets in GRAPH.items()
        if package_of(name) == "web"
        for target in targets
        if package_of(target) == "soap"
    }
    assert wrong == set()


def test_the_api_imports_only_csta_config_pbx_and_web() -> None:
    allowed = {"api", "csta", "config", "pbx", "web"}
    wrong = {
        (name, target)
        for name, targets in GRAPH.items()
        if package_of(name) == "api"
        for target in targets
        if package_of(target) not in allowed
    }
    assert wrong == set()


def test_only_the_composition_layer_imports_the_api() -> None:
    wrong = {
        (name, target)
        for name, targets in GRAPH.items()
        if package_of(name) not in ("api", "app")
        for target in targets
        if package_of(target) == "api"
    }
    assert wrong == set()


def test_nothing_imports_the_composition_layer() -> None:
    wrong = {
        (name, target)
        for name, targets in GRAPH.items()
        if package_of(name) != "app"
        for target in targets
        if package_of(target) == "app"
    }
    assert wrong == set()


def test_the_bus_imports_nothing_else_and_only_the_composition_layer_and_cluster_use_it() -> None:
    wrong = {
        (name, target)
        for name, targets in GRAPH.items()
        for target in targets
        if (package_of(name) == "bus") != (package_of(target) == "bus")
        and not (package_of(name) in ("app", "cluster") and package_of(target) == "bus")
    }
    assert wrong == set()


def test_config_and_csta_stay_below_the_transports_and_admin() -> None:
    above = {*TRANSPORTS, "admin", "api", "app", "cluster"}
    wrong = {
        (name, target)
        for name, targets in GRAPH.items()
        if package_of(name) in ("config", "csta", "pbx")
        for target in targets
        if package_of(target) in above
    }
    assert wrong == set()


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert sorted(map(sorted, strongly_connected(graph))) == [["a", "b", "c"], ["d"]]


def test_no_import_cycle_joins_two_packages() -> None:
    mixed = [
        sorted(component)
        for component in strongly_connected(GRAPH)
        if len({package_of(name) for name in component}) > 1
    ]
    assert mixed == []
