"""Print the dependencies between gridmap's subpackages (and web) as a Mermaid graph.

Used to keep the diagram in docs/architecture.md true: ``python scripts/package_graph.py``.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def _group(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "web":
        return ".".join(parts[:2]) if len(parts) > 1 and parts[1] in {"views", "api"} else "web"
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def edges() -> dict[str, set[str]]:
    """Subpackage → subpackages it imports (within gridmap and web)."""
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph("gridmap", "web")
    out: dict[str, set[str]] = defaultdict(set)
    for mod in graph.modules:
        for dep in graph.find_modules_directly_imported_by(mod):
            a, b = _group(mod), _group(dep)
            if a != b:
                out[a].add(b)
    return out


def main() -> None:
    print("```mermaid\nflowchart TD")
    for a, deps in sorted(edges().items()):
        for b in sorted(deps):
            print(f"    {a.replace('.', '_')}[{a}] --> {b.replace('.', '_')}[{b}]")
    print("```")


if __name__ == "__main__":
    main()
