"""The publishing core's refusals, gathered so faces can tell them from bugs."""

from __future__ import annotations

from sdassist.publishing.drafts import DraftError
from sdassist.publishing.media import MediaError
from sdassist.publishing.policy import PolicyError
from sdassist.publishing.when import TimeError

# Every DraftError is a refusal with its reason (not found, stale, expired, already live, …).
USER_ERRORS: tuple[type[Exception], ...] = (DraftError, PolicyError, TimeError, MediaError)
