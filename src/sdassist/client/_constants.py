"""The few constants the rest of sdassist needs before (or without) loading the client itself."""

#: SocialDock's production API: the one place its address is written.
DEFAULT_BASE_URL = "https://api.socialdock.com"
TEST_KEY_PREFIX = "sd_test_"
LIVE_KEY_PREFIX = "sd_live_"
#: The local sandbox's published key (`sdassist sandbox`): not a secret, so plain http to a sandbox elsewhere is fine.
PUBLIC_SANDBOX_KEY = "sd_test_sandbox"
#: Seconds an idle connection is kept for reuse: below the server's keep-alive (uvicorn's default is 5 s,
#: common proxies 60 s and more). Equal or longer, the server may close a connection just as a request goes
#: out on it, and a POST that meets that close (ReadError) cannot be safely replayed.
KEEPALIVE_EXPIRY = 4.0
