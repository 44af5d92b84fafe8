"""Secrets: ``${VAR}`` references resolved from the environment, then ``DIR/.env``.

YAML never holds a secret. A value under a secret-looking key (a name with a word ``token``,
``secret``, ``password``, ``credential``, or ending in ``_key``; not when it ends in ``_file``,
``_path``, ``_env``, ``_id``, ``_url``, ... and not the mapping's ``key:``) must be a ``${VAR}``
reference; so must anything that looks like a private key or an API token wherever it
appears. Problems
name the variable or the key and the place, never the value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from config.problems import Loc, Problems, YamlFile

__all__ = ["REFERENCE", "environment", "find_literal_secrets", "resolve_references"]

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""A ``${VAR}`` reference inside a YAML string."""

_SECRET_WORDS = frozenset(
    {"token", "secret", "password", "passwd", "passphrase", "credential", "credentials", "apikey"}
)
_NOT_SECRET_LAST = frozenset({"file", "path", "dir", "env", "id", "url", "namespace", "name"})
_SECRET_VALUE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----"  # PEM private keys
    r"|\bpat-[a-z]{2,3}\d?-[0-9a-f-]{20,}"  # HubSpot private-app tokens
    r"|\b00D[0-9A-Za-z]{12,15}![0-9A-Za-z._]{20,}"  # Salesforce session ids
)


def environment(root: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Variables visible to ``${VAR}``: ``env`` (default ``os.environ``) over ``root/.env``."""
    values = {k: v for k, v in dotenv_values(root / ".env").items() if v is not None}
    values.update(os.environ if env is None else env)
    return values


def resolve_references(
    data: Any,
    variables: Mapping[str, str],
    *,
    file: YamlFile,
    problems: Problems,
    loc: Loc = (),
) -> Any:
    """``data`` with every ``${VAR}`` replaced; each unset variable is a problem at its place."""
    if isinstance(data, Mapping):
        return {
            k: resolve_references(v, variables, file=file, problems=problems, loc=(*loc, k))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [
            resolve_references(v, variables, file=file, problems=problems, loc=(*loc, i))
            for i, v in enumerate(data)
        ]
    if not isinstance(data, str):
        return data

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return variables[name]
        problems.add(
            file,
            loc,
            f"${{{name}}} is not set; export {name} or add it to "
            f"{file.path.parent / '.env'} (never to the YAML)",
            secret=True,
        )
        return ""

    return REFERENCE.sub(substitute, data)


def find_literal_secrets(data: Any, *, file: YamlFile, problems: Problems, loc: Loc = ()) -> None:
    """Report every literal secret in ``data`` (the YAML before references are resolved)."""
    if isinstance(data, Mapping):
        for k, v in data.items():
            where = (*loc, k)
            if isinstance(v, str) and v.strip() and _secret_key(str(k)) and not REFERENCE.search(v):
                problems.add(file, where, _literal_key_message(str(k)), secret=True)
            else:
                find_literal_secrets(v, file=file, problems=problems, loc=where)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            find_literal_secrets(v, file=file, problems=problems, loc=(*loc, i))
    elif isinstance(data, str) and _SECRET_VALUE.search(data):
        problems.add(
            file,
            loc,
            "this value looks like a private key or API token; move it to the environment "
            "or .env and write ${VAR} here",
            secret=True,
        )


def _secret_key(name: str) -> bool:
    """``access_token``, ``client_secret``, ``api_key`` yes; ``private_key_file``, ``key`` no."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower().replace("-", "_").split("_")
    words = [w for w in words if w]
    if len(words) < 1 or words[-1] in _NOT_SECRET_LAST:
        return False
    return bool(_SECRET_WORDS & set(words)) or (words[-1] == "key" and len(words) > 1)


def _literal_key_message(name: str) -> str:
    var = re.sub(r"[^A-Za-z0-9]+", "_", name).upper()
    return (
        f"{name} holds a literal secret; secrets never live in YAML: write {name}: ${{{var}}} "
        "and set the variable in the environment or .env"
    )
