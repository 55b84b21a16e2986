"""The publishing core's refusals, gathered so faces can tell them from bugs."""

from __future__ import annotations

from sdassist.publishing.drafts import DraftExpired, DraftNotFound, InvalidTransition, StaleApproval, StaleVersion
from sdassist.publishing.policy import PolicyError
from sdassist.publishing.when import TimeError

USER_ERRORS: tuple[type[Exception], ...] = (
    DraftExpired, DraftNotFound, InvalidTransition, StaleApproval, StaleVersion, PolicyError, TimeError,
)
