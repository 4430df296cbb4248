"""Suite-wide fixtures. Real services (Kafka-protocol broker, Redis) are started by the fixtures in
tests/services/, once per session, on free loopback ports, and stopped at the end."""

from __future__ import annotations

pytest_plugins = ["tests.services.kafka", "tests.services.redis", "tests.services.s3"]
