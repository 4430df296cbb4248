"""Session fixtures ``s3_endpoint`` / ``s3_options``: a real S3 API (moto_server) on a free loopback port.

Started once per session and stopped at the end; a missing ``moto_server`` fails the tests with the
install command (S3 tests are never skipped).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reelstack.services import MotoNotFoundError, moto_s3_server

__all__ = ["S3_CREDENTIALS", "s3_endpoint"]

#: moto accepts any credentials; boto3 needs some.
S3_CREDENTIALS = {"access_key": "reeltest", "secret_key": "reeltest-secret"}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    try:
        with moto_s3_server() as endpoint:
            yield endpoint
    except MotoNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)
