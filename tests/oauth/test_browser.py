"""Sign-in, consent (and deny) and the confirmation page in a real browser: Debian's Chromium, headless,
driven by Playwright, with JavaScript switched off (the pages must work without it). The redirect back to
the host's callback is answered by the browser itself (a routed request), so nothing but loopback servers
this test started is contacted."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.oauth.conftest import Cluster, code_from
from tests.oauth.test_sdk_client import POST, REDIRECT_URI, Host

playwright_api = pytest.importorskip("playwright.async_api", reason="the browser tests need the playwright package")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/confirm/[A-Za-z0-9_-]+)")


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(java_script_enabled=False)

        async def host_callback(route: Any) -> None:
            await route.fulfill(status=200, content_type="text/plain", body="back at the host")

        await context.route(f"{REDIRECT_URI}**", host_callback)
        yield await context.new_page()
        await browser.close()


class BrowserPerson:
    """Alice at Chromium: signs in at the provider's own pages and answers sdassist's consent page."""

    def __init__(self, page: Any, decision: str = "Allow") -> None:
        self.page = page
        self.decision = decision
        self.consent_text = ""

    async def __call__(self, url: str) -> str:
        page = self.page
        await page.goto(url)
        if await page.locator("input[name=login]").count():
            await page.fill("input[name=login]", "alice")
            await page.fill("input[name=password]", "any")
            await page.locator("button[type=submit]").click()
        if await page.locator("input[name=prompt][value=consent]").count():
            await page.locator("button[type=submit]").click()
        heading = page.get_by_role("heading", level=1)
        await playwright_api.expect(heading).to_have_text("Allow Claude to use sdassist as you?")
        assert await page.locator("html").get_attribute("lang") == "en"
        self.consent_text = await page.locator("main").inner_text()
        async with page.expect_request(lambda r: r.url.startswith(REDIRECT_URI)) as sent:
            await page.get_by_role("button", name=self.decision).click()
        return (await sent.value).url


async def test_sign_in_consent_and_confirmation_in_chromium(cluster: Cluster, page: Any) -> None:
    a = cluster.start()
    person = BrowserPerson(page)
    host = Host(a.mcp_url, browser=None)  # type: ignore[arg-type]

    async def redirect(url: str) -> None:
        host.authorize_urls.append(url)
        host.final_urls.append(await person(url))

    host.auth.context.redirect_handler = redirect
    http, client = host.client()
    async with http, client:
        drafted = (await client.call_tool("draft_post", POST)).structured_content
        assert "Signed in as Alice" in person.consent_text
        assert "read" in person.consent_text and "draft" in person.consent_text
        assert "127.0.0.1:1" in person.consent_text  # where the browser goes next
        assert code_from(host.final_urls[0])["iss"] == a.origin

        link = LINK.search(drafted["next_step"])
        assert link, drafted["next_step"]
        await page.goto(link.group(1))
        await playwright_api.expect(page.get_by_role("heading", level=1)).to_have_text("Publish this post?")
        shown = await page.locator("main").inner_text()
        assert "Launch day!" in shown and "11 of 3,000 characters" in shown and "UTC" in shown
        assert await page.get_by_role("region", name="LinkedIn").count() == 1
        await page.get_by_role("button", name="Publish").click()
        await playwright_api.expect(page.get_by_role("heading", level=1)).to_have_text("Done")
        outcome = (await client.call_tool("get_draft", {"draft_id": drafted["draft_id"]})).structured_content
        assert outcome["state"] == "scheduled"


async def test_deny_in_chromium(cluster: Cluster, page: Any) -> None:
    a = cluster.start()
    person = BrowserPerson(page, decision="Deny")
    host = Host(a.mcp_url, browser=None)  # type: ignore[arg-type]

    async def redirect(url: str) -> None:
        host.final_urls.append(await person(url))

    host.auth.context.redirect_handler = redirect
    http, client = host.client()
    with pytest.raises(Exception):  # noqa: B017 - the SDK gives up in its own way: there is no code
        async with http, client:
            await client.call_tool("list_accounts", {})
    answer = code_from(host.final_urls[0])
    assert answer["error"] == "access_denied" and answer["iss"] == a.origin and "code" not in answer
