"""A success answer that does not fit the documented shape is a SocialDockError with a clear message."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sdassist.client import SocialDock
from sdassist.client.errors import SocialDockError, UnexpectedResponse
from sdassist.client.models import PostUpdate


async def odd_posts(_request: Request) -> JSONResponse:
    return JSONResponse({"success": True, "data": {"posts": [{"text": "no id, no status"}]},
                         "meta": {"total": 1}})


async def odd_post(_request: Request) -> JSONResponse:
    return JSONResponse({"success": True, "data": {"id": "post_1", "status": "scheduled", "targets": "linkedin"}})


APP = Starlette(routes=[Route("/api/v1/posts", odd_posts), Route("/api/v1/posts/post_1", odd_post,
                                                                 methods=["GET", "PUT"])])


async def test_a_success_answer_of_another_shape_is_an_unexpected_response() -> None:
    async with SocialDock("sd_test_x", base_url="http://odd.test", transport=httpx.ASGITransport(app=APP)) as client:
        with pytest.raises(UnexpectedResponse) as caught:
            await client.posts.list()
        assert isinstance(caught.value, SocialDockError)
        assert "posts.list" in str(caught.value) and "not in the documented shape" in str(caught.value)
        assert "id" in str(caught.value) and "status" in str(caught.value)
        with pytest.raises(UnexpectedResponse, match=r"posts\.get"):
            await client.posts.get("post_1")
        with pytest.raises(UnexpectedResponse):
            async for _ in client.posts.iter_all():
                pass
        with pytest.raises(UnexpectedResponse, match=r"posts\.update"):
            await client.posts.update("post_1", PostUpdate(text="x"))
