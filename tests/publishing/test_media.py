"""Stored media: type from the bytes, streamed in and out, shared by every instance, signed links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from sdassist.client.models import Target
from sdassist.publishing.media import (
    CHUNK_SIZE,
    MediaError,
    MediaNotFound,
    MediaStore,
    SignatureRefused,
    check_media_files,
    chunks_of,
    sniff,
)
from tests.conftest import TEST_DATABASE_URL
from tests.media_samples import jpeg, mp4, png


def _url(tmp_path: Path) -> str:
    return TEST_DATABASE_URL or f"sqlite+aiosqlite:///{tmp_path / 'media.db'}"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[MediaStore]:
    media = await MediaStore.open(_url(tmp_path), tmp_path)
    yield media
    await media.close()


async def leftovers(store: MediaStore) -> int:
    """Files and chunks stored anywhere (a refused file must leave none)."""
    from sqlalchemy import func, select

    from sdassist.publishing.media import chunks_table

    async with store._engine.connect() as conn:
        rows = (await conn.execute(select(func.count()).select_from(chunks_table))).scalar()
    files = list(store.directory.iterdir()) if store.directory is not None else []
    return int(rows or 0) + len(files)


async def _read(store: MediaStore, media_id: str) -> bytes:
    return b"".join([c async for c in store.read(await store.get(media_id))])


def test_the_type_comes_from_the_first_bytes() -> None:
    assert sniff(png()) == "image/png"
    assert sniff(jpeg()) == "image/jpeg"
    assert sniff(mp4()) == "video/mp4"
    assert sniff(b"%PDF-1.7 not a picture") is None


async def test_a_file_goes_in_and_comes_out_in_chunks(store: MediaStore) -> None:
    data = jpeg(3 * CHUNK_SIZE + 17)
    stored = await store.put(chunks_of(data, 1000), name="../../etc/launch photo.jpeg", owner="U1", max_bytes=10**8)
    assert (stored.mime_type, stored.size, stored.name) == ("image/jpeg", len(data), "launch-photo.jpeg")
    chunks = [c async for c in store.read(stored)]
    assert max(len(c) for c in chunks) <= CHUNK_SIZE and b"".join(chunks) == data


async def test_the_name_gets_the_real_type_s_extension(store: MediaStore) -> None:
    stored = await store.put(chunks_of(png()), name="notes.txt", owner="U1", max_bytes=10**6)
    assert stored.name == "notes.txt.png"


async def test_files_live_in_the_database_on_a_server_database(tmp_path: Path) -> None:
    """PostgreSQL keeps the bytes in the database (every instance reads them); the same code path on SQLite."""
    first = await MediaStore.open(_url(tmp_path), tmp_path)
    shared = MediaStore(first._engine, directory=None)
    try:
        stored = await shared.put(chunks_of(mp4(CHUNK_SIZE + 5)), name="clip.mp4", owner="U1", max_bytes=10**8)
        assert stored.in_database
        assert await _read(shared, stored.id) == mp4(CHUNK_SIZE + 5)
    finally:
        await first.close()


async def test_what_is_not_an_image_or_video_is_refused_and_nothing_kept(store: MediaStore) -> None:
    with pytest.raises(MediaError, match=r"report\.pdf is not an image or a video") as caught:
        await store.put(chunks_of(b"%PDF-1.7" + b"x" * 100), name="report.pdf", owner="U1", max_bytes=10**6)
    assert "JPEG, PNG" in (caught.value.hint or "")
    assert await leftovers(store) == 0


async def test_a_file_past_the_limit_is_refused_while_it_streams(store: MediaStore) -> None:
    async def endless() -> AsyncIterator[bytes]:
        yield jpeg(1000)
        while True:
            yield b"\x00" * 100_000

    with pytest.raises(MediaError, match=r"big.jpg is larger than 2.0 MB") as caught:
        await store.put(endless(), name="big.jpg", owner="U1", max_bytes=2_000_000)
    assert "SDASSIST_MEDIA_MAX_MB" in (caught.value.hint or "")
    assert await leftovers(store) == 0


async def test_signed_links_verify_and_refuse_tampering_and_expiry(store: MediaStore) -> None:
    stored = await store.put(chunks_of(png()), name="a.png", owner="U1", max_bytes=10**6)
    url = await store.signed_url(stored, base_url="https://sd.example.com/", ttl=60)
    parts = urlsplit(url)
    assert parts.path == f"/media/{stored.id}/a.png"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (await store.verify(stored.id, query["exp"], query["sig"])).id == stored.id
    with pytest.raises(SignatureRefused, match="signature does not match"):
        await store.verify(stored.id, str(int(query["exp"]) + 3600), query["sig"])  # a longer life
    with pytest.raises(SignatureRefused, match="signature does not match"):
        await store.verify("mf_" + "a" * 24, query["exp"], query["sig"])  # another file
    with pytest.raises(SignatureRefused, match="not signed"):
        await store.verify(stored.id, None, None)
    later = datetime.now(UTC) + timedelta(seconds=61)
    with pytest.raises(SignatureRefused, match="expired"):
        await store.verify(stored.id, query["exp"], query["sig"], now=later)


async def test_every_instance_signs_with_one_key(tmp_path: Path) -> None:
    """Without SDASSIST_MEDIA_SECRET the key lives in the database, so a link made by one instance is
    served by another."""
    one = await MediaStore.open(_url(tmp_path), tmp_path)
    two = await MediaStore.open(_url(tmp_path), tmp_path)
    try:
        stored = await one.put(chunks_of(png()), name="a.png", owner="U1", max_bytes=10**6)
        query = {k: v[0] for k, v in parse_qs(urlsplit(
            await one.signed_url(stored, base_url="https://x", ttl=60)).query).items()}
        assert (await two.verify(stored.id, query["exp"], query["sig"])).sha256 == stored.sha256
        with pytest.raises(MediaNotFound):
            await two.get("mf_missing")
    finally:
        await one.close()
        await two.close()


async def test_file_rules_per_platform(store: MediaStore) -> None:
    photo = await store.put(chunks_of(png()), name="a.png", owner="U1", max_bytes=10**6)
    instagram = Target(platform="instagram", account_id="acc_1")
    threads = Target(platform="threads", account_id="acc_2")
    problems = [p.message for p in check_media_files([photo], [instagram, threads]).errors]
    assert problems == ["instagram: a.png is image/png, images must be JPEG: convert it and attach it again"]
    big = ("huge.jpg", "image/jpeg", 9_500_000)
    clip = ("clip.mp4", "video/mp4", 1000)
    messages = [p.message for p in check_media_files([big, clip], [threads]).errors]
    assert "threads: huge.jpg is 9.5 MB, the limit for an image is 8.0 MB: make it smaller" in messages
    assert any("video is not supported" in m for m in messages)
    assert any("(carousels) are not supported" in m for m in messages)


async def test_files_older_than_the_store_keeps_them_are_forgotten(store: MediaStore) -> None:
    old = await store.put(chunks_of(jpeg(CHUNK_SIZE + 10)), name="old.jpg", owner="U1", max_bytes=10**8)
    later = datetime.now(UTC) + store.keep + timedelta(minutes=1)
    fresh = await store.put(chunks_of(png()), name="new.png", owner="U1", max_bytes=10**6)
    assert await store.prune(now=later - timedelta(minutes=2)) == 0
    assert await store.prune(now=later) == 2  # both are older than `keep` by then
    with pytest.raises(MediaNotFound):
        await store.get(old.id)
    with pytest.raises(MediaNotFound):
        await store.get(fresh.id)
    assert await leftovers(store) == 0
