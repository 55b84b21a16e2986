"""Is a URL safe to hand to a server that will fetch it? One check for media, webhook and metadata URLs.

A URL someone gives us may be fetched by SocialDock (media, webhooks) or by us (OAuth client metadata). It
must not point at this machine, the cloud metadata service (link-local) or a private network, however the
address is spelt: `http://2130706433/`, `http://0x7f.1/`, `http://0177.0.0.1/`, `http://[::ffff:127.0.0.1]/`
all reach 127.0.0.1. Hosts are read the way a URL parser and the C resolver read them (WHATWG's IPv4 rules:
one to four parts, each decimal, octal with a leading 0, or hex with 0x), so what is checked is the address
that would be connected to. A name is checked as written; `check_resolved` also checks what it resolves to,
for callers that fetch the URL themselves.

`loopback_ok=True` admits loopback addresses (and only those): for the local sandbox, whose fetches and
deliveries stay on this machine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_METADATA_NAMES = ("metadata.google.internal", "metadata", "instance-data")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_FORBIDDEN_IN_HOST = frozenset(" #%/:<>?@[\\]^|")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*:[/\\]*)[^/?#\\]*@")
"""A scheme, then a user name and/or password up to the authority's last `@` (where a URL parser ends it)."""
"""WHATWG's forbidden domain code points besides the controls: after percent-decoding, none may remain."""


class UnsafeURL(ValueError):
    """A URL that must not be fetched: `field` names the input, `reason` says why, `hint` how to fix it."""

    def __init__(self, field: str, reason: str, hint: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.hint = hint


class InsecureTransport(ValueError):
    """A secret would travel unencrypted: a configuration error, said as one line at start-up."""


@dataclass(frozen=True)
class Host:
    """A URL's host as it will be connected to: an address, or a name (lowercase, no trailing dot)."""

    name: str
    address: IPAddress | None


def _ipv4_number(part: str) -> int | None:
    """One part of a WHATWG IPv4 host (decimal, 0-prefixed octal, 0x-prefixed hex), or None if not a number."""
    try:
        if part[:2] in ("0x", "0X"):
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10) if part.isdigit() else None
    except ValueError:
        return None


def _ends_in_number(host: str) -> bool:
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    return last.isdigit() or (last[:2] in ("0x", "0X") and all(c in "0123456789abcdefABCDEF" for c in last[2:]))


def _parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address a numeric host spells ("127.1", "2130706433", "0x7f.1"), or None when it is not valid."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):  # type: ignore[operator]
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))  # type: ignore[operator]
    return ipaddress.IPv4Address(value)


def _domain_to_ascii(host: str) -> str:
    """The host as a URL parser reads it before anything else (WHATWG's host parser): percent-decoded, then
    mapped by IDNA (full-width letters and digits, the ideographic full stops, case); ValueError when what
    comes out has a character no host may contain. `127%2e0%2e0%2e1` and `１２７。０。０。１` are 127.0.0.1."""
    host = unquote(host, errors="strict")
    if not host.isascii():
        import idna  # only for the rare non-ASCII host: its mapping table is large

        try:
            host = idna.uts46_remap(host, std3_rules=False, transitional=False)
        except (idna.IDNAError, UnicodeError) as exc:
            raise ValueError(f"{host!r} is not a valid host") from exc
    host = host.lower()
    if any(c in _FORBIDDEN_IN_HOST or ord(c) < 0x20 or ord(c) == 0x7F for c in host):
        raise ValueError(f"{host!r} has a character no host may contain")
    return host


def parse_host(host: str) -> Host:
    """Read `host` (from a URL, brackets allowed) the way it will be connected to; ValueError if malformed."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        return Host(host, ipaddress.IPv6Address(host[1:-1].split("%", 1)[0]))
    if ":" in host:
        return Host(host, ipaddress.IPv6Address(host.split("%", 1)[0]))
    host = _domain_to_ascii(host)
    host = host.rstrip(".") if host not in ("", ".") else host
    if not host:
        raise ValueError("no host")
    if _ends_in_number(host):
        address = _parse_ipv4(host)
        if address is None:
            raise ValueError(f"{host!r} is not a valid address")
        return Host(host, address)
    return Host(host, None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (int(address) >> 32 == 0 and int(address) > 1):  # 64:ff9b::a.b.c.d, ::a.b.c.d
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why an address is not a public one ("loopback", "link-local …"), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address) and (inner := _embedded_ipv4(address)) is not None:
        problem = address_problem(inner)
        return f"{problem}, as {inner} inside an IPv6 address" if problem else None
    if address.is_loopback:
        return "loopback (this machine)"
    if address.is_link_local:
        return "link-local (where cloud metadata services answer)"
    if address.is_unspecified:
        return "unspecified (0.0.0.0 or ::, which reaches this machine)"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "shared carrier-grade NAT space (100.64.0.0/10)"
    if address.is_private:
        return "a private network"
    if address.is_reserved or not address.is_global:
        return "reserved, not a public address"
    return None


def _name_problem(name: str) -> str | None:
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return "loopback (this machine)"
    if name in _METADATA_NAMES or name.endswith(".internal"):
        return "an internal name (cloud metadata or a private network)"
    return None


def is_loopback_host(host: str | None) -> bool:
    """localhost, *.localhost, 127.0.0.0/8 or ::1, however spelt: a host that never leaves this machine."""
    try:
        parsed = parse_host(host or "")
    except ValueError:
        return False
    if parsed.address is None:
        return parsed.name in _LOOPBACK_NAMES or parsed.name.endswith(".localhost")
    address = parsed.address
    if isinstance(address, ipaddress.IPv6Address):
        address = _embedded_ipv4(address) or address
    return address.is_loopback


def check_secret_transport(url: str, *, what: str, setting: str) -> None:
    """A secret goes only over TLS, or over plain http to this machine: never unencrypted across a network.

    For every key and token whatever its form (live, test, unprefixed, any case): the kind of key does not
    change who can read it on the wire. `what` names the secret, `setting` the URL's setting."""
    try:
        parts = urlsplit(url.strip())
        scheme, host = parts.scheme.lower(), parts.hostname or ""
    except (ValueError, AttributeError):
        raise InsecureTransport(f"{setting} is not a valid URL; use https://…") from None
    if scheme == "https" and host:
        return
    if scheme == "http" and host.isascii() and "%" not in host and is_loopback_host(host):
        return  # only a host every HTTP client reads as loopback: not one that needs decoding or mapping first
    raise InsecureTransport(
        f"refusing to send the {what} over {scheme or 'no scheme'}:// to {host or 'no host'}: the secret would "
        f"travel unencrypted. Use https:// in {setting} (plain http only to this machine: localhost, 127.0.0.1, ::1)."
    )


def without_credentials(url: str) -> str:
    """`url` with any user name and password before its host shown as `***@`: for messages and output,
    where a password would be read by everyone who sees them."""
    return _USERINFO.sub(r"\1***@", url, count=1)


def check_public_url(url: str, *, field: str = "url", loopback_ok: bool = False,
                     schemes: tuple[str, ...] = ("https", "http")) -> str:
    """The URL (stripped) when it is an absolute URL with one of `schemes` to a public host; UnsafeURL if not.

    A URL with a user name or password is refused too: whoever fetches a public link needs none, and the
    URL is stored, sent and shown (previews, cards, `list_webhooks`) where a password must never appear.
    The error names `field`, says which kind of address it is, and how to fix it; it never repeats a password."""
    text = url.strip() if isinstance(url, str) else ""
    wanted = "http(s)" if set(schemes) == {"http", "https"} else " or ".join(schemes)
    masked = without_credentials(text)
    shown = masked[:80] if masked.isprintable() else ascii(masked[:80])
    if any(c.isspace() or not c.isprintable() or c == "\\" for c in text):
        raise UnsafeURL(field, f"{shown!r} contains spaces, control characters or backslashes",
                        "Percent-encode them (a space is %20), or copy the address again.")
    try:
        parts = urlsplit(text)
        scheme, raw_host = parts.scheme.lower(), parts.hostname
    except ValueError:
        scheme, raw_host = "", None
    if scheme not in schemes or not raw_host:
        raise UnsafeURL(field, f"must be an absolute {wanted} URL, not {shown!r}",
                        f"Give a full address such as {schemes[0]}://example.com/….")
    if "@" in parts.netloc:
        raise UnsafeURL(field, f"{shown!r} carries a user name or password",
                        "Remove the part before @: a public address needs no credentials, and a password in a URL "
                        "is shown wherever the URL is (webhooks are signed with a secret instead).")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        raise UnsafeURL(field, f"{shown!r} has a port that is not a number from 1 to 65535",
                        "Check the number after the colon, or leave it out.") from None
    try:
        host = parse_host(raw_host)
    except ValueError:
        raise UnsafeURL(field, f"{shown!r} has a host that is not a valid address",
                        "Check the address for typos.") from None
    problem = address_problem(host.address) if host.address is not None else _name_problem(host.name)
    if problem and not (loopback_ok and is_loopback_host(raw_host)):
        raise UnsafeURL(field, f"{shown!r} points at {problem}, which is refused",
                        "Use a public address on the internet; local and private addresses are never fetched.")
    return text


async def check_resolved(url: str, *, field: str = "url", loopback_ok: bool = False) -> list[IPAddress]:
    """Every address the URL's host resolves to, all public (UnsafeURL otherwise): for callers that fetch.

    Connect to one of the returned addresses, not to the name again, so a second answer cannot differ."""
    check_public_url(url, field=field, loopback_ok=loopback_ok)
    parts = urlsplit(url.strip())
    host = parse_host(parts.hostname or "")
    if host.address is not None:
        return [host.address]
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host.name, port, type=socket.SOCK_STREAM)
    except OSError:
        raise UnsafeURL(field, f"the host {host.name!r} could not be resolved", "Check the address.") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        problem = address_problem(address)
        if problem and not (loopback_ok and is_loopback_host(str(address))):
            raise UnsafeURL(field, f"{host.name!r} resolves to {address}, {problem}, which is refused",
                            "Use a public address on the internet; local and private addresses are never fetched.")
        addresses.append(address)
    return addresses
