"""``StateStore``: the one object the sync engine uses to remember things between runs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mapping.errors import StateError
from sync.state._clear_fields import ClearFieldsMixin
from sync.state._engine import create_state_engine, migrate, redact_url, translate_errors
from sync.state._journal import JournalMixin
from sync.state._ledger import LedgerMixin
from sync.state._links import LinksMixin
from sync.state._locks import LocksMixin
from sync.state._mentions import MentionsMixin
from sync.state._opened_records import OpenedRecordsMixin
from sync.state._people import PeopleMixin
from sync.state._read_hashes import ReadHashesMixin
from sync.state._records import DEFAULT_NATURAL_KEYS, RecordsMixin
from sync.state._schema import store_meta
from sync.state._sealing import Sealer, load_keys
from sync.state._types import utc_now
from sync.state._write_marks import WriteMarksMixin

__all__ = ["StateStore"]

_HASH_KEY = "keyed_hash_key"


class StateStore(
    RecordsMixin,
    ClearFieldsMixin,
    OpenedRecordsMixin,
    LinksMixin,
    LedgerMixin,
    JournalMixin,
    LocksMixin,
    ReadHashesMixin,
    PeopleMixin,
    MentionsMixin,
    WriteMarksMixin,
):
    """Canonical records, id crosswalk, bookmarks, write ledger, runs, errors, conflicts, locks,
    read hashes, people marks, referrer mentions, write marks.

    Open it with :meth:`open` (which migrates). Every method runs in its own short
    transaction unless called inside :meth:`session`, whose transaction it then joins::

        with store.session():
            store.put_records("referral", rows)
            store.record_writes("hubspot", "referral", written, run_id)
            store.set_bookmark("epic", "appointments", {"since": "2026-01-01T00:00:00Z"})

    Lock and run methods (``acquire_lock``, ``heartbeat``, ``release_lock``, ``break_lock``,
    ``start_run``, ``finish_run``) always commit on their own and must be called outside a
    session. A session belongs to the thread that opened it.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] = utc_now,
        natural_keys: Mapping[str, tuple[str, ...]] = DEFAULT_NATURAL_KEYS,
        keys: Sequence[str] | None = None,
    ) -> None:
        super().__init__(engine, clock=clock)
        self._natural_keys = dict(natural_keys)
        self._hash_key: bytes | None = None
        url = engine.url.render_as_string(hide_password=False)
        self._sealer = Sealer(load_keys(url) if keys is None else keys)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        natural_keys: Mapping[str, tuple[str, ...]] = DEFAULT_NATURAL_KEYS,
        keys: Sequence[str] | None = None,
    ) -> StateStore:
        """Connect to ``sqlite:///path`` or ``postgresql+psycopg://...`` and migrate.

        A new SQLite file is created with mode 0600. On PostgreSQL the tables live in the
        first schema of the connection's ``search_path``. ``keys`` (primary first) encrypt
        PHI at rest; None reads them from the environment or the key file beside a SQLite
        file (:mod:`sync.state._sealing`). Raises :class:`StateError`.
        """
        engine = create_state_engine(url)
        try:
            migrate(engine)
            store = cls(engine, clock=clock, natural_keys=natural_keys, keys=keys)
            store._ensure_hash_key()
        except BaseException:
            engine.dispose()
            raise
        return store

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for diagnostics, reports and statement-count tests)."""
        return self._engine

    @property
    def url(self) -> str:
        """The store's URL with any password hidden."""
        return redact_url(self._engine.url)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[StateStore]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._session("commit a session", commit=True):
            yield self

    @contextmanager
    def rollback_only(self) -> Iterator[StateStore]:
        """A transaction that is always rolled back (``plan``: walk the path, keep nothing)."""
        with self._session("run a dry run", commit=False):
            yield self

    @contextmanager
    def _session(self, operation: str, *, commit: bool) -> Iterator[None]:
        if self._current() is not None:
            raise StateError("a state store session is already open in this thread; nest none")
        with translate_errors(self._engine.url, operation), self._engine.connect() as conn:
            transaction = conn.begin()
            self._local.conn = conn
            try:
                yield
            except BaseException:
                transaction.rollback()
                raise
            else:
                if commit:
                    transaction.commit()
                else:
                    transaction.rollback()
            finally:
                self._local.conn = None

    def keyed_hash(self, value: str) -> str:
        """HMAC-SHA256 of ``value`` under this store's own secret key (it never leaves it).

        Use it to match or compare values that must not be stored in clear (PHI in
        conflicts, scheduling rows without a referral number).
        """
        if self._hash_key is None:
            self._ensure_hash_key()
        assert self._hash_key is not None
        return hmac.new(self._hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def _ensure_hash_key(self) -> None:
        # Insert-if-absent, then read: concurrent first opens agree on one key.
        candidate = {"name": _HASH_KEY, "value": secrets.token_hex(32)}
        with self._transaction("create its hashing key") as conn:
            self._insert_ignore(conn, store_meta, candidate)
            stored = conn.execute(
                sa.select(store_meta.c.value).where(store_meta.c.name == _HASH_KEY)
            ).scalar_one()
        self._hash_key = bytes.fromhex(stored)
