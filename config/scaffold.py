"""``refsync init`` and ``refsync schema``: write a program directory, and the JSON Schemas.

:func:`write_program` copies the shipped templates (``config/templates``: refsync.yaml,
definitions, and every mapping template there) into a new directory, plus a ``.env`` (mode
0600) listing the variables refsync.yaml references, with placeholders to replace.

:func:`json_schema` returns the JSON Schema of refsync.yaml, of a mapping file and of a
definition file, so editors can complete and check them as admins type.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from config.loader import CONFIG_FILE
from config.models import ProgramConfig
from config.secrets import REFERENCE
from mapping.errors import ConfigurationError
from mapping.model import QualifiedReferralDefinition
from mapping.spec import MappingSpec

__all__ = ["SCHEMA_FILES", "json_schema", "write_program"]

SCHEMA_FILES = ("refsync.schema.json", "mapping.schema.json", "definition.schema.json")

_PLACEHOLDERS = {
    "SF_LOGIN_URL": "https://login.salesforce.com",
    "HUBSPOT_HOST": "https://api.hubapi.com",
    "SF_CA_FILE": "",
    "HUBSPOT_INSECURE_HTTP": "false",
}
_PATIENT_KEY = """
# Secret key of the MRN hash that matches scheduling rows to referrals (HMAC-SHA256), made
# by `refsync init`. Keep it with the state store: another key no longer matches patients
# of earlier runs. Never put it in refsync.yaml.
REFSYNC_PATIENT_KEY={key}
"""
_GITIGNORE = ".env\nstate.db\nstate.db-*\nstate.db.key\n.refsync-beat*\noutputs/\n"
_ENV_HEADER = """\
# Secrets and per-machine values for this program. Never commit this file.
# refsync resolves ${VAR} in refsync.yaml from the environment first, then from here.
# Replace every placeholder with your system's value, then run `refsync validate --online`.
"""


def write_program(directory: str | os.PathLike[str]) -> list[Path]:
    """Write a new program directory from the templates; returns the files written.

    Refuses (ConfigurationError) to write into a directory that exists and is not empty.
    """
    root = Path(directory)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConfigurationError(
            f"{root} exists and is not empty; choose a new directory for the program",
            problems=[f"{root}: exists and is not empty"],
        )
    templates = resources.files("config") / "templates"
    written: list[Path] = []
    for relative, source in _template_files(templates):
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        written.append(target)
    config_text = (root / CONFIG_FILE).read_text(encoding="utf-8")
    written.append(_write_private(root / ".env", _env_file(config_text)))
    (root / ".gitignore").write_text(_GITIGNORE, encoding="utf-8")
    written.append(root / ".gitignore")
    (root / "exports" / "epic").mkdir(parents=True, exist_ok=True)
    return written


def _template_files(templates: Traversable) -> list[tuple[str, Traversable]]:
    files = [(CONFIG_FILE, templates / CONFIG_FILE)]
    for folder in ("definitions", "mappings"):
        base = templates / folder
        if base.is_dir():
            for item in sorted(base.iterdir(), key=lambda t: t.name):
                if item.is_file() and item.name.endswith((".yaml", ".yml")):
                    files.append((f"{folder}/{item.name}", item))
    return files


def _env_file(config_text: str) -> str:
    names = list(dict.fromkeys(REFERENCE.findall(_uncommented(config_text))))
    lines = [_ENV_HEADER]
    for name in names:
        lines.append(f"{name}={_PLACEHOLDERS.get(name, f'replace-with-your-{_slug(name)}')}\n")
    lines.append(_PATIENT_KEY.format(key=secrets.token_hex(32)))
    return "".join(lines)


def _uncommented(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def _slug(name: str) -> str:
    return name.lower().replace("_", "-")


def _write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def json_schema(
    settings_models: Mapping[str, type[BaseModel]] | None = None,
) -> dict[str, dict[str, Any]]:
    """JSON Schemas by file name (see :data:`SCHEMA_FILES`).

    With ``settings_models`` (connection type -> settings model), each connection's
    ``settings:`` is checked against its type's model as well.
    """
    program = _document(ProgramConfig, "refsync.yaml")
    if settings_models:
        _add_settings(program, settings_models)
    return {
        SCHEMA_FILES[0]: program,
        SCHEMA_FILES[1]: _document(MappingSpec, "refsync mapping file (mappings/*.yaml)"),
        SCHEMA_FILES[2]: _document(
            QualifiedReferralDefinition, "refsync qualified-referral definition"
        ),
    }


def _document(model: type[BaseModel], title: str) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": title}


def _add_settings(program: dict[str, Any], models: Mapping[str, type[BaseModel]]) -> None:
    defs = program.setdefault("$defs", {})
    branches = []
    for type_name, model in sorted(models.items()):
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[model.__name__] = schema
        branches.append(
            {
                "if": {"properties": {"type": {"const": type_name}}, "required": ["type"]},
                "then": {"properties": {"settings": {"$ref": f"#/$defs/{model.__name__}"}}},
            }
        )
    connection = defs["ConnectionConfig"]
    connection["allOf"] = branches
