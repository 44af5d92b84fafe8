"""The URL-encoded spellings of a PHI value are exactly urllib's, computed without it."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

from hypothesis import given
from hypothesis import strategies as st

from sync.logs import PhiValues, _quote


@given(st.text(alphabet=st.characters(max_codepoint=127)) | st.text())
def test_a_value_is_quoted_exactly_as_urllib_quotes_it(text: str) -> None:
    assert _quote(text) == quote(text, safe="")
    assert _quote(text).replace("%20", "+") == quote_plus(text, safe="")


def test_every_ascii_character_is_quoted_as_urllib_quotes_it() -> None:
    every = "".join(map(chr, range(128)))

    assert _quote(every) == quote(every, safe="")
    assert _quote("A %20 + b%").replace("%20", "+") == quote_plus("A %20 + b%", safe="")


def test_a_name_is_redacted_in_its_url_encoded_spellings() -> None:
    phi = PhiValues()
    phi.add("O'BRIEN,ZOË ANN", is_name=True)

    line = "GET /search?q=O%27BRIEN%2CZO%C3%8B%20ANN and q=O%27BRIEN%2C+ZO%C3%8B+ANN"

    assert phi.redact(line) == "GET /search?q=[REDACTED] and q=[REDACTED]"
