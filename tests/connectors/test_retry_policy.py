"""One retry policy for every connector: the connector names what is retryable, the policy
does the waiting (counted here with an injected sleep, never measured)."""

from __future__ import annotations

import pytest

from connectors.hubspot import HubSpotConnector
from connectors.retry import RetryPolicy
from connectors.salesforce import SalesforceConnector
from mapping.errors import AuthenticationError, RateLimited, ServiceUnavailable


class _Flaky:
    """Fails with each error of ``errors`` in turn, then answers ``done``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_retryable_errors_are_retried_with_exponential_backoff_then_succeed() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=4, backoff_initial=0.5, backoff_max=10.0)
    flaky = _Flaky(ServiceUnavailable("503"), ServiceUnavailable("503"))
    assert policy.retrying(sleep=sleeps.append)(flaky) == "done"
    assert flaky.calls == 3
    assert sleeps == [0.5, 1.0]


def test_a_servers_retry_after_is_honoured_unless_the_policy_says_not_to() -> None:
    honour: list[float] = []
    RetryPolicy().retrying(sleep=honour.append)(_Flaky(RateLimited("429", retry_after=7)))
    assert honour == [7.0]
    ignore: list[float] = []
    policy = RetryPolicy(honour_retry_after=False, backoff_initial=0.25)
    policy.retrying(sleep=ignore.append)(_Flaky(RateLimited("429", retry_after=7)))
    assert ignore == [0.25]


def test_an_error_the_connector_already_waited_for_is_retried_without_a_sleep() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(waited=(RateLimited,))
    policy.retrying(sleep=sleeps.append)(_Flaky(RateLimited("429", retry_after=9)))
    assert sleeps == [0.0]


def test_attempts_are_capped_and_the_last_error_is_raised() -> None:
    flaky = _Flaky(*(ServiceUnavailable("503") for _ in range(5)))
    with pytest.raises(ServiceUnavailable):
        RetryPolicy(max_attempts=3).retrying(sleep=lambda _: None)(flaky)
    assert flaky.calls == 3


def test_an_error_the_connector_did_not_name_retryable_is_raised_at_once() -> None:
    flaky = _Flaky(AuthenticationError("401"))
    with pytest.raises(AuthenticationError):
        RetryPolicy().retrying(sleep=lambda _: None)(flaky)
    assert flaky.calls == 1


def test_both_crm_connectors_declare_their_retry_policy_on_the_class() -> None:
    assert SalesforceConnector.retry_policy.retryable == (ServiceUnavailable, RateLimited)
    assert HubSpotConnector.retry_policy.waited  # the limiter waits out 429 windows
