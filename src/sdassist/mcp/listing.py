"""The published tool list, kept on disk so a start answers `tools/list` without building it.

Building it means importing every tool and having the SDK derive a pydantic model and two schemas per tool:
~100 ms of a start that hosts time. The listing depends only on the code and on three settings (approval
mode, toolsets, read-only), so the first run writes it to the data directory, keyed on what it depends on,
and later starts read it back (~1 ms). The key covers the package, SDK and pydantic versions and the size and
modification time of every module of the package, so an edited source tree or an upgrade never serves a
stale listing. Anything unreadable is simply a miss: the listing is then built as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from sdassist import package_version

log = logging.getLogger("sdassist.mcp")

FORMAT = 1
_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _libraries() -> str:
    """What the SDK's schema building depends on: pydantic's version, and the installed SDK's files (any
    upgrade rewrites them; cheaper than parsing package metadata, which costs ~4 ms a package)."""
    import mcp
    import mcp_types
    import pydantic

    stamps = [f"pydantic={pydantic.VERSION}"]
    for module in (mcp, mcp_types):
        stat = os.stat(module.__file__ or "")
        stamps.append(f"{module.__name__}={stat.st_size}:{stat.st_mtime_ns}")
    return ",".join(stamps)


def source_fingerprint(root: Path = _PACKAGE_DIR) -> str:
    """Path, size and mtime of every module of the package: any edit or reinstall changes it."""
    digest = hashlib.sha256()
    folders = [str(root)]
    while folders:
        with os.scandir(folders.pop()) as found:
            entries = sorted(found, key=lambda e: e.name)
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    folders.append(entry.path)
            elif entry.name.endswith(".py"):
                stat = entry.stat()
                digest.update(f"{entry.path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_key(variant: dict[str, Any]) -> str:
    """Everything the listing depends on, as one digest."""
    text = json.dumps({"format": FORMAT, "python": sys.version_info[:2], "package": package_version(),
                       "libraries": _libraries(), "source": source_fingerprint(), "variant": variant},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def cache_path(data_dir: Path, variant: dict[str, Any]) -> Path:
    """One file per settings variant, so edits overwrite it rather than pile up."""
    name = hashlib.sha256(json.dumps(variant, sort_keys=True).encode()).hexdigest()[:16]
    return data_dir / "cache" / f"mcp-tools-{name}.json"


def load(path: Path, key: str) -> dict[str, Any] | None:
    """The cached listing for this key: {"tools": [...wire dicts], "read_only": bool}, or None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    tools, read_only = data.get("tools"), data.get("read_only")
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools) or not isinstance(read_only, bool):
        return None
    return {"tools": tools, "read_only": read_only}


def save(path: Path, key: str, tools: list[dict[str, Any]], *, read_only: bool) -> None:
    """Write atomically (several servers may start at once); a data directory we cannot write is no error."""
    temp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=".mcp-tools-",
                                         suffix=".tmp", delete=False) as f:
            temp = f.name
            json.dump({"key": key, "read_only": read_only, "tools": tools}, f, ensure_ascii=False)
        os.replace(temp, path)
    except OSError as exc:
        log.debug("tool listing not cached: %s", exc)
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
