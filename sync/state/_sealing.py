"""PHI at rest: the patient fields of canonical records are encrypted inside the JSON column.

Which fields: every top-level canonical field whose data class (:mod:`mapping.privacy`) is
a direct identifier, a quasi-identifier or clinical free text (the PHI block, care dates,
stage history, reasons). They leave the record's JSON and travel together as one Fernet
token (AES-128-CBC + HMAC-SHA256, authenticated) under the key ``"$sealed"``; everything
else stays queryable in clear. Reads open the token again, so callers never see it.

Token formats: new tokens are ``v2:`` + base64(nonce + AES-256-GCM ciphertext and tag),
under a key derived from the configured key with HKDF-SHA256, with the record's entity and
id as associated data, so a token copied onto another record does not open. Tokens without
the prefix are Fernet tokens (AES-128-CBC + HMAC-SHA256) written by earlier versions; they
still open, and ``refsync rotate-key`` re-seals them in the new format. GCM costs a fraction
of Fernet's CPU per record (no second pass for the MAC, no base64 of the base64).

Keys (Fernet keys: 32 url-safe base64 bytes), primary first, from:

1. ``REFSYNC_STATE_KEY``: comma-separated keys;
2. ``REFSYNC_STATE_KEY_FILE``: a file with one key per line;
3. for a SQLite file, ``<file>.key`` next to it, created (mode 0600) on first use, so a
   copy of the state file alone reveals nothing;
4. otherwise none: a store without a key refuses to keep PHI (``StateError``), rather than
   keep it in clear. Several machines sharing PostgreSQL must share a key: set 1 or 2.

Every key listed can decrypt; only the first encrypts. ``refsync rotate-key`` adds a new
primary and re-encrypts every record with it, after which the old keys can be dropped.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import make_url

from mapping.errors import StateError
from mapping.model import ENTITIES
from mapping.privacy import DataClass, canonical_class
from sync.environment import RefsyncEnvironment, refsync_environment
from sync.state._engine import json_loads

__all__ = ["SEALED", "Sealer", "key_file_for", "load_keys", "new_key"]

_TOKEN = "$sealed"
_V2 = "v2:"
_NONCE = 12
_HKDF_INFO = b"refsync state seal v2 (AES-256-GCM)"
_PASSTHROUGH = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_CLEAR = frozenset({DataClass.OPERATIONAL, DataClass.COARSENED})

SEALED: dict[str, frozenset[str]] = {
    **{
        entity: frozenset(
            name
            for name in model.model_fields
            if canonical_class(entity, name).data_class not in _CLEAR
        )
        for entity, model in ENTITIES.items()
    },
    # derived from referrals: each partner rollup's entries (sync.engine.rollups) hold
    # their care dates, so the whole list is sealed
    "rollup_entries": frozenset({"entries"}),
}
"""Top-level fields kept encrypted, per entity (derived from the classification table)."""


def new_key() -> str:
    """A fresh random Fernet key (text)."""
    return Fernet.generate_key().decode("ascii")


def key_file_for(url: str) -> Path | None:
    """``<file>.key`` beside a SQLite state file; None for other databases and memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database) + ".key")


def load_keys(url: str, env: RefsyncEnvironment | None = None) -> list[str]:
    """The state keys for ``url``, primary first (see the module docstring for the order);
    the variables are read through :mod:`sync.environment` (this process's, by default)."""
    env = refsync_environment() if env is None else env
    if env.state_key is not None:
        return [k.strip() for k in env.state_key.get_secret_value().split(",") if k.strip()]
    named = env.state_key_file
    path = named if named is not None else key_file_for(url)
    if path is None:
        return []
    if not path.exists():
        if named:
            raise StateError(f"REFSYNC_STATE_KEY_FILE names {path}, which does not exist")
        _write_private(path, new_key() + "\n")
    return [k.strip() for k in path.read_text(encoding="ascii").splitlines() if k.strip()]


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first: use theirs
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)


class Sealer:
    """Encrypts and opens the PHI fields of canonical record data (see module docstring).

    Every method that seals or opens takes the record's entity and id: they are the
    associated data of a ``v2:`` token."""

    def __init__(self, keys: Sequence[str]) -> None:
        try:
            fernets = [Fernet(k) for k in keys]
        except (ValueError, TypeError):
            raise StateError(
                "a state key is not a valid Fernet key (32 url-safe base64 bytes); generate "
                "one with `refsync rotate-key --print-new-key`"
            ) from None
        self._fernet = MultiFernet(fernets) if fernets else None
        self._aeads = [AESGCM(_derived(k)) for k in keys]  # primary first

    @property
    def has_key(self) -> bool:
        return self._fernet is not None

    def seal(
        self,
        entity: str,
        record_id: str,
        data: dict[str, Any],
        *,
        was: tuple[Mapping[str, Any], str | None] | None = None,
    ) -> dict[str, Any]:
        """``data`` with its PHI fields replaced by one token (unchanged when it has none).

        ``was``: the stored version's opened data and its token; when the PHI fields are
        the same, that token is kept (a version that changed only clear fields costs no
        encryption)."""
        names = SEALED.get(entity, frozenset())
        secret = _secret(names, data)
        if not secret:
            return data
        clear = data.copy()  # a C copy, then the few sealed keys out: empty values stay
        for name in secret:
            del clear[name]
        if was is not None and was[1] is not None and _secret(names, was[0]) == secret:
            clear[_TOKEN] = was[1]
            return clear
        if not self._aeads:
            raise StateError(
                f"a {entity} record holds PHI and the state store has no encryption key; set "
                "REFSYNC_STATE_KEY (or REFSYNC_STATE_KEY_FILE) to a key from "
                "`refsync rotate-key --print-new-key` on every machine that shares the store"
            )
        clear[_TOKEN] = self._encrypt(entity, record_id, _payload(secret))
        return clear

    def unseal(self, entity: str, record_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` with its token opened again (records without one come back as they are)."""
        token = data.get(_TOKEN)
        if token is None:
            return data
        out = data.copy()  # the caller's dict stays as it is (it may read the token next)
        del out[_TOKEN]
        out.update(json_loads(self._decrypt(entity, record_id, token)))
        return out

    def token_of(self, data: Mapping[str, Any]) -> str | None:
        """The token of stored (sealed) ``data``, or None."""
        token = data.get(_TOKEN)
        return token if isinstance(token, str) else None

    def closed(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` without its sealed fields (nothing decrypted): for callers that need
        none of them (:data:`SEALED`)."""
        if _TOKEN not in data:
            return data
        out = data.copy()
        del out[_TOKEN]
        return out

    def needs_rotation(self, data: Mapping[str, Any]) -> bool:
        """True when the record holds a token (rotation re-encrypts it under the primary)."""
        return _TOKEN in data

    def rotate(self, entity: str, record_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` with its token re-encrypted under the primary key, in the current
        format (a Fernet token becomes a ``v2:`` one)."""
        if not self._aeads or _TOKEN not in data:
            return data
        plain = self._decrypt(entity, record_id, data[_TOKEN], rotating=True)
        return {**data, _TOKEN: self._encrypt(entity, record_id, plain)}

    def _encrypt(self, entity: str, record_id: str, plain: bytes) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aeads[0].encrypt(nonce, plain, _associated(entity, record_id))
        return _V2 + binascii.b2a_base64(nonce + sealed, newline=False).decode("ascii")

    def _decrypt(self, entity: str, record_id: str, token: str, rotating: bool = False) -> bytes:
        if self._fernet is None:
            raise StateError(
                f"{entity} records in the state store are encrypted and no state key is set; "
                "set REFSYNC_STATE_KEY or REFSYNC_STATE_KEY_FILE to the key they were "
                "written with"
            )
        try:
            if not token.startswith(_V2):
                return self._fernet.decrypt(token.encode("ascii"))
            blob = binascii.a2b_base64(token[len(_V2) :])
        except (InvalidToken, binascii.Error, ValueError):
            raise _unopenable(entity, record_id, rotating) from None
        associated = _associated(entity, record_id)
        nonce, sealed = blob[:_NONCE], blob[_NONCE:]
        for aead in self._aeads:
            try:
                return aead.decrypt(nonce, sealed, associated)
            except (InvalidTag, ValueError):
                continue
        raise _unopenable(entity, record_id, rotating)


def _derived(key: str) -> bytes:
    """The AES-256 key of a configured (Fernet) key: HKDF-SHA256 over its 32 bytes."""
    raw = base64.urlsafe_b64decode(key)
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(raw)


def _associated(entity: str, record_id: str) -> bytes:
    """What a ``v2:`` token is bound to: the record it was sealed for."""
    return f"{entity}\x00{record_id}".encode()


def _unopenable(entity: str, record_id: str, rotating: bool) -> StateError:
    if rotating:
        return StateError(
            f"{entity} record {record_id} cannot be decrypted with the state keys given; "
            "list the current key after the new one in REFSYNC_STATE_KEY before rotating"
        )
    return StateError(
        f"{entity} record {record_id} cannot be decrypted with the state keys given: the "
        "key it was written with is missing (set REFSYNC_STATE_KEY to include it), or its "
        "sealed data was altered or copied from another record (restore the state from a "
        "backup, or delete the record and run the job again to re-read it from the source)"
    )


def _payload(secret: dict[str, Any]) -> bytes:
    """The sealed fields as sorted compact JSON (what json.dumps(..., default=str) writes)."""
    try:
        return orjson.dumps(secret, default=str, option=_PASSTHROUGH)
    except orjson.JSONEncodeError:  # integers past 64 bits
        return json.dumps(secret, sort_keys=True, separators=(",", ":"), default=str).encode()


_EMPTY: tuple[object, ...] = (None, [], {}, "")


def _secret(names: frozenset[str], data: Mapping[str, Any]) -> dict[str, Any]:
    """The non-empty values of ``names`` in ``data``; a truthy value is never empty, so only
    falsy ones (None, "", 0, False...) are compared with the empty values."""
    get = data.get
    return {n: v for n in names if (v := get(n)) or v not in _EMPTY}
