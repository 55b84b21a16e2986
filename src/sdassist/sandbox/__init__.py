"""A faithful local SocialDock: same paths, envelope, errors, rate limits, scheduling and signed webhooks,
with a movable clock and fault injection. It imports nothing else from sdassist: it is another service."""

from .app import create_app
from .config import DEFAULT_KEY, SandboxConfig
from .server import ServedSandbox, build_server, serve
from .state import SandboxState

__all__ = ["DEFAULT_KEY", "SandboxConfig", "SandboxState", "ServedSandbox", "build_server", "create_app", "serve"]
