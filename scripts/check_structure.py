"""Architecture check: house limits on size and no import cycles, for ``gridmap/`` and ``web/``.

- no module over 450 lines;
- no function over 60 lines (its body, without the docstring);
- no import cycle between modules: imports inside functions count (they must not hide a
  cycle), ``if TYPE_CHECKING:`` imports do not. A package's ``__init__`` is a module like
  any other, so a submodule importing its own package's facade while the facade imports it
  is a cycle;
- ``gridmap/`` uses nothing of werkzeug but ``werkzeug.security`` (password hashing);
- every third-party package imported by ``gridmap/`` or ``web/`` is a declared runtime
  dependency in ``pyproject.toml`` (a dev-only one would break a plain ``pip install .``).

Alembic migrations (``gridmap/db/migrations/``) are schema history, never edited, so they are
not measured. ``lint-imports`` (contracts in ``.importlinter``) checks the layering.

Run ``python scripts/check_structure.py`` to list offenders; ``--strict`` exits 1 when
there are any, ``--strict-imports`` only for the import checks (cycles, werkzeug,
undeclared dependencies).
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gridmap", "web")
SKIP_DIRS = {"static", "templates", "translations", "__pycache__", "migrations"}
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60


def python_files(root: Path = ROOT) -> Iterator[Path]:
    """The ``.py`` files of :data:`PACKAGES` that the limits apply to."""
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if not SKIP_DIRS & set(path.relative_to(root).parts):
                yield path


def function_length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of the body, without a leading docstring."""
    body = node.body
    if (len(body) > 1 and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
        body = body[1:]
    end = body[-1].end_lineno or body[-1].lineno
    return end - body[0].lineno + 1


def size_offenders(files: Iterable[Path], root: Path = ROOT) -> list[str]:
    """``module path (lines)`` and ``function path:name (lines)`` over the limits."""
    out: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(root)
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES:
            out.append(f"module {rel} ({lines} lines > {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = function_length(node)
                if n > MAX_FUNCTION_LINES:
                    out.append(f"function {rel}:{node.lineno} {node.name} "
                               f"({n} lines > {MAX_FUNCTION_LINES})")
    return out


def werkzeug_offenders(root: Path = ROOT) -> list[str]:
    """Imports of werkzeug in ``gridmap/`` other than ``werkzeug.security``."""
    out: list[str] = []
    for path in sorted((root / "gridmap").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if node.module and not node.level else [])
            for name in names:
                if name.split(".")[0] == "werkzeug" and name != "werkzeug.security":
                    out.append(f"{path.relative_to(root)}:{node.lineno} imports {name}")
    return out


def _imported_roots(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level name) of every absolute import in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module.split(".")[0]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def undeclared_imports(root: Path = ROOT) -> list[str]:
    """Third-party imports in :data:`PACKAGES` whose distribution is no runtime dependency."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_normalise(re.split(r"[\s<>=!~;\[]", dep, maxsplit=1)[0])
                for dep in project["dependencies"]}
    dists = importlib.metadata.packages_distributions()
    local = set(PACKAGES) | set(sys.stdlib_module_names) | {"__future__"}
    out: list[str] = []
    for path in python_files(root):
        for line, name in _imported_roots(path):
            if name in local:
                continue
            owners = {_normalise(d) for d in dists.get(name, [name])}
            if not owners & declared:
                out.append(f"{path.relative_to(root)}:{line} imports {name} "
                           f"({', '.join(sorted(owners))} is not in [project] dependencies)")
    return out


def import_cycles(root: Path = ROOT) -> list[list[str]]:
    """Import cycles between modules of :data:`PACKAGES` (each a sorted list of modules)."""
    sys.path.insert(0, str(root))
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    return [sorted(c) for c in _strongly_connected(edges) if len(c) > 1]


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph has a few hundred modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                out.append(component)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strict", action="store_true", help="exit 1 when anything is found")
    ap.add_argument("--strict-imports", action="store_true",
                    help="exit 1 on import cycles and werkzeug imports; sizes are reported only")
    args = ap.parse_args(argv)
    sizes = size_offenders(python_files())
    imports = [f"import cycle: {' <-> '.join(c)}" for c in import_cycles()]
    imports += [f"werkzeug beyond werkzeug.security: {w}" for w in werkzeug_offenders()]
    imports += [f"undeclared dependency: {u}" for u in undeclared_imports()]
    for line in sizes:
        print(f"over the limit: {line}")
    for line in imports:
        print(line)
    if not sizes and not imports:
        print("structure: modules ≤ 450 lines, functions ≤ 60 lines, no import cycle")
        return 0
    failing = args.strict or (args.strict_imports and bool(imports))
    print(f"structure: {len(sizes)} over the size limits, {len(imports)} import problem(s)"
          + ("" if failing else " (reported only; --strict fails on them)"))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
