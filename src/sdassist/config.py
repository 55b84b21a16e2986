"""One place that reads every setting: environment variables and optional `.env` files.

`.env` is read from the data directory (`~/.sdassist/.env`, where it is found whatever directory an MCP host
starts the server in) and then from the current directory, which wins; `SDASSIST_ENV_FILE` names the one
file to read instead. The environment wins over every file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sdassist.client import DEFAULT_BASE_URL, PUBLIC_SANDBOX_KEY
from sdassist.netsafety import check_secret_transport

__all__ = [
    "DEFAULT_BASE_URL", "ENV_FILE_VARIABLE", "SANDBOX_KEY", "Settings", "SettingsError", "default_data_dir",
    "env_files", "mask_url_password",
]

ENV_FILE_VARIABLE = "SDASSIST_ENV_FILE"

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


class SettingsError(ValueError):
    """A setting with a value sdassist cannot use: one line naming it and what it accepts."""


def env_files() -> tuple[Path, ...]:
    """The `.env` files settings are read from, lowest priority first (those that exist).

    MCP hosts start the server in a directory nobody chose, so besides `./.env` the data directory's
    `.env` is read too (`SDASSIST_DATA_DIR` from the environment, else `~/.sdassist`);
    `SDASSIST_ENV_FILE` names the one file to read instead, and must exist.
    """
    chosen = os.environ.get(ENV_FILE_VARIABLE, "").strip()
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise SettingsError(f"{ENV_FILE_VARIABLE} is {chosen!r}, which is not a file: point it at an existing "
                                ".env file or unset it")
        return (path,)
    data_dir = os.environ.get("SDASSIST_DATA_DIR", "").strip()
    candidates = [Path(data_dir).expanduser() if data_dir else default_data_dir(), Path.cwd()]
    found: list[Path] = []
    for folder in candidates:
        path = folder / ".env"
        if path.is_file() and path.resolve() not in {f.resolve() for f in found}:
            found.append(path)
    return tuple(found)


def _one_line(exc: ValidationError, secrets: frozenset[str]) -> str:
    """pydantic's report as one line per setting: its name, the value (never a secret's) and what it takes."""
    parts = []
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else "a setting"
        expected = error.get("ctx", {}).get("expected")
        if expected:
            wanted = "allowed values are " + expected.replace("'", "").replace(" or ", ", ")
        elif error["type"] == "bool_parsing":
            wanted = "allowed values are true, false (or 1, 0, yes, no, on, off)"
        elif error["type"] == "value_error":
            wanted = str(error["msg"]).removeprefix("Value error, ")
        else:
            wanted = str(error["msg"]).replace("Input should be", "it must be").replace("Input ", "it ")
        shown = "" if name in secrets else f" is {error.get('input')!r}:"
        parts.append(f"{name}{shown or ':'} {wanted}")
    return "; ".join(parts)


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
    #: Signs media URLs; every instance must share it. Unset: one random key kept in the database.
    media_secret: SecretStr | None = Field(default=None, validation_alias="SDASSIST_MEDIA_SECRET")
    media_max_mb: float = Field(default=500.0, gt=0, validation_alias="SDASSIST_MEDIA_MAX_MB")
    media_keep_days: float = Field(default=30.0, gt=0, validation_alias="SDASSIST_MEDIA_KEEP_DAYS")

    confirm_secret: SecretStr | None = Field(default=None, validation_alias="SDASSIST_CONFIRM_SECRET")
    #: Seals the requestState an MCP host carries between the rounds of one tool call (protocol 2026-07-28):
    #: comma-separated keys, the first seals, all open (rotation). Unset: a random key per process.
    request_state_secret: SecretStr | None = Field(default=None, validation_alias="SDASSIST_REQUEST_STATE_SECRET")
    mcp_token: SecretStr | None = Field(default=None, validation_alias="SDASSIST_MCP_TOKEN")
    mcp_toolsets: str | None = Field(default=None, validation_alias="SDASSIST_TOOLSETS")
    mcp_read_only: bool = Field(default=False, validation_alias="SDASSIST_READ_ONLY")
    mcp_allowed_hosts: str = Field(default="", validation_alias="SDASSIST_MCP_ALLOWED_HOSTS")
    #: `oauth` mode: the only hosts https redirect URIs of OAuth clients may name (comma-separated); empty: any.
    oauth_redirect_hosts: str = Field(default="", validation_alias="SDASSIST_OAUTH_REDIRECT_HOSTS")
    #: `oauth` mode: a dynamically registered client unused this many days is deleted (longer than a refresh
    #: token lives, so a client that still holds a usable one is never removed).
    oauth_client_idle_days: int = Field(default=90, ge=31, validation_alias="SDASSIST_OAUTH_CLIENT_IDLE_DAYS")
    #: `oauth` mode: dynamic client registrations accepted per source address and minute; 0: no limit.
    oauth_registrations_per_minute: int = Field(default=10, ge=0,
                                                validation_alias="SDASSIST_OAUTH_REGISTRATIONS_PER_MINUTE")
    #: How `sdassist mcp --http` authenticates callers; None picks: oauth with a public non-loopback
    #: SDASSIST_PUBLIC_URL, else the static token if set, else none (loopback only).
    mcp_auth: Literal["oauth", "token", "none"] | None = Field(default=None, validation_alias="SDASSIST_MCP_AUTH")
    oidc_issuer: str | None = Field(default=None, validation_alias="SDASSIST_OIDC_ISSUER")
    oidc_client_id: str | None = Field(default=None, validation_alias="SDASSIST_OIDC_CLIENT_ID")
    oidc_client_secret: SecretStr | None = Field(default=None, validation_alias="SDASSIST_OIDC_CLIENT_SECRET")

    def __init__(self, **values: Any) -> None:
        """As pydantic-settings, but `.env` comes from `env_files()` and a bad value is a `SettingsError`."""
        if "_env_file" not in values:
            values["_env_file"] = env_files() or None
        try:
            super().__init__(**values)
        except ValidationError as exc:
            secrets = frozenset(f.validation_alias for f in type(self).model_fields.values()
                                if f.annotation is not None and "SecretStr" in str(f.annotation))
            raise SettingsError(_one_line(exc, secrets)) from None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from sdassist.publishing.when import TimeError, parse_zone

        try:
            parse_zone(value)
        except TimeError as exc:
            if "ambiguous" in exc.message:
                raise ValueError(exc.message.removeprefix(f"{value.strip()} ")) from None
            raise ValueError("not a time zone; allowed values are IANA names such as Europe/Berlin, "
                             "America/New_York or UTC, abbreviations such as PT or CET, and offsets such as "
                             "UTC+2 or +05:30") from None
        return value

    @field_validator("request_state_secret")
    @classmethod
    def _long_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            keys = value.get_secret_value().split(",")
            if any(len(k.strip()) < 32 for k in keys):
                raise ValueError("each comma-separated key must be at least 32 characters of random text, e.g. "
                                 "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
        return value

    @property
    def request_state_keys(self) -> list[str]:
        """The request-state key ring (empty when unset)."""
        if self.request_state_secret is None:
            return []
        return [k.strip() for k in self.request_state_secret.get_secret_value().split(",")]

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
