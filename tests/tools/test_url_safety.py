"""URLs someone hands us are checked for where they really point, however the address is spelt.

Media and webhook URLs are fetched by SocialDock; OAuth client metadata documents by us. None of them may
reach this machine, the cloud metadata service or a private network; loopback only when SocialDock itself is
on this machine (the sandbox)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sdassist.netsafety import UnsafeURL, check_public_url, check_resolved, is_loopback_host
from sdassist.tools import ToolError
from sdassist.tools.webhooks import check_webhook_url
from tests.tools.conftest import call

LOOPBACK_SPELLINGS = [
    "http://127.0.0.1/a.png", "http://2130706433/a.png", "http://0x7f.1/a.png", "http://0x7f000001/a.png",
    "http://0177.0.0.1/a.png", "http://127.1/a.png", "http://[::1]/a.png", "http://[::ffff:127.0.0.1]/a.png",
    "http://[::ffff:7f00:1]/a.png", "http://[0:0:0:0:0:ffff:127.0.0.1]/a.png", "http://[::127.0.0.1]/a.png",
    "http://[2002:7f00:1::]/a.png", "http://[64:ff9b::127.0.0.1]/a.png", "http://localhost/a.png",
    "http://LOCALHOST./a.png", "http://img.localhost/a.png", "https://127.0.0.1:8443/a.png",
]
NEVER = {
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://2852039166/latest/": "link-local",
    "http://[::ffff:169.254.169.254]/": "link-local",
    "http://[fe80::1]/x": "link-local",
    "http://metadata.google.internal/computeMetadata/v1/": "internal",
    "http://10.0.0.1/a.png": "private",
    "http://012.0.0.1/a.png": "private",
    "http://172.16.5.4/a.png": "private",
    "http://192.168.1.1/a.png": "private",
    "http://[fd00::1]/a.png": "private",
    "http://100.64.0.1/a.png": "carrier-grade NAT",
    "http://0.0.0.0/a.png": "unspecified",
    "http://0/a.png": "unspecified",
    "http://224.0.0.1/a.png": "multicast",
}


@pytest.mark.parametrize("url", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_refused_with_the_reason(url: str) -> None:
    with pytest.raises(UnsafeURL, match="loopback") as caught:
        check_public_url(url, field="media_urls")
    assert caught.value.field == "media_urls" and str(caught.value).startswith("media_urls: ")
    assert caught.value.hint


# A URL parser (WHATWG's, as fetchers use) percent-decodes the host and maps it by IDNA (full-width letters and
# digits, the ideographic full stops) before reading it as an address: those spellings reach the same place.
MAPPED_SPELLINGS = {
    "http://127%2e0%2e0%2e1/a.png": "loopback", "http://loc%61lhost/a.png": "loopback",
    "http://localhost%2e/a.png": "loopback", "http://127\u30020\u30020\u30021/a.png": "loopback",
    "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/a.png": "loopback",
    "http://169\uff61254\uff61169\uff61254/latest/": "link-local",
    "http://169\uff0e254\uff0e169\uff0e254/latest/": "link-local", "http://%31%30.0.0.1/a.png": "private",
    "http://metadata.google%2einternal/": "internal",
}


@pytest.mark.parametrize(("url", "reason"), MAPPED_SPELLINGS.items())
def test_percent_encoded_and_idna_mapped_hosts_are_read_as_a_fetcher_reads_them(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURL, match=reason):
        check_public_url(url, field="media_urls")


@pytest.mark.parametrize("url", ["http://127.0.0.1%09/a.png", "http://exa%20mple.com/", "http://a%2fb.com/",
                                 "http://%zz.com/"])
def test_a_host_that_decodes_to_forbidden_characters_is_malformed(url: str) -> None:
    with pytest.raises(UnsafeURL, match="not a valid address"):
        check_public_url(url, field="media_urls")


@pytest.mark.parametrize("url", LOOPBACK_SPELLINGS)
def test_loopback_is_allowed_when_socialdock_is_on_this_machine(url: str) -> None:
    assert check_public_url(url, loopback_ok=True) == url
    assert is_loopback_host(url.split("/")[2].rsplit(":", 1)[0] if "]" not in url else url.split("/")[2])


@pytest.mark.parametrize(("url", "reason"), NEVER.items())
def test_metadata_and_private_addresses_are_refused_even_beside_a_local_socialdock(url: str, reason: str) -> None:
    for loopback_ok in (False, True):
        with pytest.raises(UnsafeURL, match=reason):
            check_public_url(url, field="url", loopback_ok=loopback_ok)


@pytest.mark.parametrize("url", ["https://example.com/a.png", "http://93.184.216.34/a.png", "HTTPS://Example.COM/x",
                                 "http://[2606:4700::1111]/x", "http://[::ffff:8.8.8.8]/x", "https://x.test/a.jpg"])
def test_public_addresses_pass(url: str) -> None:
    assert check_public_url(url) == url


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://example.com/a.png", "absolute http"), ("/tmp/a.png", "absolute http"), ("https://", "absolute http"),
    ("http://256.0.0.1/", "not a valid address"), ("http://1.2.3.4.5/", "not a valid address"),
    ("http://0x100000000/", "not a valid address"), ("http://example.com:99999/", "port"),
    ("http://127.0.0.1\\@example.com/", "backslash"), ("http://exa mple.com/", "spaces"),
])
def test_malformed_urls_say_what_is_wrong(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURL, match=reason):
        check_public_url(url, field="media_urls")


async def test_a_name_is_also_checked_by_what_it_resolves_to(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"rebind.example": ["93.184.216.34", "127.0.0.1"], "intranet.example": ["10.0.0.5"],
               "ok.example": ["93.184.216.34", "2606:4700::1111"]}

    async def resolve(host: str, port: int, **_: Any) -> list[Any]:  # a resolver that never leaves the machine
        if host not in answers:
            raise OSError("no such name")
        return [(0, 1, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolve)
    with pytest.raises(UnsafeURL, match=r"client_id: 'rebind\.example' resolves to 127\.0\.0\.1, loopback"):
        await check_resolved("https://rebind.example/meta.json", field="client_id")
    with pytest.raises(UnsafeURL, match=r"resolves to 10.0.0.5, a private network"):
        await check_resolved("https://intranet.example/meta.json", loopback_ok=True)
    with pytest.raises(UnsafeURL, match="could not be resolved"):
        await check_resolved("https://nowhere.example/meta.json")
    assert [str(a) for a in await check_resolved("https://ok.example/m")] == ["93.184.216.34", "2606:4700::1111"]
    assert [str(a) for a in await check_resolved("https://93.184.216.34/m")] == ["93.184.216.34"]
    with pytest.raises(UnsafeURL, match="loopback"):
        await check_resolved("http://localhost:9/meta.json")


def test_webhook_urls_to_loopback_only_when_socialdock_is_local_and_never_to_private_ranges() -> None:
    with pytest.raises(ToolError, match="loopback"):
        check_webhook_url("http://2130706433:8080/hook")
    assert check_webhook_url("http://2130706433:8080/hook", loopback_ok=True)
    for url in ("https://10.1.2.3/hook", "https://[::ffff:169.254.169.254]/hook", "https://0xa9.0xfe.0xa9.0xfe/"):
        with pytest.raises(ToolError, match=r"webhook url: .* points at"):
            check_webhook_url(url, loopback_ok=True)


# --- through the tools: every path that hands SocialDock a URL ------------------------------------------

async def test_every_tool_that_takes_a_url_refuses_private_ones(runtime: Any) -> None:
    bad = "http://0xa9fea9fe/latest/meta-data/"  # 169.254.169.254
    with pytest.raises(ToolError, match=r"media_urls: .* link-local"):
        await call(runtime, "draft_post", text="Hi", targets=["linkedin"], when="tomorrow 9am", media_urls=[bad])
    with pytest.raises(ToolError, match=r"url: .* link-local"):
        await call(runtime, "upload_media", url=bad)
    with pytest.raises(ToolError, match=r"webhook url: .* link-local"):
        await call(runtime, "create_webhook", url=bad)
    draft = await call(runtime, "draft_post", text="Hi", targets=["linkedin"], when="tomorrow 9am")
    with pytest.raises(ToolError, match=r"media_urls: .* private network"):
        await call(runtime, "edit_draft", draft_id=draft.draft_id, version=1, media_urls=["http://10.0.0.8/a.png"])


async def test_loopback_media_is_refused_when_socialdock_is_elsewhere(runtime: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.client, "is_local", False)
    with pytest.raises(ToolError, match=r"media_urls: .* loopback"):
        await call(runtime, "draft_post", text="Hi", targets=["linkedin"], when="tomorrow 9am",
                   media_urls=["http://[::ffff:127.0.0.1]/a.png"])
    with pytest.raises(ToolError, match=r"webhook url: .* loopback"):
        await call(runtime, "create_webhook", url="http://127.1:9/hook")


# --- credentials in a URL: refused, and never repeated --------------------------------------------------

WITH_CREDENTIALS = ["https://user:hunter2@cdn.example.com/a.jpg", "https://:hunter2@cdn.example.com/a.jpg",
                    "https://hunter2@cdn.example.com/a.jpg", "HTTPS://u:hunter2@cdn.example.com:8443/a.jpg?x=1",
                    "https://u:hunter2@10.0.0.1/a.jpg", "https://u:hunter2@a@cdn.example.com/a.jpg"]


@pytest.mark.parametrize("url", WITH_CREDENTIALS)
def test_a_url_with_a_user_name_or_password_is_refused_without_repeating_it(url: str) -> None:
    for loopback_ok in (False, True):
        with pytest.raises(UnsafeURL) as caught:
            check_public_url(url, field="media_urls", loopback_ok=loopback_ok)
        assert "hunter2" not in str(caught.value) and "hunter2" not in caught.value.hint
        assert str(caught.value).startswith("media_urls: ")
    with pytest.raises(UnsafeURL, match="user name or password"):
        check_public_url(url.replace("10.0.0.1", "cdn.example.com"), field="media_urls")


def test_other_refusals_do_not_repeat_a_password_either() -> None:
    with pytest.raises(UnsafeURL) as caught:
        check_public_url("https://u:hunter2@cdn.example.com/a b.jpg", field="url")
    assert "hunter2" not in str(caught.value) and "***@cdn.example.com" in str(caught.value)


async def test_tools_refuse_credentials_in_urls_and_never_show_them(runtime: Any) -> None:
    bad = "https://user:hunter2@cdn.example.com/a.jpg"
    refusals = []
    with pytest.raises(ToolError, match=r"media_urls: .* user name or password") as caught:
        await call(runtime, "draft_post", text="Hi", targets=["linkedin"], when="tomorrow 9am", media_urls=[bad])
    refusals.append(caught.value)
    with pytest.raises(ToolError, match=r"url: .* user name or password") as caught:
        await call(runtime, "upload_media", url=bad)
    refusals.append(caught.value)
    with pytest.raises(ToolError, match=r"webhook url: .* user name or password") as caught:
        await call(runtime, "create_webhook", url="https://user:hunter2@hooks.example.com/socialdock")
    refusals.append(caught.value)
    draft = await call(runtime, "draft_post", text="Hi", targets=["linkedin"], when="tomorrow 9am")
    with pytest.raises(ToolError, match=r"media_urls: .* user name or password") as caught:
        await call(runtime, "edit_draft", draft_id=draft.draft_id, version=1, media_urls=[bad])
    refusals.append(caught.value)
    assert all("hunter2" not in f"{e} {e.hint}" for e in refusals)
    assert (await call(runtime, "get_draft", draft_id=draft.draft_id)).version == 1  # the draft is untouched
    # A webhook registered elsewhere (SocialDock's dashboard) with a password in its URL is listed without it.
    await runtime.client.webhooks.create(url="https://user:hunter2@hooks.example.com/in", events=["post_failed"])
    listed = await call(runtime, "list_webhooks")
    assert [h.url for h in listed.webhooks] == ["https://***@hooks.example.com/in"]
