"""Every log line passes the redaction filter: secrets and tokens never reach a handler."""

from __future__ import annotations

import logging

import pytest
from pydantic import BaseModel, SecretStr

from sync.logs import configure_logging, secrets_of

CANARY_SECRET = "CANARY-SECRET-7f3a9b2c1d"
SESSION = "00D5g000004XyZA!AQ0AQFakeSessionTokenCanary1234567890"


class _Settings(BaseModel):
    access_token: SecretStr
    host: str = "https://example"


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_connection_secrets_and_token_shapes_are_redacted_from_log_lines(capsys) -> None:
    secrets = secrets_of([_Settings(access_token=SecretStr(CANARY_SECRET)), {"not": "a model"}])
    assert secrets == [CANARY_SECRET]
    configure_logging(verbose=True, secrets=secrets)
    log = logging.getLogger("simple_salesforce.api")
    log.info("GET /services/data Authorization: Bearer %s", CANARY_SECRET)
    log.warning("session %s expired", SESSION)
    err = capsys.readouterr().err
    assert "expired" in err and "[REDACTED]" in err
    assert CANARY_SECRET not in err
    assert SESSION not in err


def test_exception_text_in_a_log_record_is_redacted_too(capsys) -> None:
    """Failure catalogue: L2."""
    configure_logging(json_lines=True, secrets=[CANARY_SECRET])
    try:
        raise RuntimeError(f"vendor said: token {CANARY_SECRET} invalid")
    except RuntimeError:
        logging.getLogger("hubspot").exception("call failed")
    err = capsys.readouterr().err
    assert "call failed" in err and "RuntimeError" in err
    assert CANARY_SECRET not in err
