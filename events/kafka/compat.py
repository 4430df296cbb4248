"""Teach aiokafka ``InitProducerId`` v3 so its idempotent producer works with brokers that need it.

aiokafka (0.14) only speaks ``InitProducerId`` v0, which has no ``producer_id``/``producer_epoch``
fields. Kafka itself treats v0 as "new producer, epoch -1", but some Kafka-protocol brokers (tansu
0.6, the broker our tests run) read the missing fields as absent and answer ``UNKNOWN_SERVER_ERROR``,
so ``enable_idempotence=True`` cannot start. Version 3 (Kafka >= 2.5, a flexible version) carries
``producer_id=-1, producer_epoch=-1`` explicitly, which both Kafka and tansu accept. The client still
negotiates the version from the broker's ``ApiVersions``: an older Kafka keeps getting v0.

``install()`` swaps the request builder the producer's sender uses; it does nothing when aiokafka
already knows a version above 0.
"""

from __future__ import annotations

from typing import Any

import aiokafka.producer.sender as _sender
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.transaction import InitProducerIdRequest as _StockRequest
from aiokafka.protocol.transaction import InitProducerIdRequest_v0
from aiokafka.protocol.types import CompactString, Int16, Int32, Int64, Schema, TaggedFields

__all__ = ["InitProducerIdRequestV3", "install"]


class InitProducerIdResponse_v3(Response):  # type: ignore[misc]
    API_KEY = 22
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("tags", TaggedFields),
    )


class InitProducerIdRequest_v3(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 22
    API_VERSION = 3
    RESPONSE_TYPE = InitProducerIdResponse_v3
    SCHEMA = Schema(
        ("transactional_id", CompactString("utf-8")),
        ("transaction_timeout_ms", Int32),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("tags", TaggedFields),
    )


class InitProducerIdRequestV3(Request[InitProducerIdRequest_v0 | InitProducerIdRequest_v3]):  # type: ignore[misc]
    """``InitProducerId`` builder offering v0 and v3 (the highest the broker supports wins)."""

    API_KEY = 22

    def __init__(self, transactional_id: str | None, transaction_timeout_ms: int) -> None:
        self._transactional_id = transactional_id
        self._timeout_ms = transaction_timeout_ms

    def build(self, request_struct_class: type[Any]) -> Any:
        if request_struct_class.API_VERSION == 0:
            return request_struct_class(self._transactional_id, self._timeout_ms)
        # producer_id/epoch -1: "a new producer", exactly what v0 means implicitly.
        return request_struct_class(self._transactional_id, self._timeout_ms, -1, -1, {})


def install() -> None:
    """Make aiokafka's producer negotiate ``InitProducerId`` up to v3 (idempotent, safe to repeat)."""
    stock_versions = [c.API_VERSION for c in _StockRequest._CLASSES]
    if max(stock_versions) > 0:
        return  # aiokafka grew newer versions itself: keep its own
    _sender.InitProducerIdRequest = InitProducerIdRequestV3
