"""A local HubSpot CRM API (v3 objects, batch, search, properties, schemas, pipelines,
associations v4, OAuth refresh) that answers as the real one does, for tests, the demo,
benchmarks and admins trying a mapping.

Fidelity sources: shared/reference/crm-api-behaviour.md part B and HubSpot's OpenAPI specs
(statuses and bodies are contract-tested against them). Where HubSpot documents nothing the
sandbox had to choose, and says so here:

- Row locks (``FaultPlan.lock_rows``): HubSpot has no documented row-lock error. A write to a
  locked record answers 409 ``CONFLICT`` with ``subCategory`` ``CONCURRENT_UPDATE`` (single
  calls) or carries that entry in ``errors[]`` of a 207 (batch update/upsert, and batch
  create with ``objectWriteTraceId`` s); "Existing ID" never appears in it, so it cannot be
  mistaken for a duplicate.
- Session expiry (``FaultPlan.expire_session_after``) expires OAuth access tokens; private-app
  tokens do not expire in HubSpot and keep working.
- The 400 past the search cap has HubSpot's status and category (``VALIDATION_ERROR``); its
  message is the sandbox's own.
- Requested properties without a value are left out of ``properties`` (the spec types the
  values as non-null strings).
- Search's own limit (about 5 requests/second per account, 429 with policy ``SECONDLY``) is
  off unless ``sandbox.limits.search_per_second`` is set, so tests that page quickly are
  not slowed down by default.
- Unique values are compared case-insensitively for every unique property (HubSpot does so
  for email and for search ``EQ``).
- Per-input errors of 207 answers carry their sub-category as ``context["subCategory"]``: the
  spec types ``StandardError.subCategory`` as an object, so the string HubSpot's live API
  puts there would fail the contract. 429 bodies carry ``category: RATE_LIMITS`` next to
  ``errorType``/``policyName`` because the spec's ``Error`` requires a category.
- Sensitive data (``_sensitive.py``, from HubSpot's sensitive-data guide): properties carry
  ``dataSensitivity``; listings show sensitive ones only with ``?dataSensitivity=``; creating
  one needs ``hs.sensitive_data = True`` (the account's HIPAA setting) and the object's
  ``...sensitive.write`` scope; reading or writing its values needs the matching read/write
  scope, else 403 ``MISSING_SCOPES``. ``hs.token`` holds the standard scopes only,
  ``hs.sensitive_token`` every sensitive scope. HubSpot does not document whether a read of a
  sensitive property without the scope is refused or answered without it: the sandbox
  refuses (403), the safer reading. Changing an existing property's ``dataSensitivity`` is
  refused (400). ``GET /oauth/v1/access-tokens/{token}`` and ``POST
  /oauth/v2/private-apps/get/access-token-info`` report a token's scopes.

Use (see :class:`HubSpotSandbox`)::

    with HubSpotSandbox() as hs:              # or HubSpotSandbox(data_dir=..., port=...)
        client = hs.make_client()             # real hubspot.HubSpot(host=hs.base_url)
        hs.insert("companies", [{"name": "Northside", "refsync_id": "org-1"}])
        hs.faults.configure(fail_every=3, fail_status=429)
        hs.records("companies"); hs.stats.snapshot(); hs.reset()
"""

from __future__ import annotations

from connectors.sandbox.hubspot.server import HubSpotSandbox

__all__ = ["HubSpotSandbox"]
