"""Any message becomes a post, with its images: the shortcut, mentions in threads, DMs, and the files'
way from Slack (bot token) through sdassist's signed links to SocialDock (the sandbox really fetches them)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from sdassist.slack.files import SlackFiles
from tests.media_samples import jpeg, mp4, png
from tests.slack.conftest import APPROVER, REQUESTER, Harness

PUBLIC = pytest.mark.parametrize("harness", [{"SDASSIST_PUBLIC_URL": "auto"}], indirect=True)
GENERAL = "C0GENERAL"


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def sandbox_state(h: Harness) -> Any:
    """The sandbox's own records (what SocialDock fetched and stored)."""
    return h.sandbox_app.state.sandbox


async def linkedin_option(h: Harness) -> str:
    await h.face.accounts.refresh()
    return next(o["value"] for o in h.face.accounts.options() if o["value"].startswith("linkedin|"))


def submission(text: str, account: str, *, files: list[str] = (), uploads: list[dict[str, Any]] = ()) -> dict:
    return {
        "text": {"type": "plain_text_input", "value": text},
        "accounts": {"type": "multi_static_select", "selected_options": [{"value": account}]},
        "when": {"type": "datetimepicker", "selected_date_time": None},
        "now": {"type": "checkboxes", "selected_options": [{"value": "now"}]},
        "files": {"type": "checkboxes", "selected_options": [{"value": f} for f in files]},
        "upload": {"type": "file_input", "files": list(uploads)},
        "media": {"type": "plain_text_input", "value": None},
    }


@PUBLIC
async def test_a_message_becomes_a_post_with_its_image_end_to_end(h: Harness) -> None:
    photo = jpeg(700_000)  # more than one chunk, on the way in and on the way out
    shared = h.fake.share_file("launch.jpg", "image/jpeg", photo)
    brief = h.fake.share_file("brief.pdf", "application/pdf", b"%PDF-1.7 the brief")
    h.fake.users["U0WRITER"] = {"profile": {"display_name": "writer"}}
    message = {"type": "message", "user": "U0WRITER", "ts": "1764900000.000100", "files": [shared, brief],
               "text": "*Launch* day :rocket: with <@U0WRITER>, see <https://ex.com/launch|our page> &amp; more"}
    account = await linkedin_option(h)

    await h.shortcut(message)
    view = (await h.fake.wait_for("views.open"))[-1]["view"]
    text = block(view, "text")["element"]["initial_value"]
    assert text == "Launch day 🚀 with @writer, see our page (https://ex.com/launch) & more"
    offered = block(view, "files")["element"]
    assert [o["value"] for o in offered["initial_options"]] == [shared["id"]]
    assert "launch.jpg (image, 0.7 MB)" in offered["options"][0]["text"]["text"]
    assert "brief.pdf" in json.dumps(view["blocks"]) and block(view, "upload")["element"]["type"] == "file_input"

    metadata = json.loads(view["private_metadata"])
    answer = await h.submit("sd_composer", submission(text, account, files=[shared["id"]]), metadata=metadata)
    assert answer.status == 200
    draft = await h.card_of((await h.latest_draft()).id)
    assert draft.text == text and len(draft.media_urls) == 1
    assert draft.media_urls[0].startswith("https://cdn.socialdock.test/med_")
    assert draft.face_refs["source_channel"] == GENERAL and draft.face_refs["source_ts"] == message["ts"]
    assert draft.face_refs["source_permalink"].startswith("https://fake.slack.com/archives/C0GENERAL/p")
    assert h.fake.of("file_download") == [{"file": shared["id"], "authorized": True}]

    fetched = sandbox_state(h).media[draft.media_urls[0].rsplit("/", 1)[-1].split(".")[0]]
    assert fetched.source_url.startswith(h.face.settings.public_url + "/media/mf_")
    assert (fetched.size, fetched.mime_type) == (len(photo), "image/jpeg")  # SocialDock fetched every byte

    card = (await h.fake.wait_for("chat.postMessage", where=lambda p: p.get("channel") == "C0APPROVE"))[0]
    images = [b for b in card["blocks"] if b["type"] == "image"]
    assert len(images) == 1 and images[0]["image_url"].startswith(h.face.settings.public_url + "/media/")
    assert (images[0]["image_url"], 200, len(photo)) in h.fake.image_fetches  # Slack could show it
    assert f"<{draft.face_refs['source_permalink']}|a message> in <#C0GENERAL>" in json.dumps(card["blocks"])

    await h.click("sd_approve", draft.id, draft.version, user=APPROVER)
    done = await h.wait_state(draft.id, "published")
    post = sandbox_state(h).posts[done.post_id]
    assert post.media_urls == draft.media_urls and post.media[0].size == len(photo)


@PUBLIC
async def test_a_tampered_or_expired_media_link_is_refused(h: Harness) -> None:
    assert h.rt.media is not None
    from sdassist.publishing.media import chunks_of

    stored = await h.rt.media.put(chunks_of(png()), name="a.png", owner=REQUESTER, max_bytes=10**6)
    good = await h.rt.media.signed_url(stored, base_url=h.url, ttl=60)
    async with h.http.get(good) as answer:
        assert answer.status == 200 and answer.headers["Content-Type"] == "image/png"
        assert await answer.read() == png()
    parts = urlsplit(good)
    query = dict(p.split("=", 1) for p in parts.query.split("&"))
    for bad, why in [(good.replace(f"exp={query['exp']}", f"exp={int(query['exp']) + 86400}"), "does not match"),
                     (good.replace(stored.id, "mf_" + "b" * 24), "does not match"),
                     (good.split("?")[0], "not signed"),
                     (await h.rt.media.signed_url(stored, base_url=h.url, ttl=-5), "expired")]:
        async with h.http.get(bad) as answer:
            assert answer.status == 403 and why in await answer.text()


@PUBLIC
async def test_a_mention_in_a_thread_posts_the_thread_s_first_message_and_its_files(h: Harness) -> None:
    shared = h.fake.share_file("team.jpg", "image/jpeg", jpeg(10_000))
    root = {"type": "message", "user": "U0WRITER", "ts": "1764900000.000200", "text": "We ship *today* :tada:",
            "files": [shared], "thread_ts": "1764900000.000200"}
    h.fake.threads[(GENERAL, root["ts"])] = [root]
    await h.event({"type": "app_mention", "user": REQUESTER, "channel": GENERAL, "ts": "1764900100.000300",
                   "thread_ts": root["ts"], "text": "<@U0BOT> schedule this tomorrow 9am on linkedin"})
    reply = (await h.fake.wait_for("chat.postMessage", where=lambda p: p.get("thread_ts") == root["ts"]))[0]
    assert reply["channel"] == GENERAL and "Sent for approval" in reply["text"]
    draft = await h.latest_draft()
    assert draft.text == "We ship today 🎉" and draft.time_phrase == "tomorrow 9am"
    assert draft.requester_id == REQUESTER and draft.face_refs["source_ts"] == root["ts"]
    assert len(draft.media_urls) == 1 and h.fake.of("conversations.replies")[0]["ts"] == root["ts"]


@PUBLIC
async def test_this_outside_a_thread_and_broken_grammar_are_answered_in_the_thread(h: Harness) -> None:
    await h.event({"type": "app_mention", "user": REQUESTER, "channel": GENERAL, "ts": "1764900200.000100",
                   "text": "<@U0BOT> schedule this tomorrow 9am on linkedin"})
    reply = (await h.fake.wait_for("chat.postMessage", where=lambda p: p.get("thread_ts") == "1764900200.000100"))
    assert "'this' is the message a thread starts with" in reply[0]["text"]
    assert "@SocialDock schedule" in reply[0]["text"]
    assert await h.rt.store.list() == []


@PUBLIC
async def test_files_that_break_a_platform_rule_are_refused_before_any_draft(h: Harness) -> None:
    chart = h.fake.share_file("chart.png", "image/png", png())
    root = {"type": "message", "user": "U0WRITER", "ts": "1764900300.000100", "text": "Numbers", "files": [chart]}
    h.fake.threads[(GENERAL, root["ts"])] = [root]
    await h.event({"type": "app_mention", "user": REQUESTER, "channel": GENERAL, "ts": "1764900300.000200",
                   "thread_ts": root["ts"], "text": "<@U0BOT> post this now on instagram"})
    reply = (await h.fake.wait_for("chat.postMessage", where=lambda p: p.get("thread_ts") == root["ts"]))[0]
    assert "instagram: chart.png is image/png, images must be JPEG" in reply["text"]
    assert await h.rt.store.list() == [] and not sandbox_state(h).media  # nothing went to SocialDock


async def test_a_direct_message_reads_like_the_slash_command_and_is_answered_once(h: Harness) -> None:
    event = {"type": "message", "channel_type": "im", "channel": "D0ASKER", "user": REQUESTER,
             "ts": "1764900400.000100", "text": 'post "Hello from a DM" now on linkedin'}
    await h.event(event)
    await h.event(event)  # Slack retries a delivery it thinks was lost
    await h.event({**event, "ts": "1764900400.000200", "bot_id": "B0BOT", "text": "Sent for approval"})
    await h.event({**event, "ts": "1764900400.000300", "subtype": "message_changed"})
    reply = await h.fake.wait_for("chat.postMessage", where=lambda p: p.get("channel") == "D0ASKER")
    assert "Sent for approval" in reply[0]["text"] and "thread_ts" not in reply[0]
    draft = await h.latest_draft()
    assert draft.text == "Hello from a DM" and draft.requester_face == "slack"
    await h.fake.wait_for("chat.postMessage", where=lambda p: p.get("channel") == "C0APPROVE")
    assert len(h.fake.of("chat.postMessage", lambda p: p.get("channel") == "D0ASKER")) == 1
    assert len(await h.rt.store.list()) == 1


async def test_without_a_public_url_a_file_is_refused_with_what_to_set(h: Harness) -> None:
    shared = h.fake.share_file("launch.jpg", "image/jpeg", jpeg(5000))
    account = await linkedin_option(h)
    await h.shortcut({"type": "message", "user": "U0WRITER", "ts": "1764900500.000100", "text": "Hi",
                      "files": [shared]})
    view = (await h.fake.wait_for("views.open"))[-1]["view"]
    await h.submit("sd_composer", submission("Hi", account, files=[shared["id"]]),
                   metadata=json.loads(view["private_metadata"]))
    said = await h.fake.wait_for("response_url", where=lambda p: "SDASSIST_PUBLIC_URL" in p.get("text", ""))
    assert "SDASSIST_PUBLIC_URL is not set" in said[0]["text"]
    assert await h.rt.store.list() == []


@PUBLIC
async def test_the_composer_shows_file_rule_problems_on_the_form(h: Harness) -> None:
    await h.face.accounts.refresh()
    instagram = next(o["value"] for o in h.face.accounts.options() if o["value"].startswith("instagram|"))
    upload = {"id": "F0UPLOAD", "name": "huge.jpg", "mimetype": "image/jpeg", "size": 9_000_000}
    answer = await h.submit("sd_composer", submission("Big", instagram, uploads=[upload]),
                            metadata={"channel": GENERAL})
    body = await answer.json()
    assert body["response_action"] == "errors"
    assert "huge.jpg is 9.0 MB, the limit for an image is 8.0 MB" in body["errors"]["upload"]


def test_the_bot_token_goes_only_to_slack_s_file_host(tmp_path: Any) -> None:
    from sdassist.config import Settings

    files = SlackFiles(client=None, settings=Settings(_env_file=None), store=None)  # type: ignore[arg-type]
    assert files.allowed_host("https://files.slack.com/files-pri/T0-F0/a.jpg")
    assert not files.allowed_host("http://files.slack.com/files-pri/T0-F0/a.jpg")
    assert not files.allowed_host("https://files.slack.com.evil.example/a.jpg")
    assert not files.allowed_host("https://127.0.0.1/a.jpg")


@PUBLIC
async def test_a_card_whose_images_slack_cannot_fetch_goes_out_without_them(h: Harness) -> None:
    async def unreachable(draft: Any) -> list[dict[str, Any]]:
        return [{"url": u, "name": "a.jpg", "size_text": "0.1 MB",
                 "image_url": f"{h.url}/media/mf_{'c' * 24}/a.jpg?exp=1&sig=forged"} for u in draft.media_urls]

    h.face.cards.media = unreachable
    await h.command('post "With a picture" now on linkedin media https://example.com/a.jpg')
    card = (await h.fake.wait_for("chat.postMessage", where=lambda p: p.get("channel") == "C0APPROVE"
                                  and not any(b["type"] == "image" for b in p["blocks"])))[0]
    assert "With a picture" in json.dumps(card["blocks"])
    assert [status for _, status, _ in h.fake.image_fetches] == [403]  # Slack tried, and was refused


@PUBLIC
async def test_a_file_added_in_the_composer_goes_out_with_the_post(h: Harness) -> None:
    account = await linkedin_option(h)
    clip = h.fake.share_file("teaser.mp4", "video/mp4", mp4(300_000))  # uploaded through the file_input
    answer = await h.submit("sd_composer", submission("Teaser", account, uploads=[clip]),
                            metadata={"channel": GENERAL, "response_url": h.fake.response_url("composer")})
    assert answer.status == 200
    said = await h.fake.wait_for("response_url", where=lambda p: p["key"] == "composer")
    assert "Sent for approval" in said[0]["text"]
    draft = await h.card_of((await h.latest_draft()).id)
    fetched = sandbox_state(h).media[draft.media_urls[0].rsplit("/", 1)[-1].split(".")[0]]
    assert (fetched.mime_type, fetched.size) == ("video/mp4", 300_000)
    card = (await h.fake.wait_for("chat.postMessage", where=lambda p: p.get("channel") == "C0APPROVE"))[0]
    assert ":film_frames: teaser.mp4 (0.3 MB)" in json.dumps(card["blocks"])  # a video is named, not shown
