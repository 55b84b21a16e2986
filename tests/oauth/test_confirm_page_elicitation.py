"""`confirm` mode for a signed-in person whose host declared URL-mode elicitation: sdassist asks the host to open
the confirmation page, in both protocol eras (the handshake era's `elicitation/create` during the call, the
2026-07-28 era's InputRequiredResult and retry), with the mcp SDK's own client and a real sign-in.

Only the page publishes: accepting the host's question publishes nothing, a declined one leaves the draft
pending, the retry does not draft again, and a requestState that is not the caller's own is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import ElicitRequestFormParams, ElicitRequestURLParams, ElicitResult, ServerNotification

from sdassist.publishing.store import DraftStore
from tests.oauth.conftest import Browser, Cluster, Instance
from tests.oauth.test_sdk_client import LINK, POST, Host

ERAS = ["legacy", "auto"]  # auto: the SDK client settles on 2026-07-28 with sdassist
STATE_SECRET = "request-state-key-for-tests-only-0123456789"


class Person:
    """The person at the host: sees the elicitations, opens the page (the browser), and answers."""

    def __init__(self, browser: Browser, *, action: str = "accept", press: str | None = None) -> None:
        self.browser = browser
        self.action = action
        self.press = press
        self.asked: list[Any] = []
        self.notices: list[Any] = []

    async def elicit(self, context: Any, params: Any) -> ElicitResult:
        self.asked.append(params)
        if isinstance(params, ElicitRequestFormParams):
            return ElicitResult(action=self.action, content={"publish": True} if self.action == "accept" else None)
        if self.action == "accept" and self.press is not None:
            await asyncio.to_thread(self.browser.confirm, params.url, self.press)
        return ElicitResult(action=self.action)

    async def message(self, message: Any) -> None:
        if isinstance(message, ServerNotification):
            self.notices.append(message)


def connect(host: Host, person: Person, mode: str) -> tuple[Any, Client]:
    http, plain = host.client()
    client = Client(plain.server, mode=mode, elicitation_callback=person.elicit,  # type: ignore[arg-type]
                    message_handler=person.message)
    return http, client


def signed_in(cluster: Cluster, person: Person, mode: str, **env: str) -> tuple[Any, Client]:
    """A fresh instance, and Alice's host connected to it in `mode` (it signs her in on the first call)."""
    return connect(Host(cluster.start(**env).mcp_url, person.browser), person, mode)


async def drafts_of(cluster: Cluster, person: str) -> list[Any]:
    store = await DraftStore.open(cluster.database_url)
    try:
        return [d for d in await store.list() if d.requester_id == person]
    finally:
        await store.close()


@pytest.fixture
def form_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A host that declares form elicitation but not URL mode (the SDK client declares both)."""
    build = ClientSession._build_capabilities

    def without_url(self: ClientSession, version: str) -> Any:
        caps = build(self, version)
        if caps.elicitation is not None:
            caps.elicitation.url = None
        return caps

    monkeypatch.setattr(ClientSession, "_build_capabilities", without_url)
    yield


@pytest.mark.parametrize("mode", ERAS)
async def test_the_host_is_asked_to_open_the_page_and_only_the_page_publishes(
        cluster: Cluster, browser: Browser, mode: str) -> None:
    a = cluster.start(SDASSIST_REQUEST_STATE_SECRET=STATE_SECRET)
    host = Host(a.mcp_url, browser)
    person = Person(browser)
    http, client = connect(host, person, mode)
    async with http, client:
        assert (client.protocol_version == "2026-07-28") == (mode == "auto")
        drafted = await client.call_tool("draft_post", POST)
        assert not drafted.is_error, drafted.content
        draft = drafted.structured_content
        # The host was asked once, in URL mode, with the draft's confirmation page.
        assert len(person.asked) == 1
        asked = person.asked[0]
        assert isinstance(asked, ElicitRequestURLParams) and asked.mode == "url"
        assert LINK.fullmatch(asked.url) and draft["draft_id"] not in asked.url
        assert draft["draft_id"] in asked.message and "linkedin" in asked.message
        assert "Opening it publishes nothing" in asked.message
        # The handshake era names the elicitation (bound to the draft's version); 2026-07-28 has no such id.
        assert asked.elicitation_id == (f"{draft['draft_id']}-v1" if mode == "legacy" else None)
        # Accepting only sent Alice to the page: nothing is published, and the link is there again.
        assert draft["state"] == "pending" and draft.get("confirmation_token") is None
        assert "sent to the confirmation page" in draft["next_step"] and asked.url in draft["next_step"]
        assert (await client.call_tool("get_draft", {"draft_id": draft["draft_id"]})).structured_content[
            "state"] == "pending"

        _, pressed = await asyncio.to_thread(browser.confirm, asked.url, "publish")
        assert pressed is not None and "Scheduled on SocialDock" in pressed.text
        outcome = (await client.call_tool("get_draft", {"draft_id": draft["draft_id"]})).structured_content
        assert outcome["state"] == "scheduled"
        if mode == "legacy":  # the host that was sent there is told the page was answered
            for _ in range(50):
                if person.notices:
                    break
                await asyncio.sleep(0.1)
            done = [n for n in person.notices if n.method == "notifications/elicitation/complete"]
            assert [n.params.elicitation_id for n in done] == [asked.elicitation_id]
    # One draft: the retry (2026-07-28) answered from the draft instead of drafting again.
    assert [d.id for d in await drafts_of(cluster, "alice")] == [draft["draft_id"]]


@pytest.mark.parametrize("mode", ERAS)
async def test_published_on_the_page_before_the_host_answered(cluster: Cluster, browser: Browser, mode: str) -> None:
    person = Person(browser, press="publish")
    http, client = signed_in(cluster, person, mode)
    async with http, client:
        draft = (await client.call_tool("draft_post", POST)).structured_content
    assert draft["state"] == "scheduled" and draft["next_step"].startswith("Scheduled on SocialDock")
    assert len(await drafts_of(cluster, "alice")) == 1


@pytest.mark.parametrize("mode", ERAS)
async def test_a_declined_question_leaves_the_draft_pending(cluster: Cluster, browser: Browser, mode: str) -> None:
    person = Person(browser, action="decline")
    http, client = signed_in(cluster, person, mode)
    async with http, client:
        draft = (await client.call_tool("draft_post", POST)).structured_content
        assert draft["state"] == "pending"
        assert "did not open the confirmation page" in draft["next_step"]
        url = LINK.search(draft["next_step"])
        assert url and url.group(1) == person.asked[0].url
        # The page still works: declining the host's question is not cancelling the draft.
        _, pressed = await asyncio.to_thread(browser.confirm, url.group(1), "cancel")
        assert pressed is not None and "Nothing was published" in pressed.text
        assert (await client.call_tool("get_draft", {"draft_id": draft["draft_id"]})).structured_content[
            "state"] == "cancelled"


async def test_a_tampered_or_foreign_request_state_is_refused(cluster: Cluster, browser: Browser) -> None:
    a = cluster.start(SDASSIST_REQUEST_STATE_SECRET=STATE_SECRET)
    alice_host = Host(a.mcp_url, browser)
    http, client = connect(alice_host, Person(browser), "auto")
    async with http, client:
        first = await client.session.call_tool("draft_post", POST, allow_input_required=True)
        assert first.result_type == "input_required" and first.request_state
        assert list(first.input_requests) == ["confirm_page"]  # type: ignore[arg-type]
        state = first.request_state
        # The state is sealed (encrypted): the draft id and the subject cannot be read from it.
        [draft] = await drafts_of(cluster, "alice")
        assert state.startswith("v1.") and draft.id not in state and "subject" not in state
        accept = {"confirm_page": ElicitResult(action="accept")}
        tampered = state[:-2] + ("AA" if not state.endswith("AA") else "BB")
        with pytest.raises(MCPError) as refused:
            await client.call_tool("draft_post", POST, input_responses=accept, request_state=tampered)
        assert str(refused.value).startswith("Invalid or expired requestState: a retry must carry, unchanged, the ")
        assert "list_drafts" in str(refused.value)
        # Her own state, retried: the draft as it stands, not a second draft.
        again = await client.call_tool("draft_post", POST, input_responses=accept, request_state=state)
        assert again.structured_content["state"] == "pending"

    bob = Browser("bob")
    try:
        bob_host = Host(a.mcp_url, bob)
        http, client = connect(bob_host, Person(bob), "auto")
        async with http, client:
            with pytest.raises(MCPError) as foreign:
                await client.call_tool("draft_post", POST, input_responses=accept, request_state=state)
            assert "Invalid or expired requestState" in str(foreign.value)
    finally:
        bob.close()
    assert len(await drafts_of(cluster, "alice")) == 1 and not await drafts_of(cluster, "bob")


async def retried_elsewhere(cluster: Cluster, browser: Browser, a: Instance, works: Instance, refuses: Instance
                            ) -> None:
    """The first round on `a`; its retry answered on `works` and refused ("Invalid or expired") on `refuses`."""
    host = Host(a.mcp_url, browser)
    person = Person(browser)
    http, client = connect(host, person, "auto")
    async with http, client:
        first = await client.session.call_tool("draft_post", POST, allow_input_required=True)
    assert first.result_type == "input_required"
    assert host.storage.tokens is not None
    accept = {"confirm_page": ElicitResult(action="accept")}
    bearer = {"Authorization": f"Bearer {host.storage.tokens.access_token}"}
    for instance in (works, refuses):
        async with httpx2.AsyncClient(headers=bearer, timeout=30) as plain, Client(
                streamable_http_client(instance.mcp_url, http_client=plain), elicitation_callback=person.elicit
        ) as other:
            if instance is works:
                answer = (await other.call_tool("draft_post", POST, input_responses=accept,
                                                request_state=first.request_state)).structured_content
                assert answer["state"] == "pending" and "sent to the confirmation page" in answer["next_step"]
            else:
                with pytest.raises(MCPError, match="Invalid or expired requestState"):
                    await other.call_tool("draft_post", POST, input_responses=accept,
                                          request_state=first.request_state)
    assert len(await drafts_of(cluster, "alice")) == 1


async def test_the_retry_may_reach_another_instance_that_shares_the_key(cluster: Cluster, browser: Browser) -> None:
    """Behind a load balancer: the first round on A, the retry on B (same SDASSIST_REQUEST_STATE_SECRET) works;
    on C, without it (so with the database's key), the state is refused."""
    a = cluster.start(0, SDASSIST_REQUEST_STATE_SECRET=STATE_SECRET)
    b = cluster.start(1, SDASSIST_PUBLIC_URL=a.origin, SDASSIST_REQUEST_STATE_SECRET=STATE_SECRET)
    c = cluster.start(2, SDASSIST_PUBLIC_URL=a.origin)
    await retried_elsewhere(cluster, browser, a, works=b, refuses=c)


async def test_instances_on_one_database_share_its_key_unless_the_setting_says_otherwise(
        cluster: Cluster, browser: Browser) -> None:
    """No SDASSIST_REQUEST_STATE_SECRET anywhere: A and B read the one key kept in the database they share, so the
    retry may reach B; C, given the setting, uses it (the setting wins) and refuses A's state."""
    a = cluster.start(0)
    b = cluster.start(1, SDASSIST_PUBLIC_URL=a.origin)
    c = cluster.start(2, SDASSIST_PUBLIC_URL=a.origin, SDASSIST_REQUEST_STATE_SECRET=STATE_SECRET)
    await retried_elsewhere(cluster, browser, a, works=b, refuses=c)


@pytest.mark.parametrize("mode", ERAS)
async def test_a_host_with_form_elicitation_only_keeps_the_form(cluster: Cluster, browser: Browser, mode: str,
                                                                form_only: None) -> None:
    person = Person(browser)
    http, client = signed_in(cluster, person, mode)
    async with http, client:
        draft = (await client.call_tool("draft_post", POST)).structured_content
    assert [type(p) for p in person.asked] == [ElicitRequestFormParams]
    assert "Launch day!" in person.asked[0].message
    assert draft["state"] == "scheduled" and draft["next_step"].startswith("The user confirmed at the host.")
