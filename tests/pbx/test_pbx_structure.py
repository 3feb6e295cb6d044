"""How the switching model is put together: Switch is a facade that holds the call-processing
core, each feature gets a narrow seam of it, and the pbx modules import each other without a
cycle, at module level only, and nothing of cstaserver outside pbx."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from zope.interface.verify import verifyObject

import cstaserver.pbx
from cstaserver.pbx.core import CallProcessing, NotWired
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.interfaces import ICallDistribution, ICallSteps, ISwitch, ITrunkSteps
from cstaserver.pbx.states import EventCause

PBX = Path(cstaserver.pbx.__file__).parent


def _imports(path: Path) -> tuple[set[str], list[str]]:
    """(cstaserver modules imported at module level, imports found inside a def or class)."""
    tree = ast.parse(path.read_text(), str(path))
    top: set[str] = set()
    nested: list[str] = []

    def names(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.ImportFrom):  # the module, and its names that are modules
            module = node.module or ""
            return [module, *(f"{module}.{alias.name}" for alias in node.names)]
        return [alias.name for alias in node.names]

    def visit(node: ast.AST, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                if inside:
                    nested.extend(f"{path.name}:{child.lineno} {n}" for n in names(child))
                else:
                    top.update(n for n in names(child) if n.startswith("cstaserver"))
            scoped = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            visit(child, inside or scoped)

    visit(tree, False)
    return top, nested


def _graph() -> dict[str, set[str]]:
    return {f"cstaserver.pbx.{p.stem}": _imports(p)[0] for p in sorted(PBX.glob("*.py"))}


def test_pbx_imports_only_pbx_at_module_level() -> None:
    nested = [line for path in sorted(PBX.glob("*.py")) for line in _imports(path)[1]]
    assert nested == []
    outside = {
        (module, imported)
        for module, imports in _graph().items()
        for imported in imports
        if not imported.startswith("cstaserver.pbx")
    }
    assert outside == set()
    assert not [p.name for p in PBX.glob("*.py") if "TYPE_CHECKING" in p.read_text()]


def test_pbx_module_dependencies_are_acyclic() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            raise AssertionError(" -> ".join((*path[path.index(module) :], module)))
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            if imported in graph:
                visit(imported, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())
    # the features do not know the core class, only its seams
    for feature in ("routing", "groups", "network"):
        assert "cstaserver.pbx.core" not in graph[f"cstaserver.pbx.{feature}"], feature
        assert "cstaserver.pbx.switch" not in graph[f"cstaserver.pbx.{feature}"], feature


def test_switch_holds_the_core_and_its_features_get_seams(switch) -> None:
    assert verifyObject(ISwitch, switch)
    assert not isinstance(switch, CallProcessing)
    assert verifyObject(ITrunkSteps, switch.core)
    assert verifyObject(ICallDistribution, switch.groups)
    assert switch.router.steps is switch.core and ICallSteps.providedBy(switch.router.steps)
    assert switch.groups.steps is switch.core and switch.network.steps is switch.core
    assert switch.calls is switch.core.calls and switch.plan is switch.core.plan


def test_an_unwired_core_says_so(clock) -> None:
    core = CallProcessing(demo_plan(), clock)
    call = core.off_hook("1000", EventCause.NEW_CALL)  # needs no feature
    with pytest.raises(NotWired):
        core.originate(call, "1000", "1001")  # needs routing
