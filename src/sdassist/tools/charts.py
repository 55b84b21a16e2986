"""Analytics as a chart (PNG), drawn with matplotlib's Agg backend, imported only when a chart is drawn.

matplotlib is the optional extra `charts` (`pip install 'sdassist[charts]'`): it is large and slow to
import, so nothing on the start-up path imports this module's work, and without it every face still gives
the text summary and says how to get the chart. Drawing runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
from typing import TYPE_CHECKING, Any

from sdassist.publishing.platforms import platform_name
from sdassist.tools.base import Attachment

if TYPE_CHECKING:
    from sdassist.tools.analytics import AnalyticsView

INSTALL_HINT = "For a chart, install the charts extra: pip install 'sdassist[charts]'"
CURRENT, PREVIOUS = "#3b6fd8", "#b9c6df"


def charts_available() -> bool:
    """Whether matplotlib is installed (without importing it)."""
    return importlib.util.find_spec("matplotlib") is not None


def _days(period: str | None) -> str:
    return f"{(period or '30d').rstrip('d')} days"


def _bars(ax: Any, labels: list[str], series: list[tuple[str, list[float], str]], title: str) -> None:
    width = 0.8 / max(len(series), 1)
    for i, (label, values, color) in enumerate(series):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
        bars = ax.bar(xs, values, width, label=label, color=color)
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=8, padding=2)
    ax.set_xticks(range(len(labels)), labels)
    ax.yaxis.set_major_formatter("{x:,.0f}")
    ax.set_title(title, fontsize=11, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=8)


def draw(view: AnalyticsView) -> bytes:
    """The PNG for one analytics answer: workspace posts and reach per platform (against the period before),
    a post's engagement per platform, or an account's figures."""
    from matplotlib.figure import Figure  # no pyplot: no global state, safe in a worker thread; PNG is Agg

    if view.scope == "workspace":
        figure = Figure(figsize=(8, 6.5), dpi=100)
        posts_ax, reach_ax = figure.subplots(2, 1)
        platforms = sorted(view.platforms or {}, key=lambda p: -(view.platforms or {})[p].posts)
        labels = [platform_name(p) for p in platforms]
        series = [(f"last {_days(view.period)}", [float((view.platforms or {})[p].posts) for p in platforms], CURRENT)]
        if view.previous is not None:
            series.append(("the period before",
                           [float(view.previous.platform_posts.get(p, 0)) for p in platforms], PREVIOUS))
        _bars(posts_ax, labels, series, f"Posts per platform, last {_days(view.period)}")
        _bars(reach_ax, labels, [("reach", [float((view.platforms or {})[p].total_reach) for p in platforms],
                                  CURRENT)], "Reach (views)")
    elif view.scope == "post":
        figure = Figure(figsize=(8, 4), dpi=100)
        ax = figure.subplots()
        rows = [t for t in view.post_targets or [] if t.metrics is not None]
        labels = [platform_name(t.platform) for t in rows]
        colors = ("#3b6fd8", "#e8833a", "#3aa76d", "#a64ad8")
        series = [(kind, [float(getattr(t.metrics, kind)) for t in rows], color)
                  for kind, color in zip(("views", "likes", "comments", "shares"), colors, strict=True)]
        _bars(ax, labels, series, f"Engagement of {view.post_id}")
    else:
        figure = Figure(figsize=(8, 4), dpi=100)
        ax = figure.subplots()
        m = view.account_metrics
        pairs = [(k, getattr(m, k)) for k in ("followers", "following", "posts") if m and getattr(m, k) is not None]
        _bars(ax, [k for k, _ in pairs], [("", [float(v) for _, v in pairs], CURRENT)],
              f"{platform_name(view.platform)} account {view.account_id}")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


async def analytics_chart(view: AnalyticsView) -> list[Attachment]:
    """The chart as an attachment, or none without matplotlib (the text then says how to get it)."""
    if not charts_available():
        return []
    if view.scope == "workspace" and not view.platforms:
        return []  # nothing posted in the period: nothing to draw
    png = await asyncio.to_thread(draw, view)
    subject = {"workspace": f"workspace, last {_days(view.period)}", "post": view.post_id,
               "account": view.account_id}[view.scope]
    return [Attachment(data=png, mime_type="image/png", filename=f"analytics-{view.scope}.png",
                       title=f"SocialDock analytics: {subject}")]
