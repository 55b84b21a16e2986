"""`sdassist tokens create|list|revoke`: personal access tokens the operator issues for a person.

For automation and MCP hosts that take a static `Authorization: Bearer` header. A token belongs to one person
(`--user`, best their Slack user id, so Slack recognises them), has scopes, is shown once and stored only as
its digest. Its calls draft as "<name> via <label>", exactly like an OAuth sign-in.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from sdassist.identity.scopes import DEFAULT_SCOPES, SCOPES

__all__ = ["add_tokens_parser", "open_identity_store", "run_async", "when_text"]

PAT_CLIENT = "personal-access-token"


def _scopes(text: str) -> list[str]:
    given = [s for s in text.replace(",", " ").split() if s]
    unknown = [s for s in given if s not in SCOPES]
    if unknown or not given:
        raise argparse.ArgumentTypeError(f"unknown scope {' '.join(unknown) or '(none)'}; use any of "
                                         f"{', '.join(SCOPES)} (e.g. --scope 'read draft')")
    return [s for s in SCOPES if s in given]


MAX_DAYS = 3650


def _days(text: str) -> float:
    """--expires-days: 0 (never) up to ten years; a token already expired, or one whose date cannot be written,
    is refused before anything is issued."""
    try:
        days = float(text)
    except ValueError:
        days = float("nan")
    if not 0 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days from 0 (never expires) to {MAX_DAYS:,}")
    return days


def _person_id(text: str) -> str:
    if not text.strip() or not text.isprintable():
        raise argparse.ArgumentTypeError("give the person's id, e.g. their Slack user id U0ALICE")
    return text.strip()


async def open_identity_store() -> Any:
    """The identity store of the configured database (the one every instance shares)."""
    from sdassist.config import Settings
    from sdassist.identity.store import IdentityStore

    settings = Settings()
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return await IdentityStore.open(settings.effective_database_url)


def when_text(epoch: int | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC") if epoch else "never"


async def _create(args: argparse.Namespace) -> int:
    from sdassist.identity.store import Person

    store = await open_identity_store()
    try:
        ttl = int(args.expires_days * 86400) if args.expires_days else None
        label = args.label or "a personal access token"
        secret, record = await store.issue("pat", person=Person(args.user, args.name or args.user),
                                           client_id=PAT_CLIENT, client_name=label, scopes=args.scope,
                                           resource=None, ttl=ttl, label=label)
    finally:
        await store.close()
    print(secret)
    print(f"Token {record.id} for {record.person_name} ({record.subject}), scopes {' '.join(record.scopes)}, "
          f"expires {when_text(record.expires_at)}. It is shown only now: store it in the host's secret settings "
          f"and send it as 'Authorization: Bearer <token>'.", file=sys.stderr)
    return 0


async def _list(args: argparse.Namespace) -> int:
    store = await open_identity_store()
    try:
        records = await store.list_tokens(kind="pat", subject=args.user)
    finally:
        await store.close()
    if not records:
        print("no personal access tokens" + (f" for {args.user}" if args.user else ""))
        return 0
    for r in records:
        state = "revoked" if r.revoked_at else ("expired" if not r.usable() else "active")
        print(f"{r.id}  {state:<7}  {r.subject:<14} {r.person_name or '':<16} {' '.join(r.scopes):<17} "
              f"created {when_text(r.created_at)}  expires {when_text(r.expires_at)}  {r.label or ''}")
    return 0


async def _revoke(args: argparse.Namespace) -> int:
    store = await open_identity_store()
    try:
        record = await store.revoke_id(args.id, kind="pat")
    finally:
        await store.close()
    if record is None:
        print(f"error: no personal access token {args.id}", file=sys.stderr)
        print("hint: `sdassist tokens list` shows their ids (pat_…)", file=sys.stderr)
        return 1
    print(f"revoked {record.id} ({record.person_name}); calls with it now get 401")
    return 0


def run_async(fn: Any) -> Any:
    """An argparse `func` that runs the async command `fn` to its end."""
    return lambda args: asyncio.run(fn(args))


def add_tokens_parser(sub: Any) -> None:
    tokens = sub.add_parser("tokens", help="personal access tokens for the MCP HTTP server: create, list, revoke")
    actions = tokens.add_subparsers(dest="action", required=True)
    p = actions.add_parser("create", help="issue a token for a person (shown once)")
    p.add_argument("--user", required=True, type=_person_id,
                   help="the person's id; their Slack user id (U…) links the two faces")
    p.add_argument("--name", help="their display name (default: the id)")
    p.add_argument("--scope", type=_scopes, default=list(DEFAULT_SCOPES),
                   help=f"space- or comma-separated, of {', '.join(SCOPES)} (default: {' '.join(DEFAULT_SCOPES)})")
    p.add_argument("--label", help="what it is for, shown as the client: 'Alice via <label>'")
    p.add_argument("--expires-days", type=_days, default=90.0,
                   help=f"days until it stops working (0: never; at most {MAX_DAYS:,})")
    p.set_defaults(func=run_async(_create))
    p = actions.add_parser("list", help="tokens with their state (never the tokens themselves)")
    p.add_argument("--user", help="only this person's")
    p.set_defaults(func=run_async(_list))
    p = actions.add_parser("revoke", help="revoke a token by its id (pat_…)")
    p.add_argument("id")
    p.set_defaults(func=run_async(_revoke))
