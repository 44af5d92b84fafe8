"""refsync command line. Each command lives in its own ``cmd_*`` module, registered on import.

Exit codes: 0 ok, 1 finished with rejected records, 2 configuration, 3 connector fatal
(auth, permission, quota), 4 state or lock.
"""

from __future__ import annotations

import importlib

from sync.cli._app import app

__all__ = ["app", "main"]

_COMMAND_MODULES = [
    "sync.cli.cmd_config",
    "sync.cli.cmd_sandbox",
    "sync.cli.cmd_provision",
    "sync.cli.cmd_jobs",
    "sync.cli.cmd_history",
    "sync.cli.cmd_schedule",
    "sync.cli.cmd_demo",
    "sync.cli.cmd_state",
    "sync.cli.cmd_report",
    "sync.cli.cmd_privacy",
]

for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a command module not written yet
        if exc.name != _name:
            raise


def main() -> None:
    app()
