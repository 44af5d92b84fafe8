"""What would stop or empty a scheduling source on this machine (``local_problems``): its
export folder, and the secret its patient matching needs. No file is read, only listed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from connectors.capabilities import LocalProblem
from connectors.scheduling.files import discover
from connectors.scheduling.patient import MIN_KEY_LENGTH, PatientKeyer
from connectors.scheduling.settings import SchedulingSettings
from mapping.errors import RefsyncError

__all__ = ["local_problems"]

_KEY_HINT = "python -c 'import secrets; print(secrets.token_hex(32))'"


def local_problems(
    settings: SchedulingSettings, environ: Mapping[str, str], program_dir: Path
) -> list[LocalProblem]:
    """The export folder's and the patient key's problems (none when all is in place)."""
    return [*_export_folder(settings), *_patient_key(settings, environ, program_dir / ".env")]


def _export_folder(settings: SchedulingSettings) -> list[LocalProblem]:
    path = settings.path
    if not path.exists():
        return [
            LocalProblem(
                ("settings", "path"),
                f"the export folder {path} does not exist",
                f"mkdir -p {path} and put the scheduling system's export there "
                "(or point settings.path at the folder it writes to)",
                empties_reads=True,
            )
        ]
    if discover(path, settings.format, settings.file_pattern):
        return []
    kind = f"files matching {settings.file_pattern}" if settings.file_pattern else "export files"
    return [
        LocalProblem(
            ("settings", "path"),
            f"the export folder {path} has no {kind}; plan and run read 0 records from it",
            f"copy the scheduling system's {settings.format.upper()} export into {path}",
            warning=True,
            empties_reads=True,
        )
    ]


def _patient_key(
    settings: SchedulingSettings, environ: Mapping[str, str], env_file: Path
) -> list[LocalProblem]:
    var = settings.patient_key_env
    try:
        PatientKeyer.from_env(var, environ=environ)
    except RefsyncError:
        unset = not environ.get(var, "").strip()
        why = "it is not set" if unset else f"it is shorter than {MIN_KEY_LENGTH} bytes"
        return [
            LocalProblem(
                ("type",),
                "appointments are matched to referrals by a keyed hash of the MRN, which "
                f"needs the secret {var}: {why}",
                f"add {var}=<secret> to {env_file} (generate it with "
                f"`{_KEY_HINT}`; keep it with the state store: another key re-keys every "
                "patient)",
            )
        ]
    return []
