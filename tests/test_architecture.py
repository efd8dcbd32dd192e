"""ARCHITECTURE.md's "Allowed imports", checked on every import statement (by AST, inside functions too).

The rules are read from the fenced ``imports`` block of ARCHITECTURE.md, so the document and the
check cannot drift apart: a rule is a line ``<package> never imports <a>, <b> [except <sub>, <sub>]``
or ``<package> imports only <a>, <b>, stdlib-pure``. A ``*`` in a name stands for one module name
(``villa_contracts.apis.*.mock``: the mock part of every API package).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Standard-library modules without I/O that the domain may use.
STDLIB_PURE = {
    "__future__", "abc", "collections", "contextlib", "copy", "dataclasses", "datetime", "decimal", "enum",
    "functools", "hashlib", "itertools", "math", "operator", "re", "string", "threading", "time", "typing",
    "uuid", "secrets", "json",
}  # fmt: skip


def _rules() -> list[tuple[str, str, set[str], set[str]]]:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = re.search(r"```imports\n(.*?)```", text, re.S)
    assert block, "ARCHITECTURE.md has no ```imports block"
    rules = []
    for line in block.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"(\S+) (never imports|imports only) (.+?)(?: except (.+))?", line)
        assert match, f"unreadable rule in ARCHITECTURE.md: {line!r}"
        package, kind, names, exceptions = match.groups()
        rules.append(
            (
                package,
                kind,
                {n.strip() for n in names.split(",")},
                {n.strip() for n in (exceptions or "").split(",") if n.strip()},
            )
        )
    assert len(rules) >= 4
    return rules


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _within(module: str, package: str) -> bool:
    """``module`` is ``package`` or inside it (a ``*`` of ``package`` is any one module name)."""
    pattern = r"[^.]+".join(re.escape(part) for part in package.split("*"))
    return re.fullmatch(pattern + r"(\..+)?", module) is not None


def _files(package: str) -> list[Path]:
    """The files of ``package``: a package's every module, or a module's file (``*``: every match)."""
    path = package.replace(".", "/")
    found: list[Path] = []
    for base in sorted({*ROOT.glob(path), *(p.with_suffix("") for p in ROOT.glob(path + ".py"))}):
        found += sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]
    return found


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: f"{rule[0]} {rule[1]}")
def test_allowed_imports(rule: tuple[str, str, set[str], set[str]]) -> None:
    package, kind, names, exceptions = rule
    broken = []
    files = _files(package)
    assert files or "*" in package, f"the rule names {package}, which matches no module"
    for path in files:
        module = _module_name(path)
        if any(_within(module, exception) for exception in exceptions):
            continue
        for line, imported in _imports(path):
            top = imported.split(".")[0]
            if kind == "never imports":
                bad = any(_within(imported, name) for name in names)
            else:
                allowed = any(_within(imported, n) for n in names if n != "stdlib-pure")
                allowed |= (
                    "stdlib-pure" in names and top in STDLIB_PURE and top in sys.stdlib_module_names | {"__future__"}
                )
                bad = not allowed
            if bad:
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not broken, f"{package} {kind} {sorted(names)}:\n" + "\n".join(broken)


def test_the_rules_catch_a_function_level_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    import mock_server.app\n    from suites import gate\n")
    assert [name for _, name in _imports(source)] == ["mock_server.app", "suites"]


def test_business_rules_are_decided_only_in_the_domain() -> None:
    # A refusal is built in villa_contracts/domain and nowhere else; handlers raise nothing themselves.
    built, raised = [], []
    for package in ("villa_contracts", "mock_server", "suites"):
        for path in _files(package):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "RuleViolation":
                    built.append(str(path.relative_to(ROOT)))
                if isinstance(node, ast.Raise) and "handlers" in path.parts:
                    raised.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    domain = re.compile(r"villa_contracts/(domain/|apis/[^/]+/domain)")
    assert built and all(domain.match(p) for p in built), sorted(set(built))
    assert not raised, raised


def test_no_product_file_over_500_lines_and_no_function_over_80() -> None:
    # Units a reader can hold: what grows past these is split where it has a seam (ARCHITECTURE.md).
    long_files, long_functions = [], []
    for package in ("villa_contracts", "mock_server", "suites"):
        for path in _files(package):
            text = path.read_text(encoding="utf-8")
            where = str(path.relative_to(ROOT))
            if text.count("\n") > 500:
                long_files.append(f"{where}: {text.count(chr(10))} lines")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > 80:
                        long_functions.append(f"{where}:{node.lineno} {node.name}: {length} lines")
    assert not long_files, long_files
    assert not long_functions, long_functions
