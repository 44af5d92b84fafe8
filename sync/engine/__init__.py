"""The sync engine: plan and run jobs through the canonical hub (see DESIGN.md, steps 1-7).

The names below are loaded on first use: ``sync.engine.runtime`` (programs, settings,
connectors) does not pull in the state store (SQLAlchemy, Alembic), so `refsync validate`
starts without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync.engine.report import RunReport
    from sync.engine.run import Engine
    from sync.engine.runtime import Runtime, open_program

__all__ = ["Engine", "RunReport", "Runtime", "open_program"]

_WHERE = {
    "Engine": "sync.engine.run",
    "RunReport": "sync.engine.report",
    "Runtime": "sync.engine.runtime",
    "open_program": "sync.engine.runtime",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'sync.engine' has no attribute {name!r}")
