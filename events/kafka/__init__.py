"""The ``kafka://`` backend of the event log (aiokafka; tested against a local tansu broker)."""

from .log import KafkaLog, open_kafka_log
from .wire import DEFAULT_TOPIC, parse_kafka_url

__all__ = ["DEFAULT_TOPIC", "KafkaLog", "open_kafka_log", "parse_kafka_url"]
