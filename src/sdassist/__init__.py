"""sdassist: conversational publishing on SocialDock, with a human approving every post."""

from __future__ import annotations

from functools import cache


@cache
def package_version() -> str:
    """The installed package's version (what `serverInfo.version` and `--version` report)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sdassist")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"
