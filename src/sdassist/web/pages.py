"""The HTML a person sees: plain, server-rendered, accessible, no JavaScript. Every value is escaped here."""

from __future__ import annotations

from html import escape

__all__ = ["FORM_PAGE_HEADERS", "consent_page", "message_page", "page"]

#: Headers of a page that carries a form or a draft: never cached, never framed (no clickjacking of its buttons).
FORM_PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                     "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"}

STYLE = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f5f7;color:#1d1d1f}
main{max-width:34rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin-top:0}
ul{padding-left:1.2rem}
.who,.where{background:#f0f4ff;border-radius:8px;padding:.6rem .9rem}
.actions{display:flex;gap:1rem;margin-top:1.5rem}
button{font:inherit;padding:.6rem 1.4rem;border-radius:8px;border:2px solid #1d1d1f;cursor:pointer}
button.primary{background:#1d4ed8;border-color:#1d4ed8;color:#fff}
button:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.note{color:#555;font-size:.9rem}
"""


def page(title: str, body: str, *, status_note: str | None = None) -> str:
    note = f'<p role="status">{escape(status_note)}</p>' if status_note else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)} · sdassist</title><style>{STYLE}</style></head>"
            f"<body><main>{note}{body}</main></body></html>")


def message_page(title: str, message: str) -> str:
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")


def consent_page(*, app: str, app_id: str, person: str, scopes: list[tuple[str, str]], redirect_host: str,
                 request_key: str, csrf: str, action: str, granted: list[tuple[str, str]] | None = None) -> str:
    """Which app asks, for what, on whose behalf, and where the browser goes next; Allow and Deny. With
    `granted` (what the person allowed this app before), the page asks only for what is new and lists the rest."""
    def items(listed: list[tuple[str, str]]) -> str:
        return "".join(f"<li><strong>{escape(s)}</strong>: {escape(words)}</li>" for s, words in listed)

    if granted:
        asks = f"""<p><strong>{escape(app)}</strong> <span class="note">({escape(app_id)})</span> asks for more. It
wants to also:</p>
<ul>{items(scopes)}</ul>
<p>You allowed it before to:</p>
<ul class="note">{items(granted)}</ul>"""
    else:
        asks = f"""<p><strong>{escape(app)}</strong> <span class="note">({escape(app_id)})</span> asks to:</p>
<ul>{items(scopes)}</ul>"""
    body = f"""
<h1>Allow {escape(app)} to use sdassist as you?</h1>
<p class="who">Signed in as <strong>{escape(person)}</strong>.</p>
{asks}
<p>Nothing it drafts is published until a person approves it.</p>
<p class="where">After you answer, your browser goes to <strong>{escape(redirect_host)}</strong>.
Only allow this if you started connecting {escape(app)} yourself.</p>
<p class="note">If you allow, sdassist remembers it: when {escape(app)} asks again for no more than this, you
are not asked again. The operator can make it forget (<code>sdassist grants revoke</code>).</p>
<form method="post" action="{escape(action)}">
<input type="hidden" name="request" value="{escape(request_key)}">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<div class="actions">
<button class="primary" type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>"""
    return page(f"Allow {app}?", body)
