"""Redaction: registered secrets and PHI values, and token-like patterns, with canaries."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from mapping.model import PatientPHI, Referral
from mapping.redact import REDACTED, TOKEN_PATTERNS, Redactor

SF_SESSION = "00D5g000004XyZa!AQ8AQJ.canary_session_value_1234567890"
HS_TOKEN = "pat-na1-1a2b3c4d-5e6f-4a1b-9c8d-0123456789ab"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlLWNhbmFyeQ"


@pytest.mark.parametrize(
    ("text", "canary"),
    [
        ("GET /contacts Authorization: Bearer abc123CANARYtoken", "abc123CANARYtoken"),
        ("headers={'Authorization': 'Bearer CANARY-9f8e7d6c'}", "CANARY-9f8e7d6c"),
        ("token_type=bearer Bearer CANARYbearer0042 sent", "CANARYbearer0042"),
        (f"INVALID_SESSION_ID for {SF_SESSION} at instance", SF_SESSION),
        (f"hubspot client with {HS_TOKEN}.", HS_TOKEN),
        (f"assertion {JWT} rejected", JWT),
        ("POST /oauth2/token grant_type=x&client_secret=CANARYsecret&password=CANARYpw", "CANARY"),
        ('{"access_token": "CANARYaccess", "instance_url": "https://x"}', "CANARYaccess"),
        ("key -----BEGIN PRIVATE KEY-----\nMIIECANARY\n-----END PRIVATE KEY----- loaded", "CANARY"),
        ("contact CANARY.zelda@example.org bounced", "CANARY.zelda@example.org"),
        ("callback (415) 555-0100 requested", "555-0100"),
        ("phone +14155550100 invalid", "4155550100"),
        ("ssn 123-45-6789 found", "123-45-6789"),
    ],
)
def test_token_like_patterns_are_redacted_without_registration(text, canary):
    redacted = Redactor().redact(text)
    assert canary not in redacted
    assert REDACTED in redacted


def test_bearer_keeps_the_scheme_and_the_rest_of_the_line():
    assert Redactor().redact("sent Bearer abcdefgh12345 ok") == f"sent Bearer {REDACTED} ok"


def test_plain_log_lines_are_left_alone():
    text = "upserted 200 Referral__c records for key R-2024-000123 (NPI 1234567893) in 3 batches"
    assert Redactor().redact(text) == text


def test_registered_secrets_are_redacted_anywhere_and_in_any_case():
    redactor = Redactor(secrets=["s3cr3t-CANARY-value", None, ""])
    text = "login failed: password S3CR3T-canary-VALUE; url ...?x=s3cr3t-CANARY-value"
    assert "canary" not in redactor.redact(text).lower()


def test_registered_phi_values_are_redacted_with_their_re_spellings():
    redactor = Redactor(patterns=())
    redactor.add_phi("Zelda Canary", is_name=True)
    redactor.add_phi(date(1931, 2, 28))
    redactor.add_phi("00012345")
    redactor.add_phi("(415) 555-0199")
    text = (
        "row: CANARY, Zelda; zelda canary dob 02/28/1931 (1931-02-28) mrn 12345 "
        "phone 415.555.0199 or +14155550199"
    )
    redacted = redactor.redact(text)
    for canary in ["Zelda", "CANARY", "1931", "12345", "0199"]:
        assert canary.lower() not in redacted.lower(), canary


def test_short_values_are_not_registered_so_logs_stay_readable():
    redactor = Redactor(phi=["TX", "M"], patterns=())
    assert redactor.redact("TX patient M") == "TX patient M"


def test_phi_of_a_canonical_record_is_registered_from_the_model():
    referral = Referral(
        id="ref-1",
        referral_number="R-1",
        reason="chest pain",
        patient=PatientPHI(
            name="Zelda Canary",
            birth_date=date(1931, 2, 28),
            mrn="MRN-CANARY-7",
            diagnosis="CANARY-DX",
        ),
    )
    redactor = Redactor(patterns=())
    redactor.add_phi_from(referral)
    text = "failed R-1 (chest pain) for Canary, Zelda MRN-CANARY-7 dx CANARY-DX born 1931-02-28"
    redacted = redactor.redact(text)
    assert "canary" not in redacted.lower() and "1931" not in redacted
    assert "R-1 (chest pain)" in redacted  # non-PHI stays readable


def test_longest_registered_value_wins():
    redactor = Redactor(secrets=["abcd", "abcdefgh"], patterns=())
    assert redactor.redact("xx abcdefgh yy") == f"xx {REDACTED} yy"


def test_many_registered_values_still_redact_each_one():
    redactor = Redactor(patterns=())
    names = [f"Patient{i:05d} Canary{i:05d}" for i in range(3000)]
    for name in names:
        redactor.add_phi(name)
    text = " | ".join(names[::500])
    assert redactor.redact(text) == " | ".join([REDACTED] * len(names[::500]))


def test_redact_data_blanks_secret_keys_and_redacts_nested_strings():
    redactor = Redactor(secrets=["CANARYsecretvalue"])
    data = {
        "headers": {"Authorization": "Bearer zzz", "Accept": "application/json"},
        "body": [{"note": "uses CANARYsecretvalue"}, ("x", 1)],
        "access_token": "anything",
        "refresh_token": None,
        "count": 3,
    }
    assert redactor.redact_data(data) == {
        "headers": {"Authorization": REDACTED, "Accept": "application/json"},
        "body": [{"note": f"uses {REDACTED}"}, ("x", 1)],
        "access_token": REDACTED,
        "refresh_token": None,
        "count": 3,
    }


def test_registration_from_many_threads_loses_nothing():
    redactor = Redactor(patterns=())
    values = [f"CANARY-THREAD-{i:04d}" for i in range(400)]

    def register(chunk):
        for v in chunk:
            redactor.add_secret(v)
            redactor.redact("warm " + v)

    threads = [threading.Thread(target=register, args=(values[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "CANARY" not in redactor.redact(" ".join(values))


def test_every_token_pattern_has_a_name():
    assert len({p.name for p in TOKEN_PATTERNS}) == len(TOKEN_PATTERNS)


def test_a_value_registered_later_that_extends_an_earlier_one_is_redacted_whole():
    redactor = Redactor(patterns=())
    redactor.add_secret("abcd")
    assert redactor.redact("abcd") == REDACTED  # compiles the first level
    redactor.add_secret("abcdefgh")
    redactor.add_secret("zz-abcd-zz")
    assert redactor.redact("1 abcdefgh 2 zz-abcd-zz 3") == f"1 {REDACTED} 2 {REDACTED} 3"


def test_phi_inside_a_url_encoded_query_is_redacted():
    redactor = Redactor(patterns=())
    redactor.add_phi("Zelda O'Canary", is_name=True)
    url = (
        "GET /services/data/v59.0/query?q=SELECT+Id+FROM+Contact+WHERE+Name%3D%27"
        "Zelda%20O%27Canary%27 and Zelda+O%27Canary"
    )
    redacted = redactor.redact(url)
    assert "canary" not in redacted.lower()
    assert "SELECT+Id+FROM+Contact" in redacted
