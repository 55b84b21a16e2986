"""Media files people attach: checked, stored where every instance can read them, served at signed URLs.

SocialDock takes media only as a URL it fetches (`POST /media`). A file someone attaches in Slack or hands
an assistant is therefore stored here first, then offered to SocialDock at a signed, expiring URL under
`SDASSIST_PUBLIC_URL` (the web face serves it; `sdassist.web.media`). Files live in the database on
PostgreSQL (every instance reads them) and in the data directory beside the SQLite file otherwise. They go
in and out in chunks: nothing is held whole in memory, however large.

The type is read from the file's first bytes, never from its name, and only images and videos the
platforms take are stored. The signature is an HMAC of the file id and the expiry under a key that every
instance shares (`SDASSIST_MEDIA_SECRET`, else one random key kept in the database).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from sdassist.db import release_engine, shared_engine
from sdassist.publishing.drafts import as_utc, utcnow
from sdassist.publishing.platforms import DraftCheck, TargetLike, check_post, megabytes

__all__ = [
    "ACCEPTED_TYPES",
    "CHUNK_SIZE",
    "MEDIA_PATH",
    "MediaError",
    "MediaFile",
    "MediaStore",
    "check_media_files",
    "chunks_of",
    "file_keys",
    "sniff",
]

log = logging.getLogger("sdassist.media")
PRUNE_EVERY = 3600.0  # seconds between looks for files older than the store keeps them
CHUNK_SIZE = 256 * 1024
"""Bytes per stored chunk and per read: the most of one file held in memory at a time."""
MEDIA_PATH = "/media"
"""Where the web face serves signed media URLs: `{SDASSIST_PUBLIC_URL}/media/{id}/{name}?exp=…&sig=…`."""

#: What sdassist stores: the image and video formats the platforms take, by mime type, with an extension.
ACCEPTED_TYPES: dict[str, str] = {
    "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
    "video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm", "video/x-m4v": "m4v",
}
ACCEPTED_NAMES = "JPEG, PNG, GIF, WebP images or MP4, MOV, WebM videos"
MEDIA_RULES = frozenset({"media_kind", "media_format", "media_size", "carousel", "max_media", "video_required",
                         "video_count"})
"""The platform rules about attached files (type, size, count)."""

metadata = MetaData()

media_table = Table(
    "sdassist_media",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("mime_type", String(60), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("source", String(300), nullable=True, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("socialdock_url", String(1000), nullable=True, index=True),
    Column("socialdock_id", String(80), nullable=True),
    Column("in_database", Integer, nullable=False),
)

chunks_table = Table(
    "sdassist_media_chunks",
    metadata,
    Column("media_id", String(40), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

URL_SIGNING_KEY = "url-signing"
REQUEST_STATE_KEY = "request-state"
"""The names of the random keys kept in `keys_table` (43 URL-safe characters each)."""

keys_table = Table(
    "sdassist_media_keys",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)


class MediaError(Exception):
    """A file sdassist will not store or serve, with the reason and what to do (`hint`)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


class MediaNotFound(MediaError):
    """No stored file with this id (never stored, or removed)."""


class SignatureRefused(MediaError):
    """A media URL whose signature does not match, or whose time is up."""


@dataclass(frozen=True)
class MediaFile:
    """One stored file; `socialdock_url` once SocialDock has fetched it (`POST /media`)."""

    id: str
    name: str
    mime_type: str
    size: int
    sha256: str
    owner: str
    created_at: datetime
    source: str | None = None
    socialdock_url: str | None = None
    socialdock_id: str | None = None
    in_database: bool = False

    @property
    def kind(self) -> str:
        return self.mime_type.split("/", 1)[0]

    @property
    def size_text(self) -> str:
        return megabytes(self.size)


def sniff(head: bytes) -> str | None:
    """The mime type a file's first bytes show (at least 12 of them), among ACCEPTED_TYPES; None otherwise."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        if brand.startswith(b"M4V"):
            return "video/x-m4v"
        return "video/mp4"
    return None


def safe_name(name: str | None, mime_type: str) -> str:
    """A file name fit for a URL path and a header: no directories, no control characters, the right
    extension for its real type (SocialDock reads the type from it)."""
    base = os.path.basename((name or "").replace("\\", "/")).strip() or "file"
    base = "".join(c if c.isalnum() or c in "-_." else "-" for c in base).strip(".-")[:120] or "file"
    ext = ACCEPTED_TYPES[mime_type]
    _, dot, current = base.rpartition(".")
    if dot and current.lower() in (ext, "jpeg" if ext == "jpg" else ext):
        return base
    return f"{base}.{ext}"


FileFacts = MediaFile | tuple[str, str, int]
"""A stored file, or (name, mime type, size) as Slack describes a file not yet downloaded."""


def file_keys(files: Sequence[FileFacts]) -> tuple[list[str], dict[str, str], dict[str, int]]:
    """Files as check_post sees media: stand-in URLs (named like the file, for the messages), types, sizes."""
    urls, types, sizes = [], {}, {}
    for i, f in enumerate(files):
        name, mime, size = (f.name, f.mime_type, f.size) if isinstance(f, MediaFile) else f
        key = f"file:{i}/{name}"
        urls.append(key)
        types[key], sizes[key] = mime, size
    return urls, types, sizes


def check_media_files(files: Sequence[FileFacts], targets: Sequence[TargetLike]) -> DraftCheck:
    """Only the platform rules about files (type, size, count) for these targets."""
    urls, types, sizes = file_keys(files)
    check = check_post(text="-", title="-", targets=targets, media_urls=urls, media_types=types, media_sizes=sizes)
    return DraftCheck(tuple(p for p in check.problems if p.rule in MEDIA_RULES))


async def chunks_of(data: bytes, size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """Bytes already in memory (a small base64 upload) as chunks."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def file_chunks(path: Path, size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """A local file's bytes, read in a thread a chunk at a time."""
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, size):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


def _new_id() -> str:
    return "mf_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()


def _row(row: Any) -> MediaFile:
    return MediaFile(id=row.id, name=row.name, mime_type=row.mime_type, size=int(row.size), sha256=row.sha256,
                     owner=row.owner, created_at=as_utc(row.created_at) or utcnow(), source=row.source,
                     socialdock_url=row.socialdock_url, socialdock_id=row.socialdock_id,
                     in_database=bool(row.in_database))


class MediaStore:
    """Stored files: their record in the shared database, their bytes in it (PostgreSQL) or beside it."""

    def __init__(self, engine: AsyncEngine, *, directory: Path | None, secret: str | None = None,
                 keep: timedelta = timedelta(days=30)) -> None:
        self._engine = engine
        self.directory = directory  # None: bytes in the database
        self._secret = secret.encode() if secret else None
        self._key: bytes | None = self._secret
        self.keep = keep
        self._pruned_at: float | None = None

    @classmethod
    async def open(cls, url: str, data_dir: Path, *, secret: str | None = None,
                   keep: timedelta = timedelta(days=30)) -> MediaStore:
        """On SQLite the bytes go to `data_dir/media` (one file per media file); else into the database.
        Files are kept for `keep` (SocialDock holds its own copy once it fetched one)."""
        engine = await shared_engine(url, metadata)  # the drafts' pool: one per process
        directory = data_dir / "media" if make_url(url).get_backend_name() == "sqlite" else None
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        return cls(engine, directory=directory, secret=secret, keep=keep)

    async def close(self) -> None:
        await release_engine(self._engine)

    # --- storing ---------------------------------------------------------------------------------------

    async def put(self, chunks: AsyncIterable[bytes], *, name: str | None, owner: str, max_bytes: int,
                  source: str | None = None) -> MediaFile:
        """Store a file as it streams in. Refused (nothing kept) when its first bytes are not an accepted
        image or video, or once it grows past `max_bytes`."""
        await self._prune_now_and_then()
        media_id = _new_id()
        digest, size, seq = hashlib.sha256(), 0, 0
        head = b""
        mime: str | None = None
        buffer = bytearray()
        writer = _FileWriter(self.directory / media_id) if self.directory is not None else None
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > max_bytes:
                    raise MediaError(f"{name or 'the file'} is larger than {megabytes(max_bytes)}, the most "
                                     "sdassist stores", hint="Attach a smaller file, or raise SDASSIST_MEDIA_MAX_MB.")
                digest.update(chunk)
                if mime is None:
                    head += chunk[:16]
                    if len(head) >= 12:
                        mime = self._accept(head, name)
                buffer += chunk
                while len(buffer) >= CHUNK_SIZE:
                    await self._write(writer, media_id, seq, bytes(buffer[:CHUNK_SIZE]))
                    del buffer[:CHUNK_SIZE]
                    seq += 1
            if mime is None:
                mime = self._accept(head, name)
            if size == 0:
                raise MediaError(f"{name or 'the file'} is empty", hint="Attach the image or video itself.")
            if buffer:
                await self._write(writer, media_id, seq, bytes(buffer))
            if writer is not None:
                await writer.finish()
            record = MediaFile(id=media_id, name=safe_name(name, mime), mime_type=mime, size=size,
                               sha256=digest.hexdigest(), owner=owner[:200], created_at=utcnow(),
                               source=source[:300] if source else None, in_database=writer is None)
            async with self._engine.begin() as conn:
                await conn.execute(insert(media_table).values(
                    id=record.id, name=record.name, mime_type=record.mime_type, size=record.size,
                    sha256=record.sha256, owner=record.owner, source=record.source, created_at=record.created_at,
                    in_database=int(record.in_database)))
            return record
        except BaseException:
            await self._discard(writer, media_id)
            raise

    async def prune(self, *, now: datetime | None = None, limit: int = 500) -> int:
        """Forget up to `limit` files stored longer ago than `keep`; how many went. Their links stop working
        (a card's old image), the posts do not: they carry SocialDock's copy."""
        cutoff = (now or utcnow()) - self.keep
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(media_table.c.id, media_table.c.in_database)
                                       .where(media_table.c.created_at < cutoff).limit(limit))).all()
        for row in rows:
            async with self._engine.begin() as conn:
                await conn.execute(delete(media_table).where(media_table.c.id == row.id))
                await conn.execute(delete(chunks_table).where(chunks_table.c.media_id == row.id))
            if not row.in_database and self.directory is not None:
                with contextlib.suppress(FileNotFoundError):
                    await asyncio.to_thread((self.directory / row.id).unlink)
        return len(rows)

    async def _prune_now_and_then(self) -> None:
        """Prune at most once an hour per process, on the way of a new file (no extra task to run)."""
        if self._pruned_at is not None and time.monotonic() - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = time.monotonic()
        try:
            await self.prune()
        except Exception as exc:  # storage housekeeping never stops a file from being stored
            log.warning("could not prune old media files: %s", type(exc).__name__)

    def _accept(self, head: bytes, name: str | None) -> str:
        mime = sniff(head)
        if mime is None:
            raise MediaError(f"{name or 'the file'} is not an image or a video sdassist can post",
                             hint=f"Attach {ACCEPTED_NAMES}.")
        return mime

    async def _write(self, writer: _FileWriter | None, media_id: str, seq: int, data: bytes) -> None:
        if writer is not None:
            await writer.write(data)
            return
        async with self._engine.begin() as conn:
            await conn.execute(insert(chunks_table).values(media_id=media_id, seq=seq, data=data))

    async def _discard(self, writer: _FileWriter | None, media_id: str) -> None:
        with contextlib.suppress(Exception):
            if writer is not None:
                await writer.abort()
            else:
                async with self._engine.begin() as conn:
                    await conn.execute(delete(chunks_table).where(chunks_table.c.media_id == media_id))

    # --- reading ---------------------------------------------------------------------------------------

    async def get(self, media_id: str) -> MediaFile:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(media_table).where(media_table.c.id == media_id[:40]))).first()
        if row is None:
            raise MediaNotFound(f"no stored media file {media_id}", hint="Attach the file again.")
        return _row(row)

    async def by_source(self, source: str) -> MediaFile | None:
        """The newest file stored from `source` (e.g. `slack:F0123`), if any."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(media_table).where(media_table.c.source == source[:300])
                                      .order_by(media_table.c.created_at.desc()).limit(1))).first()
        return _row(row) if row else None

    async def by_socialdock_urls(self, urls: Iterable[str]) -> dict[str, MediaFile]:
        """Stored files by the URL SocialDock gave them, for the URLs that are ours."""
        wanted = list(dict.fromkeys(u for u in urls if u))
        if not wanted:
            return {}
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(media_table).where(media_table.c.socialdock_url.in_(wanted)))).all()
        return {row.socialdock_url: _row(row) for row in rows}

    async def set_socialdock(self, media_id: str, url: str, socialdock_id: str | None) -> MediaFile:
        async with self._engine.begin() as conn:
            await conn.execute(update(media_table).where(media_table.c.id == media_id)
                               .values(socialdock_url=url[:1000], socialdock_id=socialdock_id))
        return await self.get(media_id)

    async def read(self, file: MediaFile) -> AsyncIterator[bytes]:
        """The file's bytes, a chunk at a time."""
        if not file.in_database:
            if self.directory is None:
                raise MediaNotFound(f"{file.name} was stored in another instance's data directory",
                                    hint="Run every instance on one PostgreSQL database (SDASSIST_DATABASE_URL).")
            async for chunk in file_chunks(self.directory / file.id):
                yield chunk
            return
        seq = 0
        while True:
            async with self._engine.connect() as conn:
                data = (await conn.execute(select(chunks_table.c.data).where(
                    chunks_table.c.media_id == file.id, chunks_table.c.seq == seq))).scalar()
            if data is None:
                return
            yield bytes(data)
            seq += 1

    # --- signed URLs -----------------------------------------------------------------------------------

    async def signing_key(self) -> bytes:
        """SDASSIST_MEDIA_SECRET, else the random key in the database (the first instance to need one makes it)."""
        if self._key is None:
            self._key = (await self.shared_key(URL_SIGNING_KEY)).encode()
        return self._key

    async def shared_key(self, name: str) -> str:
        """The random key called `name` in the database, made by the first instance that needs it: every
        instance on this database reads the same one (media URLs, the MCP server's requestState)."""
        fresh = secrets.token_urlsafe(32)
        async with self._engine.begin() as conn:
            with contextlib.suppress(IntegrityError):
                async with conn.begin_nested():
                    await conn.execute(insert(keys_table).values(name=name, value=fresh))
            value = (await conn.execute(select(keys_table.c.value).where(keys_table.c.name == name))).scalar()
        return str(value)

    async def _signature(self, media_id: str, expires: int) -> str:
        mac = hmac.new(await self.signing_key(), f"{media_id}:{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    async def signed_url(self, file: MediaFile, *, base_url: str, ttl: float, now: datetime | None = None) -> str:
        """`{base_url}/media/{id}/{name}?exp=…&sig=…`, good for `ttl` seconds."""
        expires = int((now or datetime.now(UTC)).timestamp() + ttl)
        sig = await self._signature(file.id, expires)
        return f"{base_url.rstrip('/')}{MEDIA_PATH}/{file.id}/{quote(file.name)}?exp={expires}&sig={sig}"

    async def verify(self, media_id: str, expires: str | None, sig: str | None,
                     now: datetime | None = None) -> MediaFile:
        """The file a signed URL names; SignatureRefused when tampered with or expired, MediaNotFound if gone."""
        if not expires or not expires.isdigit() or not sig:
            raise SignatureRefused("this media link is not signed", hint="Use the link sdassist made.")
        expected = await self._signature(media_id, int(expires))
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            raise SignatureRefused("this media link's signature does not match", hint="Use the link sdassist made.")
        if int(expires) < (now or datetime.now(UTC)).timestamp():
            raise SignatureRefused("this media link has expired", hint="sdassist makes a new link when needed.")
        return await self.get(media_id)


class _FileWriter:
    """Bytes to `path` through a `.part` file that is renamed once complete (never read half-written)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.part = path.with_suffix(".part")
        self._handle: Any = None

    async def write(self, data: bytes) -> None:
        if self._handle is None:
            self._handle = await asyncio.to_thread(self.part.open, "wb")
        await asyncio.to_thread(self._handle.write, data)

    async def finish(self) -> None:
        if self._handle is None:
            self._handle = await asyncio.to_thread(self.part.open, "wb")
        await asyncio.to_thread(self._handle.close)
        await asyncio.to_thread(os.replace, self.part, self.path)

    async def abort(self) -> None:
        if self._handle is not None:
            await asyncio.to_thread(self._handle.close)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self.part.unlink)
