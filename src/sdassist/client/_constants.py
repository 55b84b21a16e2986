"""The few constants the rest of sdassist needs before (or without) loading the client itself."""

#: SocialDock's production API: the one place its address is written.
DEFAULT_BASE_URL = "https://api.socialdock.com"
TEST_KEY_PREFIX = "sd_test_"
LIVE_KEY_PREFIX = "sd_live_"
#: The local sandbox's published key (`sdassist sandbox`): not a secret, so plain http to a sandbox elsewhere is fine.
PUBLIC_SANDBOX_KEY = "sd_test_sandbox"
