"""Deal pipelines and stages (``/crm/v3/pipelines/deals``).

Only the default "Sales Pipeline" (id ``default``) is preloaded; refsync's provisioning
creates its own. Deal stages need ``metadata.probability`` (0.0 to 1.0, as a string).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from connectors.sandbox.hubspot._app import Call, Route
from connectors.sandbox.hubspot._clock import Clock, iso_ms
from connectors.sandbox.hubspot._data import SALES_PIPELINE
from connectors.sandbox.hubspot._errors import HubSpotError, conflict, error_body, validation_error

__all__ = ["ROUTES", "PipelineBook"]

_BASE = "/crm/v3/pipelines/<objectType>"


class PipelineBook:
    """The deal pipelines of the account (thread-safe)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._pipelines: dict[str, dict[str, Any]] = {}
        self._next_id = 75_000_001
        self.reset()

    def reset(self) -> None:
        with self._lock:
            stages = [
                _stage(sid, label, order, {"probability": p, "isClosed": str(closed).lower()}, 0)
                for order, (sid, label, p, closed) in enumerate(SALES_PIPELINE["stages"])
            ]
            self._pipelines = {
                "default": {
                    "id": "default",
                    "label": SALES_PIPELINE["label"],
                    "displayOrder": SALES_PIPELINE["displayOrder"],
                    "archived": False,
                    "createdAt": iso_ms(0),
                    "updatedAt": iso_ms(0),
                    "stages": stages,
                }
            }

    def stage_ids(self, pipeline_id: str) -> set[str] | None:
        """Stage ids of a pipeline, or None if there is no such pipeline."""
        with self._lock:
            pipeline = self._pipelines.get(pipeline_id)
            return {s["id"] for s in pipeline["stages"]} if pipeline else None

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._pipelines.values()))

    def get(self, pipeline_id: str) -> dict[str, Any]:
        with self._lock:
            pipeline = self._pipelines.get(pipeline_id)
            if pipeline is None:
                raise HubSpotError(
                    404,
                    error_body(f"Unable to find pipeline {pipeline_id}", "OBJECT_NOT_FOUND"),
                )
            return copy.deepcopy(pipeline)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        missing = [k for k in ("label", "displayOrder", "stages") if k not in body]
        if missing:
            raise validation_error(f"Pipeline input is missing {missing}")
        now = self._clock.now_ms()
        with self._lock:
            if any(p["label"] == body["label"] for p in self._pipelines.values()):
                raise conflict(f"A pipeline with label '{body['label']}' already exists.")
            pid = body.get("pipelineId") or self._new_id()
            stages = [self._stage_from(s, now) for s in body["stages"]]
            pipeline = {
                "id": str(pid),
                "label": body["label"],
                "displayOrder": body["displayOrder"],
                "archived": False,
                "createdAt": iso_ms(now),
                "updatedAt": iso_ms(now),
                "stages": stages,
            }
            self._pipelines[pipeline["id"]] = pipeline
            return copy.deepcopy(pipeline)

    def add_stage(self, pipeline_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.get(pipeline_id)  # 404 first
        now = self._clock.now_ms()
        with self._lock:
            pipeline = self._pipelines[pipeline_id]
            stage = self._stage_from(body, now)
            pipeline["stages"].append(stage)
            pipeline["updatedAt"] = iso_ms(now)
            return copy.deepcopy(stage)

    def _new_id(self) -> str:
        value = self._next_id
        self._next_id += 1
        return str(value)

    def _stage_from(self, body: dict[str, Any], now: int) -> dict[str, Any]:
        missing = [k for k in ("label", "displayOrder", "metadata") if k not in body]
        if missing:
            raise validation_error(f"Pipeline stage input is missing {missing}")
        metadata = {k: str(v) for k, v in (body.get("metadata") or {}).items()}
        try:
            probability = float(metadata.get("probability", "missing"))
        except ValueError:
            probability = -1.0
        if not 0.0 <= probability <= 1.0:
            raise validation_error(
                f"Deal stage '{body['label']}' needs metadata.probability between 0.0 and 1.0"
            )
        metadata.setdefault("isClosed", "true" if probability in (0.0, 1.0) else "false")
        sid = body.get("stageId") or self._new_id()
        return _stage(str(sid), body["label"], body["displayOrder"], metadata, now)

    def dump(self) -> list[dict[str, Any]]:
        return self.all()

    def load(self, pipelines: list[dict[str, Any]]) -> None:
        with self._lock:
            self._pipelines = {p["id"]: p for p in pipelines}


def _stage(sid: str, label: str, order: int, metadata: dict[str, str], now: int) -> dict[str, Any]:
    return {
        "id": sid,
        "label": label,
        "displayOrder": order,
        "metadata": metadata,
        "archived": False,
        "createdAt": iso_ms(now),
        "updatedAt": iso_ms(now),
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    }


def _book(call: Call, object_type: str) -> PipelineBook:
    if object_type not in ("deals", "0-3"):
        raise validation_error(f"The sandbox keeps pipelines for deals only, not {object_type}")
    book: PipelineBook = call.state.extras["pipelines"]
    return book


def _list(call: Call, objectType: str) -> tuple[int, Any]:
    return 200, {"results": _book(call, objectType).all()}


def _get(call: Call, objectType: str, pipelineId: str) -> tuple[int, Any]:
    return 200, _book(call, objectType).get(pipelineId)


def _create(call: Call, objectType: str) -> tuple[int, Any]:
    return 201, _book(call, objectType).create(call.json())


def _stages(call: Call, objectType: str, pipelineId: str) -> tuple[int, Any]:
    return 200, {"results": _book(call, objectType).get(pipelineId)["stages"]}


def _stage_by_id(call: Call, objectType: str, pipelineId: str, stageId: str) -> tuple[int, Any]:
    for stage in _book(call, objectType).get(pipelineId)["stages"]:
        if stage["id"] == stageId:
            return 200, stage
    raise HubSpotError(404, error_body(f"Unable to find stage {stageId}", "OBJECT_NOT_FOUND"))


def _create_stage(call: Call, objectType: str, pipelineId: str) -> tuple[int, Any]:
    return 201, _book(call, objectType).add_stage(pipelineId, call.json())


ROUTES = [
    Route("GET", _BASE, _list),
    Route("POST", _BASE, _create, "write"),
    Route("GET", f"{_BASE}/<pipelineId>", _get),
    Route("GET", f"{_BASE}/<pipelineId>/stages", _stages),
    Route("POST", f"{_BASE}/<pipelineId>/stages", _create_stage, "write"),
    Route("GET", f"{_BASE}/<pipelineId>/stages/<stageId>", _stage_by_id),
]
