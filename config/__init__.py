"""Program directories: load and validate them, write new ones, describe them as JSON Schema.

- :func:`load_program` reads ``DIR/refsync.yaml``, the mapping files and the definitions,
  validates everything and returns a :class:`Program`, or raises one
  :class:`~mapping.errors.ConfigurationError` listing every ``file:line:col: message``.
- :func:`write_program` writes a new program directory from the shipped templates.
- :func:`json_schema` returns the JSON Schemas of the YAML files for editors.

``config`` never imports a connector: callers pass each connection type's settings model.
"""

from __future__ import annotations

from config.loader import CONFIG_FILE, Program, load_program
from config.models import ConnectionConfig, JobConfig, ProgramConfig, StateConfig
from config.problems import locate
from config.scaffold import SCHEMA_FILES, json_schema, write_program

__all__ = [
    "CONFIG_FILE",
    "SCHEMA_FILES",
    "ConnectionConfig",
    "JobConfig",
    "Program",
    "ProgramConfig",
    "StateConfig",
    "json_schema",
    "load_program",
    "locate",
    "write_program",
]
