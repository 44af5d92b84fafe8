"""What the engine and the config loader need to know about a connection's settings fields,
declared by the connector's settings model with :class:`SettingRole` markers in
``Annotated`` types (see :mod:`connectors.capabilities`).

It lives here, below both ``config`` and ``connectors`` (which may not import each other),
so the loader can root and confine the paths a settings model declares instead of guessing
them from field names.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel

__all__ = ["SettingRole", "settings_with_role"]


class SettingRole(enum.Enum):
    """What the engine needs to know about a settings field (an ``Annotated`` marker)."""

    PROGRAM_PATH = "program_path"
    """A file or folder; a relative value is taken from the program directory."""
    PROGRAM_FILE = "program_file"
    """A file that must exist before a run (a key, a CA bundle); also a program path."""
    OUTPUT_DIR = "output_dir"
    """The folder the connector writes files for people into (also a program path)."""
    TIMEZONE = "timezone"
    """An IANA zone; the program's ``timezone`` applies when the connection sets none."""
    PHI_FIELDS = "phi_fields"
    """Native object -> the fields a ``privacy: full`` connection is sent PHI in, filled by
    the engine from the mappings (never set in refsync.yaml); the connector may refuse to
    write PHI anywhere else (HubSpot: only into sensitive-data properties)."""
    PHI_STORAGE = "phi_storage"
    """Where in the system a ``privacy: full`` connection keeps PHI (HubSpot's
    ``sensitive_data`` level); the privacy report names it."""


def settings_with_role(model: type[BaseModel], role: SettingRole) -> tuple[str, ...]:
    """Names of ``model``'s fields marked with ``role`` (OUTPUT_DIR and PROGRAM_FILE count as
    program paths too)."""
    wanted = {role}
    if role is SettingRole.PROGRAM_PATH:
        wanted |= {SettingRole.OUTPUT_DIR, SettingRole.PROGRAM_FILE}
    return tuple(
        name
        for name, info in model.model_fields.items()
        if any(isinstance(m, SettingRole) and m in wanted for m in info.metadata)
    )
