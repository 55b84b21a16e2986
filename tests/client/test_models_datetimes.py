"""A naive scheduled time is refused everywhere a request is built: it would be sent in the machine's zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from sdassist.client.models import PostCreate, PostUpdate, Target
from sdassist.client.resources import utc_z

NAIVE = datetime(2030, 1, 1, 9, 0)


def test_post_update_refuses_a_naive_scheduled_at() -> None:
    with pytest.raises(ValidationError, match="must carry a time zone"):
        PostUpdate(scheduled_at=NAIVE)
    assert PostUpdate(scheduled_at=NAIVE.replace(tzinfo=UTC)).scheduled_at is not None


def test_post_create_refuses_a_naive_scheduled_at() -> None:
    with pytest.raises(ValidationError, match="must carry a time zone"):
        PostCreate(text="x", targets=[Target(platform="linkedin", account_id="a")], publish_now=False,
                   scheduled_at=NAIVE)


def test_utc_z_refuses_naive_values() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        utc_z(NAIVE)
    assert utc_z(NAIVE.replace(tzinfo=UTC)) == "2030-01-01T09:00:00Z"
