"""Small media files made in the test: a real 1×1 PNG, and JPEG / MP4 files of a chosen size.

Only their first bytes matter to sdassist (it reads the type from them); the rest is filler of the
asked-for length, so size rules can be tested without shipping large files.
"""

from __future__ import annotations

import struct
import zlib


def png() -> bytes:
    """A valid 1×1 red PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg(size: int = 2048) -> bytes:
    """A JPEG-headed file of exactly `size` bytes."""
    head, tail = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", b"\xff\xd9"
    return head + bytes(i % 251 for i in range(size - len(head) - len(tail))) + tail


def mp4(size: int = 4096) -> bytes:
    """An MP4-headed file (an `ftyp` box, brand isom) of exactly `size` bytes."""
    head = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
    return head + bytes(i % 253 for i in range(size - len(head)))
