"""Media in S3-compatible object storage (AWS S3, MinIO, Ceph, R2, …) via aiobotocore.

Credentials come the standard AWS way (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`,
a profile or an instance role); `endpoint` points at a non-AWS service. A PUT of a
whole object is atomic in S3, so a node killed mid-upload leaves nothing under the key.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from server.media.storage import MediaNotFound, MediaUnavailable, check_key

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3Storage:
    def __init__(self, bucket: str, prefix: str, endpoint: str, region: str) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.endpoint = endpoint or None
        self.region = region
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    async def open(self) -> None:
        # Bounded so an unreachable endpoint is MediaUnavailable within seconds, not a hang.
        config = AioConfig(
            connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"}
        )
        self._stack = AsyncExitStack()
        self._client = await self._stack.enter_async_context(
            get_session().create_client(
                "s3", endpoint_url=self.endpoint, region_name=self.region, config=config
            )
        )

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        name = self._name(key)
        try:
            await self._client.put_object(
                Bucket=self.bucket, Key=name, Body=data, ContentType=content_type
            )
        except (ClientError, BotoCoreError) as exc:
            raise MediaUnavailable(f"media write failed: {exc}") from None

    async def get(self, key: str) -> bytes:
        name = self._name(key)
        try:
            answer = await self._client.get_object(Bucket=self.bucket, Key=name)
            async with answer["Body"] as body:
                return await body.read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise MediaNotFound(key) from None
            raise MediaUnavailable(f"media read failed: {exc}") from None
        except BotoCoreError as exc:
            raise MediaUnavailable(f"media read failed: {exc}") from None

    async def exists(self, key: str) -> bool:
        name = self._name(key)
        try:
            await self._client.head_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise MediaUnavailable(f"media lookup failed: {exc}") from None
        except BotoCoreError as exc:
            raise MediaUnavailable(f"media lookup failed: {exc}") from None
        return True

    async def delete(self, key: str) -> None:
        name = self._name(key)
        try:
            await self._client.delete_object(Bucket=self.bucket, Key=name)
        except (ClientError, BotoCoreError) as exc:
            raise MediaUnavailable(f"media delete failed: {exc}") from None

    async def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                found.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise MediaUnavailable(f"media listing failed: {exc}") from None
        return sorted(found)
