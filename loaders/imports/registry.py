"""Every kind of file `riskmap import` takes, in the order a new programme loads them.

Each kind lives in its own module of this package, which exports ``IMPORT_KIND``.
"""

from __future__ import annotations

import importlib

from loaders.imports.kinds import ImportKind

MODULES = ("organisations", "projects", "policies", "risk_events", "claims")


def _load() -> dict[str, ImportKind]:
    kinds = {}
    for module in MODULES:
        name = f"loaders.imports.{module}"
        try:
            kind = importlib.import_module(name).IMPORT_KIND
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency, not a kind still to be written
                raise
            continue
        kinds[kind.name] = kind
    return kinds


KINDS: dict[str, ImportKind] = _load()
