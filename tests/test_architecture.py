"""The house rules of docs/architecture.md that a reader can't check at a glance.

Imports (layers, no circles, who may import WeasyPrint or gspread) are enforced by
import-linter's contracts in pyproject.toml, run by `./run test`; this file checks sizes:
no module over 600 lines, no function or class body over 100 lines, unless its
docstring says why it "must be one piece".
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sheetsync"
MODULE_LINES = 600
DEFINITION_LINES = 100
EXCUSE = "must be one piece"


def oversized(root: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Modules over MODULE_LINES and definitions over DEFINITION_LINES under root, excused
    ones left out. Migration scripts (generated, frozen) are not counted."""
    modules: dict[str, int] = {}
    definitions: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        if "versions" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        name = str(path.relative_to(root))
        lines = len(source.splitlines())
        if lines > MODULE_LINES and EXCUSE not in (ast.get_docstring(tree) or ""):
            modules[name] = lines
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            size = node.end_lineno - node.lineno + 1
            if size > DEFINITION_LINES and EXCUSE not in (ast.get_docstring(node) or ""):
                definitions[f"{name}:{node.lineno} {node.name}"] = size
    return modules, definitions


def test_no_module_over_600_lines_and_no_definition_over_100() -> None:
    assert len(list(PACKAGE.rglob("*.py"))) > 40  # the package is where the test looks
    modules, definitions = oversized(PACKAGE)
    assert not modules, f"modules over {MODULE_LINES} lines (split them): {modules}"
    assert not definitions, f"definitions over {DEFINITION_LINES} lines: {definitions}"


def test_the_check_finds_long_modules_and_definitions_and_honours_the_excuse(
    tmp_path: Path,
) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(DEFINITION_LINES))
    (tmp_path / "long.py").write_text(f"def f():\n{body}\n" + "\n" * MODULE_LINES)
    excused = (
        f'"""Why: it must be one piece."""\n\n\ndef g():\n    """It must be one piece."""\n{body}\n'
    )
    (tmp_path / "excused.py").write_text(excused + "\n" * MODULE_LINES)
    (tmp_path / "versions").mkdir()
    (tmp_path / "versions" / "0001.py").write_text(f"def f():\n{body}\n")
    modules, definitions = oversized(tmp_path)
    assert modules == {"long.py": MODULE_LINES + DEFINITION_LINES + 1}
    assert definitions == {"long.py:1 f": DEFINITION_LINES + 1}


def test_docs_architecture_names_every_module_and_no_module_that_is_gone() -> None:
    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules_section = doc.split("\n## Modules", 1)[1]
    named = set(re.findall(r"^- `((?:[a-z_]+/)*[a-z_0-9]*(?:\.py|/))`:", modules_section, re.M))
    have = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if "versions" in rel.parts or rel.name == "__main__.py" or rel == Path("__init__.py"):
            continue
        have.add(f"{rel.parent}/" if rel.name == "__init__.py" else str(rel))
    missing = sorted(m for m in have if m not in named)
    gone = sorted(n for n in named if n not in have)
    assert not missing, f"docs/architecture.md says nothing of: {missing}"
    assert not gone, f"docs/architecture.md names modules that do not exist: {gone}"


def test_every_name_the_package_exports_resolves() -> None:
    import sheetsync

    for name in sheetsync.__all__:
        assert getattr(sheetsync, name) is not None, name
