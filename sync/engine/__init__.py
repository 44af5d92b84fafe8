"""The sync engine: plan and run jobs through the canonical hub (see DESIGN.md, steps 1-7)."""

from sync.engine.report import RunReport
from sync.engine.run import Engine
from sync.engine.runtime import Runtime, open_program

__all__ = ["Engine", "RunReport", "Runtime", "open_program"]
