"""`/socialdock analytics` as people read it: a short summary, a per-platform table, the top posts and the
change against the period before; the chart (`tools.charts`) is uploaded beside it with files:write."""

from __future__ import annotations

from sdassist.slack.blocks import escape, platform_name
from sdassist.tools.analytics import AnalyticsView
from sdassist.tools.charts import INSTALL_HINT, charts_available


def _change(now: float, before: float) -> str:
    if before == 0:
        return "new" if now else "–"
    pct = 100 * (now - before) / before
    return f"{pct:+.0f}%"


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A fixed-width table in a code block: Slack has no tables, monospace lines line up."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths,
                                                                                              strict=True)))

    return "```\n" + "\n".join([line(header), *(line(r) for r in rows)]) + "\n```"


def _workspace(view: AnalyticsView) -> list[str]:
    days = (view.period or "30d").rstrip("d")
    prev = view.previous
    lines = [f"*Workspace analytics, last {days} days*" + (f" (against the {days} days before)" if prev else "")]
    total = f"{view.total_posts or 0:,} posts"
    if prev is not None:
        total += f" ({_change(view.total_posts or 0, prev.total_posts)}; {prev.total_posts:,} before)"
    rate = f"success rate {view.success_rate:g}%" if view.success_rate is not None else "nothing finished yet"
    if prev is not None and prev.success_rate is not None:
        rate += f" (was {prev.success_rate:g}%)"
    lines.append(f"{total} · {rate}")
    platforms = sorted((view.platforms or {}).items(), key=lambda kv: -kv[1].posts)
    if platforms:
        header = ["Platform", "Posts", *(["Before", "Change"] if prev else []), "Reach"]
        rows = []
        for slug, summary in platforms:
            row = [platform_name(slug), f"{summary.posts:,}"]
            if prev is not None:
                before = prev.platform_posts.get(slug, 0)
                row += [f"{before:,}", _change(summary.posts, before)]
            rows.append([*row, f"{summary.total_reach:,}"])
        lines.append(_table(header, rows))
    else:
        lines.append("No posts in this period.")
    if prev is None and view.platforms:
        lines.append("_No comparison: the post list is too long to read back a whole period._")
    if view.top_posts:
        lines.append("*Top posts* (most viewed of the recent ones)")
        for i, top in enumerate(view.top_posts, 1):
            text = f" · “{escape(top.text)}”" if top.text else ""
            lines.append(f"{i}. `{top.post_id}` · {top.views:,} views · {top.engagement:,} likes, comments and "
                         f"shares{text}")
    return lines


def _post(view: AnalyticsView) -> list[str]:
    lines = [f"*Analytics of post `{view.post_id}`*"]
    rows = [[platform_name(t.platform), *(f"{getattr(t.metrics, k):,}" for k in ("views", "likes", "comments",
                                                                                  "shares"))]
            for t in view.post_targets or [] if t.metrics is not None]
    if rows:
        lines.append(_table(["Platform", "Views", "Likes", "Comments", "Shares"], rows))
    quiet = [platform_name(t.platform) for t in view.post_targets or [] if t.metrics is None]
    if quiet:
        lines.append(f"No analytics on {', '.join(quiet)} (the platform offers none).")
    return lines


def _account(view: AnalyticsView) -> list[str]:
    m = view.account_metrics
    lines = [f"*{platform_name(view.platform)} account `{view.account_id}`*"]
    if m is None:
        return [*lines, "No figures."]
    parts = []
    if m.followers is not None:
        growth = f" ({m.followers_growth_pct:+g}% against the period before)" if m.followers_growth_pct is not None \
            else ""
        parts.append(f"{m.followers:,} followers{growth}")
    parts += [f"{v:,} {k}" for k, v in (("following", m.following), ("posts", m.posts)) if v is not None]
    if m.avg_engagement_rate is not None:
        parts.append(f"engagement rate {m.avg_engagement_rate:g}%")
    return [*lines, " · ".join(parts)]


def analytics_text(view: AnalyticsView, *, chart: bool) -> str:
    """The summary; `chart` says whether a chart is being posted beside it."""
    lines = {"workspace": _workspace, "post": _post, "account": _account}[view.scope](view)
    if not charts_available():
        lines.append(f"_{INSTALL_HINT}._")
    elif chart:
        lines.append("_Chart below._")
    return "\n".join(lines)
