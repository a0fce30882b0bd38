"""The package layering: no module imports one of a higher layer, and packages of one layer
do not import each other in a cycle. Imports inside functions count too.

Layers, lowest first (DESIGN.md's table): the exception tree and settings; engines (the one
contract, and values such as ModelSpec); the store; the domain packages; the admin service
(one write path for every front end); the shared-state adapters (Redis beside the pure
cores); the services that wire them; the HTTP and dashboard
front ends; the app factory and the command line. A module that imports click defines
commands: it belongs to the command-line layer wherever it lives.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import aicommons

SOURCE = Path(aicommons.__file__).parent
LAYERS: list[set[str]] = [
    {"aicommons", "errors", "config"},
    {"engines"},
    {"store"},
    {"gateway", "governance", "ledger", "openness", "energy", "evaluation"},
    {"admin"},
    {"shared"},
    {"services"},
    {"api", "web"},
    {"app", "cli", "cli_support", "testing", "commands"},
]
# Known upward imports, each with the fix it waits for. Remove an entry once fixed: the test
# then keeps it fixed.
KNOWN: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def command_modules() -> frozenset[str]:
    """Modules that define click commands."""
    found = set()
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            plain = isinstance(node, ast.Import) and any(a.name == "click" for a in node.names)
            if plain or (isinstance(node, ast.ImportFrom) and node.module == "click"):
                found.add(module_name(path))
    return frozenset(found)


def unit_of(module: str) -> str:
    """The layering unit of a module: its package, or "commands" for CLI modules."""
    if module in command_modules():
        return "commands"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "aicommons"


def layer_of(unit: str) -> int:
    for index, units in enumerate(LAYERS):
        if unit in units:
            return index
    raise AssertionError(f"package {unit!r} has no layer; add it to LAYERS")


def imports_of(path: Path) -> Iterator[str]:
    """Every aicommons module ``path`` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.startswith("aicommons.") and _exists(name):
                yield name


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (SOURCE / relative).with_suffix(".py").is_file() or (SOURCE / relative).is_dir()


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        graph[module_name(path)] = set(imports_of(path))
    return graph


def test_every_package_has_a_layer() -> None:
    for module in import_graph():
        layer_of(unit_of(module))


def test_no_module_imports_from_a_higher_layer() -> None:
    upward = []
    for module, imported in import_graph().items():
        here = layer_of(unit_of(module))
        for target in imported:
            if layer_of(unit_of(target)) > here and (module, target) not in KNOWN:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports from a higher layer:\n" + "\n".join(sorted(upward))


def test_known_exceptions_are_still_needed() -> None:
    graph = import_graph()
    stale = [f"{a} -> {b}" for a, b in KNOWN if b not in graph.get(a, set())]
    assert not stale, f"fixed: remove from KNOWN: {stale}"


def test_engines_and_store_stand_alone() -> None:
    """engines imports only the exception tree; store only that, settings and engine values."""
    allowed = {"engines": {"errors", "engines"}, "store": {"errors", "config", "engines", "store"}}
    found = []
    for module, imported in import_graph().items():
        unit = unit_of(module)
        if unit not in allowed:
            continue
        for target in imported:
            if unit_of(target) not in allowed[unit] and (module, target) not in KNOWN:
                found.append(f"{module} -> {target}")
    assert not found, "\n".join(sorted(found))


def test_no_cycles_between_packages() -> None:
    edges: dict[str, set[str]] = {}
    for module, imported in import_graph().items():
        source = unit_of(module)
        for target in imported:
            destination = unit_of(target)
            if destination != source and (module, target) not in KNOWN:
                edges.setdefault(source, set()).add(destination)
    cycles = [
        f"{a} <-> {b}" for a, targets in edges.items() for b in targets if a in edges.get(b, ())
    ]
    assert not cycles, f"package cycles: {sorted(cycles)}"
