"""Package exports loaded on first use (PEP 562), for packages whose light parts are imported on start-up
paths (`sdassist mcp`, the CLI's argument parser) while their heavy parts are not needed there."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, where: dict[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: name → the submodule (relative, e.g. "._client") that defines it.
    A name is imported once, then kept in the package's namespace."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    return __getattr__
