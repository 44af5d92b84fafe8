"""Path containment: files a program names stay inside its directory unless an admin allows more.

``mapping``, ``definitions`` and every path setting of a connection (the fields its settings
model declares :attr:`~mapping.setting_roles.SettingRole.PROGRAM_PATH`, output folder or
file) are resolved against the program directory, symlinks followed; one
that ends up outside it (``../``, an absolute path elsewhere, a symlink out) is a
configuration problem unless refsync.yaml says ``allow_paths_outside: true`` at its top. A
program directory copied from elsewhere can then not make refsync read ``/etc`` or write
worklists into another program's folder.
"""

from __future__ import annotations

from pathlib import Path

from config.problems import Loc, Problems, YamlFile

__all__ = ["ALLOW_OUTSIDE_KEY", "inside", "refuse_outside"]

ALLOW_OUTSIDE_KEY = "allow_paths_outside"


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (relative paths taken from ``root``) resolves into ``root``."""
    target = path.expanduser()
    target = target if target.is_absolute() else root / target
    return target.resolve().is_relative_to(root.resolve())


def refuse_outside(
    root: Path, path: Path, *, what: str, file: YamlFile, loc: Loc, problems: Problems
) -> bool:
    """Report ``what`` when ``path`` leaves ``root``; True when it was refused."""
    if inside(root, path):
        return False
    problems.add(
        file,
        loc,
        f"{what} points outside the program directory {root}; keep it inside (no ../ and no "
        f"absolute path elsewhere), or set {ALLOW_OUTSIDE_KEY}: true at the top of "
        "refsync.yaml if an administrator means it",
    )
    return True
