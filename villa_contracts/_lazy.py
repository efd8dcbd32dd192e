"""Public names imported on first use (PEP 562), so that importing a package stays cheap.

Example:
    >>> namespace: dict[str, object] = {}
    >>> lookup = lazy_names("demo", {"dumps": "json"}, namespace)
    >>> lookup("dumps") is namespace["dumps"]
    True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_names(package: str, public: Mapping[str, str], namespace: dict[str, object]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: each name of ``public`` from its module, kept in ``namespace``.

    Args:
        package: the package's name, for the error of an unknown attribute.
        public: each public name and the module it is imported from.
        namespace: the package's ``globals()``: a name, once imported, is found there next time.
    """

    def attribute(name: str) -> object:
        module = public.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return attribute
