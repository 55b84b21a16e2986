"""Platform-flavoured post ids, derived from a hash so the same post always gets the same id."""

from __future__ import annotations

import hashlib

_YT = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _number(seed: str) -> int:
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:16], "big")


def _digits(n: int, count: int) -> str:
    return str(n % 10**count).zfill(count)


def platform_post_id(platform: str, post_id: str, account_id: str) -> str:
    """An id shaped like the one each platform hands out (e.g. `urn:li:share:…` on LinkedIn)."""
    n = _number(f"{platform}|{post_id}|{account_id}")
    if platform == "facebook":
        return f"1{_digits(n, 14)}_1{_digits(n >> 50, 15)}"
    if platform == "instagram":
        return "178" + _digits(n, 14)
    if platform == "linkedin":
        return "urn:li:share:7" + _digits(n, 18)
    if platform == "threads":
        return "180" + _digits(n, 14)
    if platform == "tiktok":
        return "73" + _digits(n, 17)
    if platform == "reddit":
        chars = []
        for _ in range(7):
            n, rem = divmod(n, 36)
            chars.append(_B36[rem])
        return "t3_" + "".join(chars)
    if platform == "telegram":
        return str(1 + n % 99999)
    if platform == "youtube":
        chars = []
        for _ in range(11):
            n, rem = divmod(n, 64)
            chars.append(_YT[rem])
        return "".join(chars)
    return _digits(n, 16)
