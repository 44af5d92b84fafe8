"""Secrets: ``${VAR}`` references resolved from the environment, then ``DIR/.env``.

YAML never holds a secret. A value under a secret-looking key (a name with a word ``token``,
``secret``, ``password``, ``credential``, or ending in ``_key``; not when it ends in ``_file``,
``_path``, ``_env``, ``_id``, ``_url``, ... and not the mapping's ``key:``) must be a ``${VAR}``
reference; so must anything that looks like a private key or an API token wherever it
appears. A secret field holds one whole reference (``prefix-${VAR}`` would keep half a secret in
the YAML), and a URL anywhere carries no credentials of its own: no ``user:password@`` and no
``?access_token=`` / ``?api_key=`` query value unless that part is itself a ``${VAR}``.
Problems name the variable or the key and the place, never the value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from dotenv import dotenv_values

from config.limits import TooBig, YamlLimits, read_bounded
from config.problems import Loc, Problems, YamlFile
from mapping.errors import ConfigurationError

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


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")
_QUERY_SECRETS = frozenset(
    {"token", "key", "secret", "password", "passwd", "pwd", "sig", "signature", "auth", "code"}
)


def environment(root: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Variables visible to ``${VAR}``: ``env`` (default ``os.environ``) over ``root/.env``.

    A ``.env`` over the configuration size limit (``REFSYNC_MAX_CONFIG_BYTES`` in ``env``)
    raises ConfigurationError instead of being read.
    """
    dotenv = root / ".env"
    limit = YamlLimits.from_env(env).max_bytes
    try:
        read_bounded(dotenv, limit)
    except FileNotFoundError:
        pass
    except (TooBig, UnicodeDecodeError, OSError) as exc:
        reason = str(exc) if isinstance(exc, TooBig) else "cannot be read as UTF-8 text"
        raise ConfigurationError(f"{dotenv}: {reason}") from None
    values = {k: v for k, v in dotenv_values(dotenv).items() if v is not None}
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
            if isinstance(v, str) and v.strip() and _secret_key(str(k)) and not _whole_ref(v):
                message = _partial_message if REFERENCE.search(v) else _literal_key_message
                problems.add(file, where, message(str(k)), secret=True)
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
    elif isinstance(data, str):
        for reason in _url_credentials(data):
            problems.add(
                file,
                loc,
                f"this URL carries {reason}; credentials never live in YAML: write that part "
                "as ${VAR} (or the whole URL as ${VAR}) and set the variable in the "
                "environment or .env",
                secret=True,
            )


def _whole_ref(value: str) -> bool:
    return REFERENCE.fullmatch(value.strip()) is not None


def _url_credentials(text: str) -> list[str]:
    """What secret each URL in ``text`` carries in clear ("a password", "an api_key ...")."""
    found: list[str] = []
    for match in _URL.finditer(text):
        try:
            parts = urlsplit(match.group(0))
            password = parts.password
        except ValueError:
            continue  # not a URL after all (a bad port, a stray bracket)
        if password and not _whole_ref(password):
            found.append("a password (user:password@host)")
        for name, value in parse_qsl(parts.query, keep_blank_values=False):
            if value and not _whole_ref(value) and _secret_query_name(name):
                found.append(f"a secret in its {name} query parameter")
    return found


def _secret_query_name(name: str) -> bool:
    words = set(re.split(r"[^a-z0-9]+", name.lower())) - {""}
    return _secret_key(name) or bool(words & _QUERY_SECRETS) or name.lower() == "apikey"


def _partial_message(name: str) -> str:
    var = re.sub(r"[^A-Za-z0-9]+", "_", name).upper()
    return (
        f"{name} mixes a ${{VAR}} reference with literal text; part of the secret would live "
        f"in YAML: write {name}: ${{{var}}} alone and put the whole value in the variable"
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
