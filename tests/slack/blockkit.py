"""Block Kit's published limits, checked on what the app sends (Slack refuses a view or message past them)."""

from __future__ import annotations

from typing import Any

LIMITS = {"view_blocks": 100, "message_blocks": 50, "section_text": 3000, "header_text": 150, "context_elements": 10,
          "context_text": 3000, "button_text": 75, "button_value": 2000, "action_id": 255, "block_id": 255,
          "actions_elements": 25, "url": 3000}


def problems(blocks: list[dict[str, Any]], *, surface: str = "view") -> list[str]:
    """Every limit a list of blocks breaks (empty when Slack would take it)."""
    found: list[str] = []
    limit = LIMITS["view_blocks"] if surface == "view" else LIMITS["message_blocks"]
    if len(blocks) > limit:
        found.append(f"{len(blocks)} blocks in a {surface}; the limit is {limit}")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        found.append("block_id repeated")

    def button(element: dict[str, Any]) -> None:
        if len(element["text"]["text"]) > LIMITS["button_text"]:
            found.append(f"button text {element['text']['text']!r} too long")
        if len(element.get("value", "")) > LIMITS["button_value"]:
            found.append("button value too long")
        if len(element.get("action_id", "")) > LIMITS["action_id"]:
            found.append("action_id too long")
        if len(element.get("url", "")) > LIMITS["url"]:
            found.append("url too long")

    for block in blocks:
        kind = block["type"]
        if len(block.get("block_id", "")) > LIMITS["block_id"]:
            found.append("block_id too long")
        if kind == "section":
            if len(block["text"]["text"]) > LIMITS["section_text"]:
                found.append(f"section of {len(block['text']['text'])} characters")
            if not block["text"]["text"].strip():
                found.append("empty section text")
            if block.get("accessory", {}).get("type") == "button":
                button(block["accessory"])
        elif kind == "header":
            if len(block["text"]["text"]) > LIMITS["header_text"] or block["text"]["type"] != "plain_text":
                found.append(f"header {block['text']['text'][:40]!r} too long or not plain_text")
        elif kind == "context":
            if len(block["elements"]) > LIMITS["context_elements"]:
                found.append("more than 10 context elements")
            found += [f"context text of {len(e['text'])}" for e in block["elements"]
                      if len(e.get("text", "")) > LIMITS["context_text"]]
        elif kind == "actions":
            if len(block["elements"]) > LIMITS["actions_elements"]:
                found.append("more than 25 actions")
            for element in block["elements"]:
                button(element)
        elif kind not in ("divider", "image", "input"):
            found.append(f"unexpected block type {kind}")
    return found
