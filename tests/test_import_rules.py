"""The package's import rules (docs/architecture.md, "Layers"): cotlit modules are imported at module top, never
inside a function to dodge a circle, and the task layer loads without the layers above it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cotlit"

# (module file relative to cotlit/, function) -> why its cotlit import must stay inside the function.
# Empty on purpose: the two tables that import a module on use (the CLI's ``COMMANDS`` in cli/__init__.py and the
# teacher ``BACKENDS`` in teach/backends/base.py) go through ``importlib.import_module`` with a name from the
# table, not an import statement, and the optional heavy dependencies (vllm, liger, bitsandbytes, peft, datasets,
# openai, matplotlib, torch in torch-free modules) are not cotlit modules. A new entry needs a reason here.
ALLOWED: dict[tuple[str, str], str] = {}

UPPER_LAYERS = ("cotlit.data", "cotlit.evaluation", "cotlit.model", "cotlit.sweep", "cotlit.teach", "cotlit.cli",
                "torch", "lightning", "transformers")


def _imported_module(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return ["cotlit (relative)" if node.level else node.module or ""]


def function_level_cotlit_imports(source: str) -> list[tuple[str, int, str]]:
    """(function, line, module) of every import of a cotlit module inside a function body of ``source``."""
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found += [(function.name, node.lineno, name) for name in _imported_module(node)
                          if name == "cotlit" or name.startswith(("cotlit.", "cotlit "))]
    return found


def test_the_scanner_finds_function_level_imports():
    source = "import cotlit.io\n\ndef f():\n    from cotlit.core import CoTExample\n\n" \
             "class A:\n    def g(self):\n        import cotlit.tasks\n        from . import x\n        import torch\n"
    assert function_level_cotlit_imports(source) == [("f", 4, "cotlit.core"), ("g", 8, "cotlit.tasks"),
                                                     ("g", 9, "cotlit (relative)")]


def test_cotlit_modules_are_imported_at_module_top():
    offending, seen = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        for function, line, name in function_level_cotlit_imports(path.read_text(encoding="utf-8")):
            seen.add((module, function))
            if (module, function) not in ALLOWED:
                offending.append(f"cotlit/{module}:{line} imports {name} inside {function}()")
    assert not offending, "move these imports to module top (or fix the layering that stops you):\n" + \
        "\n".join(offending)
    assert set(ALLOWED) <= seen, f"stale allow-list entries: {sorted(set(ALLOWED) - seen)}"


def test_the_task_layer_imports_none_of_the_layers_above():
    probe = ("import sys, cotlit.tasks.base\n"
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {UPPER_LAYERS!r}"
             f" or '.'.join(m.split('.')[:2]) in {UPPER_LAYERS!r}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"
