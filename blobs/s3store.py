"""``s3://BUCKET``: blobs in any S3-API object store through boto3 (AWS, MinIO, Ceph, moto_server).

URL: ``s3://BUCKET[/PREFIX]?endpoint=http://127.0.0.1:9000&region=us-east-1&create=1``; the endpoint
may also come as the ``endpoint`` option (from settings). Credentials come from the options
(``access_key``, ``secret_key``) or boto3's usual chain. Streams are sent in one ``PutObject`` when they
fit in ``part_size`` and as a multipart upload otherwise (aborted on any failure or limit breach, so
nothing partial is ever visible). Driver errors become ``BlobNotFoundError``/``BlobUnavailableError``.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .errors import BlobError, BlobNotFoundError, BlobUnavailableError, UnsupportedBlobURLError
from .keys import check_key, check_prefix
from .store import BlobInfo, BlobStoreBase, BlobWriter, _Limit

__all__ = ["MIN_PART_SIZE", "S3BlobStore", "open_s3_blobs"]

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
DEFAULT_PART_SIZE = 8 * 1024 * 1024
_MISSING = {"NoSuchKey", "404", "NotFound", "NoSuchBucket"}


def _truthy(v: str | None) -> bool:
    return v is not None and v.lower() in ("1", "true", "yes", "on")


class _Body(io.RawIOBase):
    """A boto3 StreamingBody as a file object."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._body.read(len(b))
        n = len(data)
        b[:n] = data
        return n

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class _S3Writer:
    def __init__(self, store: S3BlobStore, key: str, max_bytes: int | None, content_type: str | None) -> None:
        self.key = key
        self._store = store
        self._obj = store.object_key(key)
        self._limit = _Limit(key, max_bytes)
        self._content_type = content_type or "application/octet-stream"
        self._buf = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._done = False

    @property
    def size(self) -> int:
        return self._limit.size

    def write(self, data: bytes) -> None:
        if self._done:
            raise BlobUnavailableError(
                url=self._store.url,
                operation=f"write {self.key}",
                detail="the write was already committed or aborted",
            )
        try:
            self._limit.add(data)
            self._buf += data
            while len(self._buf) >= self._store.part_size:
                part = bytes(self._buf[: self._store.part_size])
                del self._buf[: self._store.part_size]
                self._send_part(part)
        except BaseException:
            self.abort()
            raise

    def _send_part(self, data: bytes) -> None:
        s = self._store
        with s.translate(f"upload part of {self.key}", self.key):
            if self._upload_id is None:
                r = s.client.create_multipart_upload(
                    Bucket=s.bucket, Key=self._obj, ContentType=self._content_type
                )
                self._upload_id = r["UploadId"]
            n = len(self._parts) + 1
            r = s.client.upload_part(
                Bucket=s.bucket, Key=self._obj, UploadId=self._upload_id, PartNumber=n, Body=data
            )
            self._parts.append({"PartNumber": n, "ETag": r["ETag"]})

    def commit(self) -> BlobInfo:
        if self._done:
            raise BlobUnavailableError(
                url=self._store.url,
                operation=f"commit {self.key}",
                detail="the write was already committed or aborted",
            )
        s = self._store
        info = self._limit.info()
        try:
            if self._upload_id is None:
                with s.translate(f"put {self.key}", self.key):
                    s.client.put_object(
                        Bucket=s.bucket,
                        Key=self._obj,
                        Body=bytes(self._buf),
                        ContentType=self._content_type,
                        Metadata={"sha256": info.sha256},
                    )
            else:
                if self._buf:
                    self._send_part(bytes(self._buf))
                with s.translate(f"complete {self.key}", self.key):
                    s.client.complete_multipart_upload(
                        Bucket=s.bucket,
                        Key=self._obj,
                        UploadId=self._upload_id,
                        MultipartUpload={"Parts": self._parts},
                    )
        except BaseException:
            self.abort()
            raise
        self._done = True
        self._buf = bytearray()
        return info

    def abort(self) -> None:
        self._done = True
        self._buf = bytearray()
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            s = self._store
            # if this fails too, the bucket's lifecycle rule for incomplete uploads cleans up
            with contextlib.suppress(ClientError, BotoCoreError):
                s.client.abort_multipart_upload(Bucket=s.bucket, Key=self._obj, UploadId=upload_id)


class S3BlobStore(BlobStoreBase):
    """Blobs as objects of one bucket (under an optional key prefix); see the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        create_bucket: bool | None = None,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise UnsupportedBlobURLError(url=url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.url = url
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        if self.prefix:
            check_key(self.prefix)
        self.endpoint = endpoint or query.get("endpoint")
        self.region = region or query.get("region") or "us-east-1"
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum part size)")
        self.part_size = part_size
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
                s3={"addressing_style": "path"},
            ),
        )
        create = create_bucket if create_bucket is not None else _truthy(query.get("create"))
        if create:
            self.create_bucket()

    def create_bucket(self) -> None:
        """Create the bucket unless it exists (idempotent)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in _MISSING:
                raise BlobUnavailableError(
                    url=self.url, operation="check the bucket", detail=str(exc)
                ) from exc
        except BotoCoreError as exc:
            raise BlobUnavailableError(url=self.url, operation="check the bucket", detail=str(exc)) from exc
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.client.create_bucket(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in (
                "BucketAlreadyOwnedByYou",
                "BucketAlreadyExists",
            ):
                raise BlobUnavailableError(
                    url=self.url, operation="create the bucket", detail=str(exc)
                ) from exc
        except BotoCoreError as exc:
            raise BlobUnavailableError(url=self.url, operation="create the bucket", detail=str(exc)) from exc

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def translate(self, operation: str, key: str | None = None) -> Iterator[None]:
        """Turn boto errors into ours."""
        try:
            yield
        except BlobError:
            raise
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if key is not None and code in _MISSING:
                raise BlobNotFoundError(key=key, url=self.url) from None
            raise BlobUnavailableError(url=self.url, operation=operation, detail=str(exc)) from exc
        except BotoCoreError as exc:
            raise BlobUnavailableError(url=self.url, operation=operation, detail=str(exc)) from exc

    def writer(
        self, key: str, *, max_bytes: int | None = None, content_type: str | None = None
    ) -> BlobWriter:
        check_key(key)
        return _S3Writer(self, key, max_bytes, content_type)

    def open(self, key: str) -> BinaryIO:
        obj = self.object_key(key)
        with self.translate(f"read {key}", key):
            r = self.client.get_object(Bucket=self.bucket, Key=obj)
        return io.BufferedReader(_Body(r["Body"]), 1024 * 1024)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise ValueError("start and length must not be negative")
        obj = self.object_key(key)
        if length == 0:
            self.size(key)
            return b""
        try:
            with self.translate(f"read {key}", key):
                r = self.client.get_object(
                    Bucket=self.bucket, Key=obj, Range=f"bytes={start}-{start + length - 1}"
                )
        except BlobUnavailableError as exc:
            if "InvalidRange" in exc.detail or "416" in exc.detail:
                return b""
            raise
        data: bytes = r["Body"].read()
        return data

    def size(self, key: str) -> int:
        obj = self.object_key(key)
        with self.translate(f"stat {key}", key):
            r = self.client.head_object(Bucket=self.bucket, Key=obj)
        return int(r["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        obj = self.object_key(key)
        with self.translate(f"delete {key}"):
            self.client.delete_object(Bucket=self.bucket, Key=obj)

    def list(self, prefix: str = "") -> list[str]:
        check_prefix(prefix)
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        out: list[str] = []
        with self.translate(f"list {prefix!r}"):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            ):
                out.extend(item["Key"][strip:] for item in page.get("Contents", ()))
        return sorted(out)

    def url_for(self, key: str) -> str:
        obj = self.object_key(key)
        if self.endpoint:
            return f"{self.endpoint.rstrip('/')}/{self.bucket}/{obj}"
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com/{obj}"

    def close(self) -> None:
        self.client.close()


def open_s3_blobs(url: str, **options: Any) -> S3BlobStore:
    return S3BlobStore(url, **options)
