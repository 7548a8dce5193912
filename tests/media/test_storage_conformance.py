"""One suite for every media storage: the same bodies on the local disk and on S3."""

from __future__ import annotations

import asyncio

import pytest

from server.media import MediaNotFound, MediaUnavailable, check_key, open_media_storage
from tests.beckon_process import free_port


async def test_put_then_get_returns_the_same_bytes(storage) -> None:  # type: ignore[no-untyped-def]
    data = bytes(range(256)) * 40
    await storage.put("site1/att_1/original", data, "application/pdf")
    assert await storage.get("site1/att_1/original") == data
    assert await storage.exists("site1/att_1/original") is True


async def test_get_of_a_missing_key_is_not_found(storage) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MediaNotFound):
        await storage.get("site1/nothing/original")
    assert await storage.exists("site1/nothing/original") is False


async def test_put_replaces_the_whole_object(storage) -> None:  # type: ignore[no-untyped-def]
    await storage.put("s/a/original", b"a much longer first version", "text/plain")
    await storage.put("s/a/original", b"short", "text/plain")
    assert await storage.get("s/a/original") == b"short"


async def test_empty_object_round_trips(storage) -> None:  # type: ignore[no-untyped-def]
    await storage.put("s/empty/original", b"", "application/octet-stream")
    assert await storage.get("s/empty/original") == b""


async def test_delete_removes_and_is_idempotent(storage) -> None:  # type: ignore[no-untyped-def]
    await storage.put("s/a/original", b"x", "text/plain")
    await storage.delete("s/a/original")
    await storage.delete("s/a/original")
    with pytest.raises(MediaNotFound):
        await storage.get("s/a/original")


async def test_keys_lists_by_prefix_sorted(storage) -> None:  # type: ignore[no-untyped-def]
    for key in ("s1/b/original", "s1/a/thumb", "s1/a/original", "s2/c/original"):
        await storage.put(key, b"x", "text/plain")
    assert await storage.keys("s1/") == ["s1/a/original", "s1/a/thumb", "s1/b/original"]
    assert await storage.keys("s1/a/") == ["s1/a/original", "s1/a/thumb"]
    assert await storage.keys("nobody/") == []


async def test_concurrent_puts_of_one_key_leave_one_whole_object(storage) -> None:  # type: ignore[no-untyped-def]
    versions = [bytes([n]) * 50_000 for n in range(8)]
    await asyncio.gather(*(storage.put("s/race/original", v, "text/plain") for v in versions))
    assert await storage.get("s/race/original") in versions


@pytest.mark.parametrize(
    "key",
    ["../etc/passwd", "/abs/path", "s/../../x", "s/./x", "s//x", "", "s/a b", "s/a\x00", "s\\x"],
)
async def test_keys_that_could_escape_the_root_are_refused(storage, key) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="invalid media key"):
        await storage.put(key, b"x", "text/plain")
    with pytest.raises(ValueError, match="invalid media key"):
        await storage.get(key)


def test_check_key_accepts_server_keys() -> None:
    assert check_key("site_1/att-XYZ/thumb.jpg") == "site_1/att-XYZ/thumb.jpg"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://x/y", "unknown media storage scheme 'ftp' (expected file:// or s3://)"),
        ("s3:///prefix", "an s3:// media URL needs a bucket: s3://bucket/prefix"),
        ("file://relative", "a file:// media URL needs an absolute path"),
    ],
)
def test_open_media_storage_refuses_bad_urls(url, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        open_media_storage(url)


async def test_s3_endpoint_down_is_unavailable_not_a_hang(s3_endpoint) -> None:  # type: ignore[no-untyped-def]
    storage = open_media_storage("s3://bucket/p", endpoint=f"http://127.0.0.1:{free_port()}")
    await storage.open()
    try:
        async with asyncio.timeout(60):
            with pytest.raises(MediaUnavailable, match="media write failed"):
                await storage.put("s/a/original", b"x", "text/plain")
            with pytest.raises(MediaUnavailable, match="media read failed"):
                await storage.get("s/a/original")
    finally:
        await storage.close()


async def test_local_directory_that_cannot_be_created_is_unavailable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "file").write_text("not a directory")
    storage = open_media_storage(f"file://{tmp_path}/file/media")
    with pytest.raises(MediaUnavailable, match="media directory"):
        await storage.open()
