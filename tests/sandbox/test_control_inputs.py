"""The sandbox's control endpoints refuse bad input with a 400 that says why, and the sandbox keeps working;
no response carries an exception's text. Analytics' recent_posts lists published posts, as the docs show."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

EXCEPTION_WORDS = ("Traceback", "TypeError", "ValueError", "OverflowError", "AttributeError", "object has no",
                   "argument", "KeyError")

BAD_RULES: list[Any] = [
    {"path": 5}, {"path": ""}, {"method": 7}, {"method": ["POST"]}, {"error_rate": "half"}, {"error_rate": True},
    {"error_rate": float("nan")}, {"latency_rate": 2}, {"latency_ms": "slow"}, {"latency_ms": float("inf")},
    {"latency_ms": -1}, {"status": 200}, {"status": "500"}, {"status": True}, {"drop_after_processing": "yes"},
    {"retry_after_seconds": "soon"}, {"retry_after_seconds": float("nan")}, {"hold_ms": "long"}, {"count": -1},
    {"count": 1.5}, {"count": True}, {"latency_jitter_ms": -5}, {"colour": "red"}, "rule", 5, None,
]


async def _still_works(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/accounts")).status_code == 200
    accounts = (await client.get("/api/v1/accounts")).json()["data"]["accounts"]
    body = {"text": "still here", "publish_now": True,
            "targets": [{"platform": "linkedin", "account_id": next(a["id"] for a in accounts
                                                                    if a["platform"] == "linkedin")}]}
    assert (await client.post("/api/v1/posts", json=body)).status_code == 200


@pytest.mark.parametrize("rule", BAD_RULES, ids=repr)
async def test_a_fault_rule_of_the_wrong_type_is_a_400_and_the_sandbox_keeps_working(
        make_client: Callable[..., httpx.AsyncClient], rule: Any) -> None:
    client = make_client()
    raw = json.dumps({"rules": [rule]}).encode()  # NaN and Infinity as Python writes them, as JSON.parse may
    answer = await client.post("/_sandbox/faults", content=raw, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    details = answer.json()["error"]["details"]
    assert details.startswith("invalid fault rule: ") and not any(w in details for w in EXCEPTION_WORDS), details
    assert (await client.get("/_sandbox/faults")).json()["data"]["rules"] == []
    await _still_works(client)


@pytest.mark.parametrize("body", [b'{"advance_seconds": NaN}', b'{"advance_seconds": Infinity}',
                                  b'{"advance_seconds": 1e308}', b'{"advance_seconds": -1e11}',
                                  b'{"advance_seconds": 1e12}', b'{"advance_seconds": "60"}',
                                  b'{"advance_seconds": true}', b'{"now": "9999-12-31T23:59:59Z"}',
                                  b'{"now": "0001-01-01T00:00:00Z"}', b'{"now": "1900-01-01T00:00:00Z"}',
                                  b'{"now": 5}', b'{"now": "yesterday"}'])
async def test_a_nan_or_huge_clock_change_is_a_400_and_the_sandbox_keeps_working(
        make_client: Callable[..., httpx.AsyncClient], body: bytes) -> None:
    client = make_client()
    answer = await client.post("/_sandbox/clock", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert not any(w in answer.text for w in EXCEPTION_WORDS), answer.text
    assert (await client.get("/_sandbox/clock")).json()["data"]["offset_seconds"] == 0
    await _still_works(client)
    moved = await client.post("/_sandbox/clock", json={"advance_seconds": 3600})
    assert moved.status_code == 200 and moved.json()["data"]["offset_seconds"] == 3600


async def test_bad_failure_specs_are_refused(make_client: Callable[..., httpx.AsyncClient]) -> None:
    client = make_client()
    for spec in ({"account_id": ["acc_x"]}, {"platform": "linkedin", "count": True}):
        answer = await client.post("/_sandbox/failures", json=spec)
        assert answer.status_code == 400 and not any(w in answer.text for w in EXCEPTION_WORDS)
    await _still_works(client)


async def test_recent_posts_are_the_published_ones_each_with_published_at(
        make_client: Callable[..., httpx.AsyncClient]) -> None:
    client = make_client()
    accounts = (await client.get("/api/v1/accounts")).json()["data"]["accounts"]
    target = [{"platform": "linkedin", "account_id": next(a["id"] for a in accounts if a["platform"] == "linkedin")}]
    published = (await client.post("/api/v1/posts", json={"text": "out", "publish_now": True, "targets": target}))
    await client.post("/api/v1/posts", json={"text": "later", "publish_now": False, "targets": target,
                                             "scheduled_at": "2099-01-01T09:00:00Z"})
    await client.post("/_sandbox/tick")
    overview = (await client.get("/api/v1/analytics/overview", params={"period": "7d"})).json()["data"]
    recent = overview["recent_posts"]
    assert [r["post_id"] for r in recent] == [published.json()["data"]["post_id"]]
    assert all(r["status"] == "published" and r["published_at"] for r in recent)
