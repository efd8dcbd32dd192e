"""The APIs the contracts describe: each one folder, a package found by discovery.

An API package brings everything its API adds, each part an optional module of its own, imported only by
the layer it belongs to (ARCHITECTURE.md: the allowed imports):

=========  ==========================================================================================
part       what it holds, and who imports it
=========  ==========================================================================================
contract   ``openapi.yaml`` (+ ``schemas/``): in ``contracts/<name>/`` for the built-in APIs, in the
           folder itself for one added on ``VILLA_API_PATH`` (``villa_contracts.contract.load``)
domain     its rules: pure ``decide_*`` functions (the domain's; no I/O)
model      its state-machine model: predictions from the domain (pure; the gate and the proxy)
mock       ``HANDLERS`` (operationId → handler), its sweepers and Pact provider states (``mock_server``)
suite      its business checks, state machine, live data, flow and credentials (``suites``)
oracle     its checks of observed traffic (``suites.proxy``)
=========  ==========================================================================================

Adding an API adds a folder and edits no shared file: the built-in ones are ``villa_contracts/apis/<name>/``;
more are found in every folder of the ``VILLA_API_PATH`` list (``os.pathsep``-separated directories, each
subfolder with an ``__init__.py`` an API called after it), imported as ``villa_apis.<name>``.

Example:
    >>> [api.name for api in packages()]  # doctest: +SKIP
    ['lineitems', 'shop', 'villa']
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import pkgutil
import sys
import types
from dataclasses import dataclass
from pathlib import Path

API_PATH_VAR = "VILLA_API_PATH"
"""The environment variable listing directories of more API folders."""
EXTERNAL = "villa_apis"
"""The package name API folders of ``VILLA_API_PATH`` are imported under."""
PARTS = ("domain", "model", "mock", "checks", "suite", "oracle")


@dataclass(frozen=True, slots=True)
class ApiPackage:
    """One API's folder.

    Attributes:
        name: the API's short name (its contract's name).
        module: its package's import name.
        folder: where it is on disk.
        external: found on ``VILLA_API_PATH`` (its contract is in the folder, not in ``contracts/``).
    """

    name: str
    module: str
    folder: Path
    external: bool = False

    def has(self, part: str) -> bool:
        """Whether the API brings ``part`` (a module or a package of that name in its folder)."""
        return (self.folder / f"{part}.py").is_file() or (self.folder / part / "__init__.py").is_file()

    def part(self, part: str) -> types.ModuleType | None:
        """The API's ``part`` module, imported (None when it brings none)."""
        if part not in PARTS:
            raise ValueError(f"part={part!r}: one of {', '.join(PARTS)}")
        return importlib.import_module(f"{self.module}.{part}") if self.has(part) else None

    @property
    def contract_dir(self) -> Path | None:
        """The folder holding its ``openapi.yaml`` when it is not under ``contracts/`` (an external API)."""
        return self.folder if self.external and (self.folder / "openapi.yaml").is_file() else None


def packages() -> tuple[ApiPackage, ...]:
    """Every API package: the built-in ones, then those of ``VILLA_API_PATH`` (read now: tests change it)."""
    return _packages(os.environ.get(API_PATH_VAR, ""))


def package(name: str) -> ApiPackage | None:
    """The API package called ``name`` (None: no API brings code of that name)."""
    return next((api for api in packages() if api.name == name), None)


def parts(part: str) -> list[tuple[ApiPackage, types.ModuleType]]:
    """``(api, module)`` of every API that brings ``part``, imported, in name order."""
    found = []
    for api in packages():
        module = api.part(part)
        if module is not None:
            found.append((api, module))
    return found


@functools.lru_cache(maxsize=8)
def _packages(api_path: str) -> tuple[ApiPackage, ...]:
    here = Path(__file__).resolve().parent
    found = {
        info.name: ApiPackage(info.name, f"{__name__}.{info.name}", here / info.name)
        for info in pkgutil.iter_modules([str(here)])
        if info.ispkg
    }
    directories = [Path(entry) for entry in api_path.split(os.pathsep) if entry]
    if directories:
        _external_namespace(directories)
    for directory in directories:
        for folder in sorted(p for p in directory.iterdir() if (p / "__init__.py").is_file()):
            found.setdefault(folder.name, ApiPackage(folder.name, f"{EXTERNAL}.{folder.name}", folder, external=True))
    return tuple(found[name] for name in sorted(found))


def _external_namespace(directories: list[Path]) -> None:
    """Make ``villa_apis`` the package of the API folders of ``directories`` (once per list of directories)."""
    module = sys.modules.get(EXTERNAL)
    if module is None:
        module = types.ModuleType(EXTERNAL, "API folders found on VILLA_API_PATH")
        module.__path__ = []
        sys.modules[EXTERNAL] = module
    for directory in directories:
        if str(directory) not in module.__path__:
            module.__path__.append(str(directory))


__all__ = ["API_PATH_VAR", "EXTERNAL", "ApiPackage", "package", "packages", "parts"]
