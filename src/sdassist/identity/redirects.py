"""Where an OAuth client may send the browser back to, and how the consent page names that place.

A redirect URI is acceptable as https anywhere, plain http only on loopback, or a private-use scheme, each
without a fragment or a user name (RFC 8252 §7: loopback and private-use schemes are a native app's
redirects on the person's own device; PKCE protects their codes). Cursor registers
`cursor://anysphere.cursor-mcp/oauth/callback`, which is not a reversed domain name as RFC 8252 §7.1 asks of
apps, so such schemes are taken too, while schemes a browser or the system handles itself are refused.

The operator may narrow the web redirects to a list of hosts (`SDASSIST_OAUTH_REDIRECT_HOSTS`): https
redirect URIs must then name one of them, while native-app redirects (loopback, private-use schemes) stay
allowed, since no other host can receive them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sdassist.netsafety import is_loopback_host

__all__ = ["REDIRECT_HOSTS_SETTING", "RedirectHostsError", "check_redirect_uri", "consent_host",
           "parse_redirect_hosts", "redirect_host", "redirect_host_problem"]

REDIRECT_HOSTS_SETTING = "SDASSIST_OAUTH_REDIRECT_HOSTS"

#: Schemes the browser or the system handles itself (scripts, local files, other protocols): never an app's
#: redirect, whatever a registration says.
NOT_APP_SCHEMES = frozenset({
    "javascript", "vbscript", "data", "file", "filesystem", "about", "blob", "view-source", "ftp", "ws", "wss",
    "mailto", "tel", "sms", "urn", "jar", "resource", "chrome", "intent",
})
SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
HOST = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")


class RedirectHostsError(ValueError):
    """The allowlist setting names something that is not a host (says which entry and how to write it)."""


def check_redirect_uri(uri: str) -> str | None:
    """Why a redirect URI is unacceptable, or None: https anywhere, http only on loopback (native apps), or a
    private-use scheme (`com.example.app:/cb`, `cursor://…`); never with a fragment or a user name."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return f"{uri!r} is not a URL"
    if parts.fragment:
        return f"{uri} has a fragment (#…); redirect URIs must not"
    if "@" in parts.netloc:  # https://claude.ai@evil.example/ reads as claude.ai but goes to evil.example
        return f"{uri} has a user name before its host (user@host); redirect URIs must not"
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return None
    if scheme == "http":
        if parts.hostname and is_loopback_host(parts.hostname):
            return None
        return f"{uri} uses plain http on a non-loopback host; use https (or a loopback address for a native app)"
    if not scheme or scheme in NOT_APP_SCHEMES or not SCHEME.fullmatch(scheme):
        return f"{uri} has a scheme that cannot be a redirect URI"
    return None


def _ascii_host(host: str) -> str:
    """A host in its ASCII form (a look-alike letter shows as xn--…), lower case."""
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host.encode("ascii", "backslashreplace").decode("ascii").lower()


def redirect_host(uri: str) -> str:
    """Where a redirect URI sends the browser, as the consent page shows it: the host (international names
    in their ASCII form, so a look-alike letter shows) and any port, never a user name; for a private-use
    scheme, the app on this device that handles it."""
    try:
        parts = urlsplit(uri)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return uri
    if parts.scheme.lower() not in ("http", "https") or not host:
        return f"{parts.scheme}: (an app on this device)" if parts.scheme else uri
    host = _ascii_host(host)
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def consent_host(uri: str) -> str:
    """The destination a remembered consent is kept for: the host without its port (a native app listens on
    a new loopback port at every sign-in, RFC 8252 §7.3), or a private-use scheme's app."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
    except ValueError:
        return uri
    if parts.scheme.lower() not in ("http", "https") or not host:
        return f"{parts.scheme.lower()}:"
    return _ascii_host(host)


def parse_redirect_hosts(setting: str) -> tuple[str, ...]:
    """The allowlist from its comma-separated setting (empty: any host), each host in ASCII lower case."""
    hosts: list[str] = []
    for entry in (e.strip() for e in setting.split(",")):
        if not entry:
            continue
        host = _ascii_host(entry)
        if not HOST.fullmatch(host):
            raise RedirectHostsError(
                f"{REDIRECT_HOSTS_SETTING}: {entry!r} is not a host name; list hosts only, comma-separated, "
                "without scheme, port or path (e.g. claude.ai,chatgpt.com)")
        hosts.append(host)
    return tuple(hosts)


def redirect_host_problem(uri: str, allowed: tuple[str, ...]) -> str | None:
    """Why the operator's allowlist refuses this redirect URI, or None (an empty list allows any host;
    native-app redirects, on loopback or a private-use scheme, are always allowed)."""
    if not allowed:
        return None
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
    except ValueError:
        return f"{uri!r} is not a URL"
    if parts.scheme.lower() != "https" or is_loopback_host(host):
        return None
    host = _ascii_host(host)
    if host in allowed:
        return None
    return (f"redirect_uri: {host} is not among the redirect hosts this server allows ({REDIRECT_HOSTS_SETTING}); "
            "ask its operator to add it, or connect from an app it lists")
