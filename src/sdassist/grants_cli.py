"""`sdassist grants list|revoke`: the consents people gave OAuth apps, which sdassist remembers.

A person who allowed an app (for some scopes, sending the browser to one host) is not asked again when that
app asks for no more; revoking a grant forgets it and ends that person's sign-ins through that app, so the
app must ask again. Personal access tokens are `sdassist tokens`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sdassist.tokens_cli import open_identity_store, run_async, when_text

__all__ = ["add_grants_parser"]


async def _list(args: argparse.Namespace) -> int:
    store = await open_identity_store()
    try:
        grants = await store.list_grants(subject=args.user)
    finally:
        await store.close()
    if not grants:
        print("no remembered consents" + (f" for {args.user}" if args.user else ""))
        return 0
    for g in grants:
        print(f"{g.id}  {g.subject:<14} {g.person_name or '':<16} {' '.join(g.scopes):<17} {g.client_name} "
              f"({g.client_id}) → {g.redirect_host}  allowed {when_text(g.updated_at)}")
    return 0


async def _revoke(args: argparse.Namespace) -> int:
    if bool(args.id) == bool(args.user):
        print("error: give a grant id (grt_…) or --user, not both", file=sys.stderr)
        print("hint: `sdassist grants list` shows the ids", file=sys.stderr)
        return 2
    store = await open_identity_store()
    try:
        ids = [args.id] if args.id else [g.id for g in await store.list_grants(subject=args.user)]
        forgotten = [g for g in [await store.forget_grant(i) for i in ids] if g is not None]
    finally:
        await store.close()
    if args.id and not forgotten:
        print(f"error: no remembered consent {args.id}", file=sys.stderr)
        print("hint: `sdassist grants list` shows their ids (grt_…)", file=sys.stderr)
        return 1
    if not forgotten:
        print(f"no remembered consents for {args.user}")
    for g in forgotten:
        print(f"forgot {g.id}: {g.person_name or g.subject} allowing {g.client_name}; its tokens are revoked and "
              "it must ask again")
    return 0


def add_grants_parser(sub: Any) -> None:
    grants = sub.add_parser("grants", help="consents people gave OAuth apps (remembered): list, revoke")
    actions = grants.add_subparsers(dest="action", required=True)
    p = actions.add_parser("list", help="remembered consents: who allowed which app what")
    p.add_argument("--user", help="only this person's (their id, as in `sdassist tokens`)")
    p.set_defaults(func=run_async(_list))
    p = actions.add_parser("revoke", help="forget a consent (and end that app's sign-ins for the person)")
    p.add_argument("id", nargs="?", help="the grant's id (grt_…)")
    p.add_argument("--user", help="every consent this person gave")
    p.set_defaults(func=run_async(_revoke))
