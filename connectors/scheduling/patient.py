"""Patient keys: a keyed hash (HMAC-SHA256) of the normalised MRN.

The key comes from an environment variable (``settings.patient_key_env``, default
``REFSYNC_PATIENT_KEY``), never from a file in the program directory. The key is versioned
(``v1:`` prefix) so it can be rotated, and the MRN normalisation rule is frozen: Excel strips
leading zeros, so ``00012345``, ``12345``, ``12345.0`` and ``1.2345E+4`` all hash alike.
The key is derived from PHI: it matches scheduling rows to referrals inside the PHI zone and
is not a de-identified surrogate (the canonical ``patient_ref`` is random, not this).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from mapping.errors import SecretError

__all__ = ["MIN_KEY_LENGTH", "PatientKeyer", "normalise_mrn"]

MIN_KEY_LENGTH = 16
_VERSION = "v1"
_BLOCK = 64  # SHA-256 block size in bytes
_EXCEL_FLOAT = re.compile(r"\d+\.0+")
_EXCEL_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def normalise_mrn(raw: str | None) -> str | None:
    """The frozen MRN normal form: upper-case alphanumerics; all-digit MRNs lose leading zeros."""
    if raw is None:
        return None
    value = raw.strip()
    if value.isascii() and value.isdigit():  # the common shape: no Excel damage, no letters
        return value.lstrip("0") or "0"
    if _EXCEL_FLOAT.fullmatch(value):
        value = value.split(".", 1)[0]
    elif _EXCEL_SCIENTIFIC.fullmatch(value):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        if number != number.to_integral_value():
            return None
        value = str(int(number))
    flat = _NOT_ALNUM.sub("", value.upper())
    if not flat:
        return None
    if flat.isdigit():
        flat = flat.lstrip("0") or "0"
    return flat


class PatientKeyer:
    """Computes patient keys with one secret key; holds the key, never logs it."""

    def __init__(self, key: bytes, *, namespace: str = "") -> None:
        if len(key) < MIN_KEY_LENGTH:
            raise SecretError(
                f"the patient key must be at least {MIN_KEY_LENGTH} bytes; "
                "generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        self._key = key
        self._namespace = namespace
        # HMAC's keyed inner and outer states, computed once (RFC 2104): each digest then
        # costs two hash copies instead of rebuilding both pads per MRN.
        block = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
        block = block.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self._prefix = f"{namespace}|"

    def __repr__(self) -> str:
        return f"PatientKeyer(namespace={self._namespace!r}, key=<redacted>)"

    @classmethod
    def from_env(
        cls, env_var: str, *, namespace: str = "", environ: Mapping[str, str] | None = None
    ) -> PatientKeyer:
        """Build from ``env_var``; SecretError naming the variable when it is unset or short."""
        env = os.environ if environ is None else environ
        value = env.get(env_var, "")
        if not value.strip():
            raise SecretError(
                f"environment variable {env_var} is not set: it holds the patient-key secret "
                "(HMAC key for MRN matching). Generate one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))'` and export it in "
                "the environment that runs refsync (a secrets manager or the service's "
                "environment, not refsync.yaml); keep the same key for every run, or patients "
                "no longer match earlier runs"
            )
        try:
            return cls(value.strip().encode("utf-8"), namespace=namespace)
        except SecretError as exc:
            raise SecretError(f"environment variable {env_var}: {exc.message}") from None

    def _digest(self, text: str) -> str:
        inner = self._inner.copy()
        inner.update((self._prefix + text).encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return f"{_VERSION}:{outer.hexdigest()}"

    def normal_mrn_hasher(self) -> Callable[[str], str]:
        """:meth:`for_normal_mrn` as one function for a hot loop (no method dispatch per MRN;
        nearly every row of an export carries a distinct MRN)."""
        inner_of, outer_of, prefix = self._inner.copy, self._outer.copy, self._prefix

        def key(normal: str) -> str:
            inner = inner_of()
            inner.update((prefix + normal).encode())
            outer = outer_of()
            outer.update(inner.digest())
            return f"{_VERSION}:{outer.hexdigest()}"

        return key

    def for_mrn(self, raw_mrn: str | None) -> str | None:
        """The key of an MRN (None when the MRN is blank after normalisation)."""
        normal = normalise_mrn(raw_mrn)
        return None if normal is None else self._digest(normal)

    def for_normal_mrn(self, normal: str) -> str:
        """The key of an MRN already in :func:`normalise_mrn`'s form (and not None)."""
        return self._digest(normal)

    def for_reference(self, reference: str) -> str:
        """The key of a FHIR patient reference (``Patient/123``): matches within one server."""
        return self._digest(f"fhir:{reference.strip()}")
