"""Connectors: one folder per system, the one extension point (:mod:`connectors.base`),
the registry of connector types, and the local sandboxes."""
