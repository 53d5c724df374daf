"""Modules imported on first use, so `roomsops --help` does not load exchangelib, msal, pypsrp or SQLAlchemy.

Use: ``if TYPE_CHECKING: from roomsops.services.rooms import persons as service`` / ``else: service = lazy("roomsops.services.rooms.persons")``,
so type checking sees the real module and the program loads it when a command first touches it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)


def lazy(name: str) -> Any:
    return LazyModule(name)
