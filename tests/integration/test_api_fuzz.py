"""OpenAPI fuzzing of the running app with schemathesis: no request, however odd, gets a 5xx answer.

Each generated case carries a fresh admin token (a new user id per case, so per-user rate limits do
not turn the run into a 429 test) and any status below 500 is accepted; schema conformance of the
answers is checked too (status codes and bodies match the documented responses where documented).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from events.ids import now_us
from serve.api.auth import Principal, sign_token

pytestmark = pytest.mark.timeout(600)
EXAMPLES = 8


def test_no_server_errors(api_platform: Any) -> None:
    """Every documented operation, ``EXAMPLES`` generated cases each (schemathesis strategies driven by
    hypothesis directly: its pytest plugin does not load under this pytest)."""
    secret = str(api_platform.settings.auth_secret).encode()
    schema = schemathesis.openapi.from_url(api_platform.base_url + "/openapi.json")
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def run(case: Any) -> None:
            nonlocal calls
            token = sign_token(Principal(user_id=f"u-fuzz-{uuid.uuid4()}", role="admin",
                                         expires_at=now_us() + 600_000_000), secret)
            response = case.call(headers={"Authorization": f"Bearer {token}"}, timeout=60)
            calls += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                f"{response.text[:300]}")
            elif response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
                body = response.json()
                assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body

        run()
    print(f"fuzzed {calls} requests over {len(list(schema.get_all_operations()))} operations")
    assert calls > 0 and not failures, failures
