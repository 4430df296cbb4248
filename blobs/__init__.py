"""The blob store port: uploads, HLS renditions, thumbnails and model artifacts, by server-generated key."""

from .errors import (
    BlobError,
    BlobNotFoundError,
    BlobTooLargeError,
    BlobUnavailableError,
    InvalidBlobKeyError,
    UnsupportedBlobURLError,
)
from .keys import check_key, check_prefix, join_key
from .store import BlobInfo, BlobStore, BlobWriter, open_blobs, register_blobs

__all__ = [
    "BlobError",
    "BlobInfo",
    "BlobNotFoundError",
    "BlobStore",
    "BlobTooLargeError",
    "BlobUnavailableError",
    "BlobWriter",
    "InvalidBlobKeyError",
    "UnsupportedBlobURLError",
    "check_key",
    "check_prefix",
    "join_key",
    "open_blobs",
    "register_blobs",
]
