"""The deploy unit (functions/) ships what the six functions import, and requirements.txt covers it.

Walks the import graph from functions/main.py through the smartpractice modules it reaches (every `import`
statement in a module, also those inside functions), collects the third-party top-level names, and maps
them to their distributions. Cheap stand-in for the fresh-venv check (README, "Deploying"): a package the
unit imports but requirements.txt leaves out would fail there with ModuleNotFoundError.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "functions"
FIRST_PARTY = "smartpractice"
# Dev-only packages that live outside the deploy unit; nothing main.py reaches may import them.
DEV_ONLY = {"smartpractice_dev", "supalocal"}
# Shipped though main.py does not import it: the generator of functions/openapi.json (the published contract;
# ARCHITECTURE puts OpenAPI in api/). Its imports must be covered too, so the walk starts there as well.
SHIPPED_BESIDES_MAIN = {"smartpractice.api.openapi"}


def _module_file(name: str) -> Path | None:
    base = UNIT.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _imported_names(path: Path, module: str) -> set[str]:
    """Absolute names of every module (or module attribute) the file imports."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{node.module}" if node.module else anchor
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def reached_modules_and_imports(*roots: str) -> tuple[set[str], set[str]]:
    """(smartpractice modules the roots reach, top-level names of everything else they import)."""
    reached: set[str] = set()
    external: set[str] = set()
    todo: list[tuple[str, Path]] = [("main", UNIT / "main.py")]
    todo += [(root, path) for root in roots if (path := _module_file(root)) is not None]
    while todo:
        module, path = todo.pop()
        if module in reached:
            continue
        reached.add(module)
        for name in _imported_names(path, module):
            top = name.split(".")[0]
            if top != FIRST_PARTY:
                external.add(top)
                continue
            for part in _with_parents(name):
                found = _module_file(part)
                if found is not None and part not in reached:
                    todo.append((part, found))
    reached.discard("main")
    return reached, external


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def requirement_names() -> set[str]:
    names = set()
    for line in (UNIT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
            assert match is not None, line
            names.add(_normalise(match.group(0)))
    return names


def test_every_third_party_import_of_the_unit_is_a_requirement_and_vice_versa() -> None:
    _, external = reached_modules_and_imports(*SHIPPED_BESIDES_MAIN)
    third_party = {name for name in external if name not in sys.stdlib_module_names and name != "__future__"}
    assert not third_party & DEV_ONLY, "the deploy unit imports dev-only code"
    distributions = packages_distributions()
    imported = {_normalise(dist) for name in third_party for dist in distributions.get(name, [name])}
    assert imported == requirement_names()


def test_requirements_carry_lower_and_upper_bounds() -> None:
    for line in (UNIT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert ">=" in line and "<" in line.replace("<=", ""), f"unbounded requirement: {line}"


def test_the_unit_holds_only_what_main_reaches() -> None:
    reached, _ = reached_modules_and_imports()
    shipped = {
        ".".join(path.relative_to(UNIT).with_suffix("").parts).removesuffix(".__init__")
        for path in (UNIT / FIRST_PARTY).rglob("*.py")
    }
    assert shipped - reached == SHIPPED_BESIDES_MAIN
