"""Fixtures of the media storage conformance suite (style habit 8).

Every test using `storage` runs twice: on the local disk (a temporary directory) and on
S3 (moto's standalone server, one per session, a fresh bucket per test).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from aiobotocore.session import get_session

from server.media import MediaStorage, open_media_storage
from tests.moto_s3 import S3_ENV, moto_server


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    saved = {name: os.environ.get(name) for name in S3_ENV}
    os.environ.update(S3_ENV)
    try:
        with moto_server() as endpoint:
            yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def make_bucket(endpoint: str, bucket: str = "") -> str:
    bucket = bucket or f"media-{uuid.uuid4().hex[:12]}"
    async with get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
    ) as client:
        await client.create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(params=["local", "s3"])
async def storage(request, tmp_path) -> AsyncIterator[MediaStorage]:  # type: ignore[no-untyped-def]
    if request.param == "local":
        backend = open_media_storage(f"file://{tmp_path}/media")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = await make_bucket(endpoint)
        backend = open_media_storage(f"s3://{bucket}/beckon", endpoint=endpoint)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()
