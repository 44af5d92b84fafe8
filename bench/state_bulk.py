"""Time the state store's bulk paths at 100k records (SQLite file and PostgreSQL).

    python bench/state_bulk.py [--n 100000] [--pg postgresql+psycopg://postgres@127.0.0.1/test]

PostgreSQL runs in a throwaway schema that is dropped afterwards. Prints seconds and the
number of statements per step.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from sync.state import StateStore, content_hash


def _referral(n: int, stage: str = "referred") -> dict:
    return {
        "id": f"ref-{n:06d}",
        "referral_number": f"R{n:06d}",
        "service_line": "cardiology",
        "stage": stage,
        "partner_id": f"p-{n % 500}",
        "documents_received": ["referral_order", "clinical_notes"],
    }


def _step(store: StateStore, label: str, fn) -> None:
    count = 0

    def _on(*_args) -> None:
        nonlocal count
        count += 1

    sa.event.listen(store.engine, "before_cursor_execute", _on)
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    sa.event.remove(store.engine, "before_cursor_execute", _on)
    print(f"  {label:<44} {elapsed:7.2f} s  {count:6d} statements")


def run(url: str, n: int) -> None:
    store = StateStore.open(url)
    ids = [f"ref-{i:06d}" for i in range(n)]
    first = [(i, _referral(k), False) for k, i in enumerate(ids)]
    changed = [(i, _referral(k, "accepted"), False) for k, i in enumerate(ids) if k % 10 == 0]
    print(f"{store.url}  n={n}")
    _step(store, "put_records: insert all", lambda: store.put_records("referral", first))
    _step(
        store, "put_records: same again (no change)", lambda: store.put_records("referral", first)
    )
    _step(store, "put_records: 10% changed", lambda: store.put_records("referral", changed))
    numbers = [f"R{k:06d}" for k in range(n)]
    _step(
        store,
        "find_ids_by_key: all",
        lambda: store.find_ids_by_key("referral", "referral_number", numbers),
    )
    _step(
        store,
        "link_many: all",
        lambda: store.link_many("referral", "hubspot", [(i, f"9{k}") for k, i in enumerate(ids)]),
    )
    _step(store, "native_ids_for: all", lambda: store.native_ids_for("referral", "hubspot", ids))
    writes = [(i, content_hash(_referral(k)), f"9{k}") for k, i in enumerate(ids)]
    _step(
        store, "record_writes: all", lambda: store.record_writes("hubspot", "referral", writes, 1)
    )
    _step(store, "ledger_hashes: all", lambda: store.ledger_hashes("hubspot", "referral", ids))
    _step(store, "iter_records: all", lambda: sum(1 for _ in store.iter_records("referral")))
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'state.db'}", args.n)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(args.pg)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        run(f"{args.pg}?options=-csearch_path%3D{schema}", args.n)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
