"""A Salesforce whose certificate is not trusted fails at once, over real TLS, naming ca_file."""

from __future__ import annotations

import pytest
from sf_support import Sleeps, settings_for, sf_sandbox  # noqa: F401  (fixture)

from connectors.salesforce import SalesforceConnector
from mapping.errors import RetryableError, TlsVerificationFailed


def test_a_wrong_ca_fails_the_first_call_without_retrying_and_names_ca_file(
    sf_sandbox,  # noqa: F811
    tmp_path,
):
    import trustme

    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))  # a CA that did not sign the sandbox
    sleeps = Sleeps()
    connector = SalesforceConnector(settings_for(sf_sandbox, ca_file=str(other_ca)), sleep=sleeps)
    with pytest.raises(TlsVerificationFailed, match="ca_file") as info:
        connector.check()
    assert not isinstance(info.value, RetryableError)
    assert sleeps == []
