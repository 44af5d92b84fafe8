"""Read pages decode with orjson; what orjson refuses but json reads still decodes."""

from __future__ import annotations

import math

import requests

from connectors.hubspot.transport import _decode as hubspot_decode
from connectors.salesforce.reads import _decode as salesforce_decode


def _response(body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    response.headers["Content-Type"] = "application/json"
    return response


def test_a_salesforce_page_decodes_to_the_same_records_as_json() -> None:
    body = (
        b'{"done": true, "records": [{"Id": "a01", "Name": "Lakeside \\u00e9", "Amount__c": 1.5}]}'
    )
    assert salesforce_decode(_response(body)) == _response(body).json()


def test_a_salesforce_page_orjson_refuses_falls_back_to_json() -> None:
    body = b'{"records": [{"Id": "a01", "Score__c": NaN}]}'
    assert math.isnan(salesforce_decode(_response(body))["records"][0]["Score__c"])


def test_a_hubspot_body_decodes_with_orjson_and_falls_back_to_json() -> None:
    assert hubspot_decode(b'{"results": [{"id": "1"}]}') == {"results": [{"id": "1"}]}
    assert math.isinf(hubspot_decode(b'{"n": Infinity}')["n"])
