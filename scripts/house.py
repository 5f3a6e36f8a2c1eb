"""The house in numbers: the largest modules and definitions of sheetsync/.

    python3 scripts/house.py [FOLDER]

Prints how many modules run over 600 lines and how many functions or classes
over 100 (tests/test_architecture.py holds them to that), then the largest of
each. Import circles: `lint-imports` (the contracts in pyproject.toml).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "sheetsync")
    modules: list[tuple[int, str]] = []
    definitions: list[tuple[int, str]] = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        modules.append((len(source.splitlines()), str(path)))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                size = node.end_lineno - node.lineno + 1
                definitions.append((size, f"{path}:{node.lineno} {node.name}"))
    modules.sort(reverse=True)
    definitions.sort(reverse=True)
    print(f"modules over 600 lines: {sum(n > 600 for n, _ in modules)} of {len(modules)}")
    for n, name in modules[:10]:
        print(f"  {n:5d} {name}")
    print(f"definitions over 100 lines: {sum(n > 100 for n, _ in definitions)}")
    for n, name in definitions[:10]:
        print(f"  {n:5d} {name}")


if __name__ == "__main__":
    main()
