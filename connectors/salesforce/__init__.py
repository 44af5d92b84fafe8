"""Salesforce connector: JWT / client-credentials / password / token auth, incremental
``queryAll`` reads on ``SystemModstamp``, sObject Collections and Bulk API 2.0 upserts by
external id, error translation, retries and a quota guard. See :mod:`.connector`."""

from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.settings import SalesforceSettings

__all__ = ["SalesforceConnector", "SalesforceSettings"]
