"""The project's layers, read from its import statements (every ``import`` and ``from``,
those inside functions included) with the stdlib ``ast`` module:

- the procedure (``kiosk/procedure/``) is pure: no devices, no screens, no network, no
  database, nothing of the kiosk's shell;
- only the demo (``kiosk/demo/``) brings up the grant service in the kiosk's code;
- ``mynapoint/`` is shared by kiosk and service, so it imports neither; ``receipts/``
  (the slip) knows nothing of the kiosk or the service;
- no two modules of the project import each other, directly or around a circle.

Imports under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.support.paths import REPO

PACKAGES = ("kiosk", "mynapoint", "receipts", "grant_service", "provisioning")

# What the procedure may import: the standard library, itself, and the rules the kiosk
# and the service share. Anything else (a device, a screen, the network, the queue) is
# the shell's business: the procedure asks for it with a command.
PROCEDURE = "kiosk.procedure"
PROCEDURE_MAY_IMPORT = ("kiosk.procedure", "mynapoint")
# Never, not even through a module it imports: the toolkits, network, database and device
# libraries, and the kiosk's parts that use them.
NO_LIBRARIES = ("kivy", "httpx", "sqlalchemy", "smartcard", "nfc", "escpos")
NO_SHELL = ("kiosk.devices", "kiosk.shell", "kiosk.ui", "kiosk.link", "kiosk.offline_queue")
PROCEDURE_MUST_NOT_IMPORT = NO_LIBRARIES + NO_SHELL


@dataclass(frozen=True)
class Import:
    importer: str  # the importing module, "kiosk.shell.runner"
    name: str  # what it imports, absolute: "kiosk.technician.checks", "httpx.Client"
    path: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def module_of(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def statements(nodes: Iterable[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``nodes``, at any depth, but not the ones under
    ``if TYPE_CHECKING:`` (its ``else:`` runs, and is kept)."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and is_type_checking(node.test):
            yield from statements(node.orelse)
        else:
            yield from statements(ast.iter_child_nodes(node))


def imports_in(path: Path) -> Iterator[Import]:
    module = module_of(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in statements([ast.parse(path.read_text(), str(path))]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, path, node.lineno)
            continue
        base = node.module or ""
        if node.level:  # from . import x, from ..y import z
            base = importlib.util.resolve_name("." * node.level + base, package)
        for alias in node.names:  # "from a import b": b may be a module or a name in a
            yield Import(module, f"{base}.{alias.name}", path, node.lineno)


@cache
def project() -> tuple[frozenset[str], tuple[Import, ...]]:
    """The project's modules and all their imports."""
    paths = sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))
    modules = frozenset(module_of(path) for path in paths)
    return modules, tuple(i for path in paths for i in imports_in(path))


def target(name: str, modules: frozenset[str]) -> str | None:
    """The project module an imported name lives in (None: outside the project)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def listed(found: Iterable[Import]) -> str:
    return "\n".join(f"  {i.where}: {i.importer} imports {i.name}" for i in found)


def module_graph() -> dict[str, dict[str, Import]]:
    """Module -> the project modules it imports (with one import statement for each)."""
    modules, imports = project()
    graph: dict[str, dict[str, Import]] = {module: {} for module in modules}
    for found in imports:
        imported = target(found.name, modules)
        if imported is not None and imported != found.importer:
            graph[found.importer].setdefault(imported, found)
    return graph


def reached_from(graph: dict[str, dict[str, Import]], starts: list[str]) -> dict[str, list[Import]]:
    """Every module ``starts`` import, at any depth, with the imports that lead to it."""
    chains: dict[str, list[Import]] = {start: [] for start in starts}
    queue = deque(starts)
    while queue:
        module = queue.popleft()
        for imported, statement in sorted(graph[module].items()):
            if imported not in chains:
                chains[imported] = [*chains[module], statement]
                queue.append(imported)
    return chains


# --- the layers ---------------------------------------------------------------------------


def test_the_procedure_imports_no_io_not_even_through_the_modules_it_imports() -> None:
    graph = module_graph()
    _, imports = project()
    chains = reached_from(graph, [m for m in graph if within(m, PROCEDURE)])
    found = [
        [*chains[i.importer], i]
        for i in imports
        if i.importer in chains and any(within(i.name, n) for n in PROCEDURE_MUST_NOT_IMPORT)
    ]
    assert not found, (
        "the procedure is pure (no I/O): let the shell do this through a command and an "
        "event instead:\n" + "\n".join(listed(chain) for chain in found)
    )


def test_the_procedure_imports_only_the_standard_library_itself_and_the_shared_rules() -> None:
    _, imports = project()
    procedure = [i for i in imports if within(i.importer, PROCEDURE)]
    assert procedure, "no imports found in kiosk/procedure: is the path right?"
    others = [
        i
        for i in procedure
        if i.name.partition(".")[0] not in sys.stdlib_module_names
        and not any(within(i.name, allowed) for allowed in PROCEDURE_MAY_IMPORT)
    ]
    assert not others, (
        f"the procedure may import the standard library and {', '.join(PROCEDURE_MAY_IMPORT)} "
        f"only:\n{listed(others)}"
    )


def test_only_the_demo_brings_up_the_grant_service_in_the_kiosks_code() -> None:
    _, imports = project()
    found = [
        i
        for i in imports
        if within(i.name, "grant_service")
        and not within(i.importer, "grant_service")
        and not within(i.importer, "kiosk.demo")
    ]
    assert not found, (
        "the kiosk talks to the grant service over HTTP (kiosk.link), never through its "
        f"code; only kiosk/demo starts one:\n{listed(found)}"
    )


def test_the_shared_code_and_the_slip_know_nothing_of_kiosk_or_service() -> None:
    _, imports = project()
    rules = {
        "mynapoint": ("kiosk", "grant_service", "receipts", "provisioning"),
        "receipts": ("kiosk", "grant_service"),
    }
    found = [
        i
        for i in imports
        for package, banned in rules.items()
        if within(i.importer, package) and any(within(i.name, b) for b in banned)
    ]
    assert not found, (
        "mynapoint/ is shared by kiosk and service, and receipts/ only renders a slip: "
        f"move what they need down into them, or the caller up:\n{listed(found)}"
    )


# --- no circles ---------------------------------------------------------------------------


def strongly_connected(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (the circles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(components)


def shortest_circle(graph: dict[str, dict[str, Import]], members: list[str]) -> list[Import]:
    """The import statements of one shortest circle through the component's first module."""
    start, inside = members[0], set(members)
    came_from: dict[str, Import] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for imported, statement in sorted(graph[module].items()):
            if imported not in inside or imported in came_from:
                continue
            came_from[imported] = statement
            if imported == start:
                circle = [statement]
                while circle[0].importer != start:
                    circle.insert(0, came_from[circle[0].importer])
                return circle
            queue.append(imported)
    raise AssertionError(f"no circle through {start}")


def test_no_module_imports_itself_around_a_circle() -> None:
    graph = module_graph()
    assert sum(map(len, graph.values())) > 100, "too few imports found: is the path right?"
    circles = strongly_connected(graph)
    report = [
        f"{', '.join(members)}:\n{listed(shortest_circle(graph, members))}" for members in circles
    ]
    assert not circles, (
        "modules that import each other (a lazy import inside a function counts too): move "
        "what both need into a module of its own that imports neither.\n" + "\n".join(report)
    )
