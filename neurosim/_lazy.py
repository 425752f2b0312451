"""Lazy package exports (PEP 562): a package names its public objects and the modules that define them,
and each module is imported on first attribute access. This keeps ``import neurosim.energy`` free of
numba and of the simulator until a name that needs them is used. Imports nothing itself."""

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, namespace: dict[str, Any], exports: Mapping[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package`` whose public names live in ``exports``.

    Parameters
    ----------
    package : str
        Dotted name of the package (for the error message).
    namespace : dict
        The package's ``globals()``; a loaded name is cached there so later accesses cost nothing.
    exports : Mapping[str, str]
        Public name -> dotted module that defines it.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
