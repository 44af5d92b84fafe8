"""The new referrers list is counted from tallies kept as the mentions change, on SQLite and
PostgreSQL: the same counts, names and lines as a count over every mention would give, at a
cost that follows the mentions replaced, not the mentions there are."""

from __future__ import annotations

import itertools
from typing import Any

import sqlalchemy as sa
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.state import Mention, StateStore
from sync.state._engine import _alembic_config

_IDS = [f"r{n:02d}" for n in range(12)]
_NPIS = ["1111111112", "1333333334", "1555555556"]
_fresh = itertools.count()


def _counted(mentions: dict[str, Mention]) -> list[tuple[Any, ...]]:
    """What the new referrers list counts, worked out from every mention by hand: per NPI
    the mentions, the name and practice of the last mention in id order that gives a name
    (else of the first), and the service lines named."""
    by_npi: dict[str, list[Mention]] = {}
    for rid in sorted(mentions):
        by_npi.setdefault(mentions[rid][1], []).append(mentions[rid])
    counted = []
    for npi in sorted(by_npi):
        group = by_npi[npi]
        named = [m for m in group if m[2]]
        shown = named[-1] if named else group[0]
        lines = tuple(sorted({m[4] for m in group if m[4]}))
        counted.append((npi, len(group), shown[2], shown[3], lines))
    return counted


_mention = st.tuples(
    st.sampled_from(_IDS),
    st.sampled_from(_NPIS),
    st.sampled_from([None, "", "Ada Avery", "Bo Chen"]),
    st.sampled_from([None, "Heart Partners", "Lakeside"]),
    st.sampled_from([None, "", "cardiology", "ortho"]),
)
_step = st.tuples(st.booleans(), st.lists(st.sampled_from(_IDS), max_size=6), st.lists(_mention))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(_step, min_size=1, max_size=8))
def test_tallies_count_what_a_count_over_every_mention_gives_after_any_replacements(
    store: StateStore, steps: list[tuple[bool, list[str], list[Mention]]]
) -> None:
    connection = f"epic{next(_fresh)}"  # a fresh connection per example: the store is shared
    held: dict[str, Mention] = {}
    for whole, of, mentions in steps:
        ids = None if whole else set(of) | {m[0] for m in mentions}
        given_now = {m[0]: m for m in mentions}  # one mention per referral
        store.replace_mentions(connection, given_now.values(), of=ids)
        if ids is None:
            held = {}
        for rid in ids or ():
            held.pop(rid, None)
        held.update(given_now)
        assert store.mention_counts(connection) == _counted(held)
    assert store.mention_counts("another") == []


def test_a_group_whose_first_and_last_named_mentions_go_finds_the_next_ones(
    store: StateStore,
) -> None:
    store.replace_mentions(
        "epic",
        [("r1", "111", None, "First", "cardiology"), ("r2", "111", "Ada", "Heart", "cardiology"),
         ("r3", "111", "Bo", "Lake", "cardiology"), ("r4", "111", None, "Late", "cardiology")],
        of=None,
    )  # fmt: skip
    store.replace_mentions("epic", [], of=["r3"])
    assert store.mention_counts("epic") == [("111", 3, "Ada", "Heart", ("cardiology",))]
    store.replace_mentions("epic", [], of=["r2"])  # none named: the first mention's
    assert store.mention_counts("epic") == [("111", 2, None, "First", ("cardiology",))]
    store.replace_mentions("epic", [("r1", "111", None, "Moved", "ortho")], of=["r1"])
    assert store.mention_counts("epic") == [("111", 2, None, "Moved", ("cardiology", "ortho"))]


def _cost_of_a_change(tmp_path: Any, clock: Any, instructions: Any, mentions: int) -> int:
    store = StateStore.open(f"sqlite:///{tmp_path / f'{mentions}.db'}", clock=clock)
    try:
        rows = [(f"r{n:07d}", _NPIS[n % 3], None, "Clinic", "cardiology") for n in range(mentions)]
        store.replace_mentions("epic", rows, of=None)
        changed = [f"r{n:07d}" for n in range(0, 30, 3)]  # ten, among the first of one NPI
        with instructions(store) as counted:
            store.replace_mentions(
                "epic", [(i, _NPIS[1], "Ada", "Heart", "ortho") for i in changed], of=changed
            )
            counts = store.mention_counts("epic")
        assert sum(n for _, n, *_ in counts) == mentions
        return counted[0]
    finally:
        store.close()


def test_replacing_ten_mentions_and_counting_costs_the_same_among_600_or_60000(
    tmp_path: Any, clock: Any, instructions: Any
) -> None:
    """Counted in SQLite instructions: a count over every mention would cost 100 times more
    among 60,000 than among 600; the tallies cost a few index probes more (a deeper tree)."""
    small = _cost_of_a_change(tmp_path, clock, instructions, 600)
    large = _cost_of_a_change(tmp_path, clock, instructions, 60_000)
    assert large < 1.5 * small


def test_a_store_at_the_earlier_revision_gets_tallies_of_the_mentions_it_holds(
    state_url: str, clock: Any
) -> None:
    url = state_url
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0006_write_marks")
        conn.execute(
            sa.text(
                "INSERT INTO referrer_mentions VALUES"
                " ('epic', 'r1', '111', NULL, 'First', NULL),"
                " ('epic', 'r2', '111', 'Ada', 'Heart', 'cardiology'),"
                " ('epic', 'r3', '111', '', 'Later', NULL),"
                " ('athena', 'r1', '222', 'Bo', NULL, '')"
            )
        )
    engine.dispose()
    store = StateStore.open(url, clock=clock)
    try:
        assert store.mention_counts("epic") == [("111", 3, "Ada", "Heart", ("cardiology",))]
        assert store.mention_counts("athena") == [("222", 1, "Bo", None, ())]
        store.replace_mentions("epic", [], of=["r2"])  # kept from the built tallies on
        assert store.mention_counts("epic") == [("111", 2, None, "First", ())]
    finally:
        store.close()
