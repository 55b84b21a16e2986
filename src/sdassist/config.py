"""One place that reads every setting: environment variables and an optional `.env` file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from sdassist.client import DEFAULT_BASE_URL, PUBLIC_SANDBOX_KEY
from sdassist.netsafety import check_secret_transport

__all__ = ["DEFAULT_BASE_URL", "SANDBOX_KEY", "Settings", "default_data_dir", "mask_url_password"]

SANDBOX_KEY = PUBLIC_SANDBOX_KEY


def mask_url_password(url: str) -> str:
    """The URL with any password replaced by `***` (for reprs and logs; the value itself stays usable)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "***"
    if not password:
        return url
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{hostport}").geturl()


def default_data_dir() -> Path:
    """Where the embedded sandbox state and the SQLite database live unless told otherwise."""
    return Path.home() / ".sdassist"


class Settings(BaseSettings):
    """Every knob of sdassist. Secrets are `SecretStr`, so they never print."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    socialdock_api_key: SecretStr | None = Field(default=None, validation_alias="SOCIALDOCK_API_KEY")
    socialdock_base_url: str = Field(default=DEFAULT_BASE_URL, validation_alias="SOCIALDOCK_BASE_URL")
    data_dir: Path = Field(default_factory=default_data_dir, validation_alias="SDASSIST_DATA_DIR")
    database_url: str | None = Field(default=None, validation_alias="SDASSIST_DATABASE_URL")
    timezone: str = Field(default="UTC", validation_alias="SDASSIST_TIMEZONE")
    approval: Literal["slack", "confirm", "none"] = Field(default="confirm", validation_alias="SDASSIST_APPROVAL")
    approvers: str = Field(default="", validation_alias="SDASSIST_APPROVERS")
    allow_self_approval: bool = Field(default=False, validation_alias="SDASSIST_ALLOW_SELF_APPROVAL")
    draft_ttl_hours: float = Field(default=72.0, gt=0, validation_alias="SDASSIST_DRAFT_TTL_HOURS")
    #: How long a sent `POST /posts` may still land after the client gave up: no second POST before then.
    attempt_may_land_minutes: float = Field(default=15.0, ge=2, le=1440,
                                            validation_alias="SDASSIST_ATTEMPT_MAY_LAND_MINUTES")
    #: How long a sent request not found on SocialDock is still looked for (reconcile rounds, webhooks).
    late_post_watch_hours: float = Field(default=24.0, gt=0, le=720, validation_alias="SDASSIST_LATE_POST_WATCH_HOURS")
    rate_share: float = Field(default=1.0, gt=0, le=1, validation_alias="SDASSIST_RATE_SHARE")
    #: Coordinate the workspace's rate budget through the database, across every instance using it.
    shared_rate_budget: bool = Field(default=False, validation_alias="SDASSIST_SHARED_RATE_BUDGET")

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str | None = Field(default=None, validation_alias="SDASSIST_SLACK_API_URL")
    approval_channel: str | None = Field(default=None, validation_alias="SDASSIST_APPROVAL_CHANNEL")
    public_url: str | None = Field(default=None, validation_alias="SDASSIST_PUBLIC_URL")
    webhook_secret: SecretStr | None = Field(default=None, validation_alias="SDASSIST_WEBHOOK_SECRET")

    confirm_secret: SecretStr | None = Field(default=None, validation_alias="SDASSIST_CONFIRM_SECRET")
    mcp_token: SecretStr | None = Field(default=None, validation_alias="SDASSIST_MCP_TOKEN")
    mcp_toolsets: str | None = Field(default=None, validation_alias="SDASSIST_TOOLSETS")
    mcp_read_only: bool = Field(default=False, validation_alias="SDASSIST_READ_ONLY")
    mcp_allowed_hosts: str = Field(default="", validation_alias="SDASSIST_MCP_ALLOWED_HOSTS")
    #: How `sdassist mcp --http` authenticates callers; None picks: oauth with a public non-loopback
    #: SDASSIST_PUBLIC_URL, else the static token if set, else none (loopback only).
    mcp_auth: Literal["oauth", "token", "none"] | None = Field(default=None, validation_alias="SDASSIST_MCP_AUTH")
    oidc_issuer: str | None = Field(default=None, validation_alias="SDASSIST_OIDC_ISSUER")
    oidc_client_id: str | None = Field(default=None, validation_alias="SDASSIST_OIDC_CLIENT_ID")
    oidc_client_secret: SecretStr | None = Field(default=None, validation_alias="SDASSIST_OIDC_CLIENT_SECRET")

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name == "database_url" and isinstance(value, str):
                value = mask_url_password(value)
            yield name, value

    def check_secret_transports(self) -> None:
        """Refuse at start-up (InsecureTransport, one line) a key or token set to travel over plain http to
        another machine; the SocialDock client and the Slack Web API client refuse it again when built."""
        key = self.socialdock_api_key.get_secret_value().strip() if self.socialdock_api_key else ""
        if key and key != PUBLIC_SANDBOX_KEY:
            check_secret_transport(self.socialdock_base_url, what="SocialDock API key", setting="SOCIALDOCK_BASE_URL")
        if self.slack_bot_token is not None and self.slack_api_url:
            check_secret_transport(self.slack_api_url, what="Slack bot token", setting="SDASSIST_SLACK_API_URL")

    @property
    def uses_sandbox(self) -> bool:
        """True when no real key is configured: everything then runs on the built-in sandbox."""
        return self.socialdock_api_key is None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'sdassist.db'}"

    @property
    def approver_ids(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.approvers.split(",") if p.strip())
