"""A local Salesforce org over HTTPS that answers as the real REST API does.

Usage::

    from connectors.sandbox import SalesforceSandbox

    with SalesforceSandbox() as sb:
        sf = sb.make_client()                 # simple_salesforce.Salesforce, verified TLS
        sf.Account.create({"Name": "Acme"})

Modules: :mod:`.schema` (the preloaded schema as data), :mod:`.store` (indexed in-memory
tables), :mod:`.writes` (field-level validation), :mod:`.soql` / :mod:`.query` (SOQL),
:mod:`.rest`, :mod:`.replication`, :mod:`.collections`, :mod:`.bulk` (endpoints),
:mod:`.auth` (logins), :mod:`.app` (the WSGI pipeline), :mod:`.sandbox` (the public handle).
"""

from __future__ import annotations

from connectors.sandbox.salesforce.sandbox import LoginRedirectAdapter, SalesforceSandbox
from connectors.sandbox.salesforce.schema import DEFAULT_SCHEMA, FieldDef, ObjectDef

__all__ = ["DEFAULT_SCHEMA", "FieldDef", "LoginRedirectAdapter", "ObjectDef", "SalesforceSandbox"]
