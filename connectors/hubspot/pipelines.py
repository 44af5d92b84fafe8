"""Deal pipelines: stage labels <-> stage ids, resolved at run time and cached.

Mappings name stages by label ("Intake Received"); HubSpot stores stage ids in ``dealstage``
and pipeline ids in ``pipeline``. Ids differ per account, so they are never hard-coded: the
pipelines API is read once per connector and reread when a label is not found (someone may
have just run ``refsync provision hubspot --apply``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from connectors.hubspot.transport import Transport
from mapping.errors import RecordRejected, SchemaMismatch

__all__ = ["Pipeline", "PipelineCatalog"]


@dataclass(frozen=True)
class Pipeline:
    id: str
    label: str
    stages: dict[str, str] = field(default_factory=dict)  # stage label -> stage id

    def label_of(self, stage_id: str) -> str | None:
        for label, sid in self.stages.items():
            if sid == stage_id:
                return label
        return None


class PipelineCatalog:
    """The account's pipelines of one object type (``deals``), cached."""

    def __init__(self, transport: Transport, object_type: str = "deals") -> None:
        self._transport = transport
        self._object_type = object_type
        self._pipelines: list[Pipeline] | None = None
        self._lock = threading.Lock()

    def all(self, *, reload: bool = False) -> list[Pipeline]:
        with self._lock:
            if self._pipelines is None or reload:
                response = self._transport.call(
                    "pipelines",
                    "get_all",
                    self._object_type,
                    what=f"{self._object_type} pipelines",
                )
                self._pipelines = [
                    Pipeline(
                        id=str(p["id"]),
                        label=str(p["label"]),
                        stages={
                            str(s["label"]): str(s["id"])
                            for s in p.get("stages", [])
                            if not s.get("archived")
                        },
                    )
                    for p in (response.data or {}).get("results", [])
                    if not p.get("archived")
                ]
            return self._pipelines

    def find(self, name: str) -> Pipeline | None:
        """The pipeline whose label (or id) is ``name``; rereads once if not found."""
        for reload in (False, True):
            for pipeline in self.all(reload=reload):
                if name in (pipeline.label, pipeline.id):
                    return pipeline
        return None

    def pipeline(self, name: str) -> Pipeline:
        found = self.find(name)
        if found is None:
            raise SchemaMismatch(
                f"HubSpot has no {self._object_type} pipeline labelled {name!r}; run "
                "`refsync provision hubspot --apply` or set deal_pipeline in the connection"
            )
        return found

    def stage_id(self, pipeline_name: str, stage: str) -> str:
        """The stage id for a stage label (or id) in the named pipeline."""
        pipeline = self.pipeline(pipeline_name)
        if stage in pipeline.stages.values():
            return stage
        if stage not in pipeline.stages:
            pipeline = self._reloaded(pipeline_name)
        if stage not in pipeline.stages:
            raise RecordRejected(
                f"HubSpot {self._object_type}: pipeline {pipeline.label!r} has no stage "
                "with the mapped label; add the stage or fix the mapping's stage map",
                field="dealstage",
                code="INVALID_STAGE",
            )
        return pipeline.stages[stage]

    def _reloaded(self, name: str) -> Pipeline:
        self.all(reload=True)
        return self.pipeline(name)

    def labels(
        self, pipeline_id: str | None, stage_id: str | None
    ) -> tuple[str | None, str | None]:
        """(pipeline label, stage label) for ids read from HubSpot; ids kept when unknown."""
        for pipeline in self.all():
            if pipeline.id == pipeline_id or (
                pipeline_id is None and stage_id in pipeline.stages.values()
            ):
                return pipeline.label, pipeline.label_of(stage_id or "") or stage_id
        return pipeline_id, stage_id
