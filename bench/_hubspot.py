"""Shared by the HubSpot benchmarks: a HubSpot sandbox in its own process, and a table.

The sandbox runs in a child process so that its JSON work does not share the benchmark's
GIL: the figures then measure the client side (what a real HubSpot account would cost us),
with the server on the other core.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

NPI = "1234567893"  # a valid NPI (Luhn with the 80840 prefix)


def company_row(i: int, tag: str = "") -> dict[str, str]:
    return {
        "refsync_id": f"partner-{i:07d}",
        "name": f"Lakeside Family Practice {i}{tag}",
        "phone": "+1 312 555 0100",
        "address": f"{i} Main Street",
        "city": "Chicago",
        "state": "IL",
        "zip": "60601",
        "country": "US",
        "refsync_npi": NPI,
        "refsync_partner_kind": "pcp_practice",
        "refsync_relationship_status": "active",
        "refsync_tier": "A",
        "refsync_service_lines": "cardiology;orthopedics",
    }


def _serve(conn: Any, options: dict[str, Any]) -> None:
    from connectors.hubspot import (
        HubSpotConnector,
        HubSpotSettings,
        apply_provision,
        plan_provision,
    )
    from connectors.sandbox.hubspot import HubSpotSandbox

    with HubSpotSandbox(**options) as hs:
        connector = HubSpotConnector(
            HubSpotSettings(access_token=hs.token, host=hs.base_url, insecure_http=True)
        )
        apply_provision(connector, plan_provision(connector))
        conn.send((hs.base_url, hs.token))
        while True:
            command, args = conn.recv()
            if command == "stop":
                conn.send(None)
                return
            if command == "seed_companies":
                # The sandbox stamps each insert 1 ms after the previous one: start the
                # seeding that many ms in the past so its clock ends near wall time.
                count = args
                hs.set_now(datetime.now(UTC) - timedelta(milliseconds=count + 1000))
                ids = hs.insert("companies", (company_row(i) for i in range(count)))
                hs.set_now(datetime.now(UTC))
                conn.send(len(ids))
            elif command == "limits":
                hs.limits.ten_second_limit = args
                hs.limits.reset()
                conn.send(None)
            elif command == "stats":
                conn.send((hs.stats.total_calls, hs.stats.write_calls, dict(hs.stats.faults)))
            elif command == "count":
                conn.send(len(hs.records(args)))
            elif command == "reset":
                hs.reset_data()
                apply_provision(connector, plan_provision(connector))
                conn.send(None)


class SandboxProcess:
    """``with SandboxProcess(ten_second_limit=...) as sb: sb.base_url, sb.token, sb.call(...)``"""

    def __init__(self, **options: Any) -> None:
        self._options = options

    def __enter__(self) -> SandboxProcess:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self._options), daemon=True)
        self._proc.start()
        self.base_url, self.token = self._conn.recv()
        return self

    def call(self, command: str, args: Any = None) -> Any:
        self._conn.send((command, args))
        return self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        self.call("stop")
        self._proc.join(10)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Table(*headers)
    for row in rows:
        out.add_row(
            *(
                f"{v:,.0f}" if isinstance(v, float | int) and not isinstance(v, bool) else str(v)
                for v in row
            )
        )
    Console(width=140).print(out)
