"""What each connection type's connector declares, handed to the loader as data.

``config`` never imports a connector and ``mapping`` never names one: the registry supplies
each type's settings model (:class:`RegistrySettings`) and privacy declaration
(:class:`RegistryPrivacy`) here, on demand, so only the types a program uses are imported.
Light on purpose: the commands that only read the state load programs through it too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from config.loader import Program, load_program
from connectors.base import Connector
from connectors.registry import connector_class, connector_types
from mapping.privacy import TypePrivacy

__all__ = ["RegistryPrivacy", "RegistrySettings", "load_declared"]

_T = TypeVar("_T")


class _Registry(Mapping[str, _T]):
    """What each connection type's connector declares, looked up in the registry on demand.

    A type that is unknown or whose connector cannot be imported raises ``KeyError`` with a
    message the loader reports at the connection's ``type:``.
    """

    def _declared(self, cls: type[Connector]) -> _T:
        raise NotImplementedError

    def __getitem__(self, type_name: str) -> _T:
        try:
            return self._declared(connector_class(type_name))
        except KeyError as exc:
            raise KeyError(str(exc.args[0])) from None
        except Exception as exc:  # a connector that fails to import is a problem to report
            raise KeyError(
                f"the {type_name!r} connector cannot be loaded ({type(exc).__name__}: {exc})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(connector_types())

    def __len__(self) -> int:
        return len(connector_types())


class RegistrySettings(_Registry[type[BaseModel]]):
    """Settings model per connection type (``Connector.settings_model``)."""

    def _declared(self, cls: type[Connector]) -> type[BaseModel]:
        return cls.settings_model


class RegistryPrivacy(_Registry[TypePrivacy]):
    """What each connection type declares about privacy (``Connector.phi_zone``,
    ``Connector.native_field_classes``); an unknown type declares nothing (the settings
    registry reports it)."""

    def _declared(self, cls: type[Connector]) -> TypePrivacy:
        return TypePrivacy(phi_zone=cls.phi_zone, native_classes=cls.native_field_classes)


def load_declared(
    directory: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    check_settings: bool = True,
) -> Program:
    """Load and validate ``directory`` with what each connection type's connector declares:
    its settings model (unless ``check_settings`` is False: commands that only read the state
    resolve settings without checking them) and its privacy (:class:`RegistryPrivacy`)."""
    models = RegistrySettings() if check_settings else None
    return load_program(Path(directory), settings_models=models, privacy=RegistryPrivacy(), env=env)
