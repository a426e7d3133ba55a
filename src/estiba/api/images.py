"""The image routes: list, inspect, history, tag, remove, pull/import, push, search, save,
load, prune."""

from __future__ import annotations

from aiohttp import web

from estiba.api.params import query_bool, query_filters, query_int, query_str, registry_auth
from estiba.api.routes import Route, backends_of
from estiba.api.streams import json_response, progress_json, send_bytes_stream, send_json_stream
from estiba.api.types import ImageDeleteItem, ImageListOptions, ImportOptions, PullOptions
from estiba.errors import InvalidArgument

__all__ = ["ROUTES"]

ACCEPTED_LIST_FILTERS = frozenset({"before", "dangling", "label", "reference", "since"})
# `keep` (estiba's): keep the N newest images of each repository, prune older ones.
ACCEPTED_PRUNE_FILTERS = frozenset({"dangling", "label", "label!", "until", "keep"})
ACCEPTED_SEARCH_FILTERS = frozenset({"is-automated", "is-official", "stars"})

_BODY_CHUNK = 1 << 16


def _name(request: web.Request) -> str:
    return request.match_info["name"]


def _delete_item_json(item: ImageDeleteItem) -> dict[str, str]:
    if item.untagged:
        return {"Untagged": item.untagged}
    return {"Deleted": item.deleted}


async def list_images(request: web.Request) -> web.StreamResponse:
    options = ImageListOptions(
        all=query_bool(request, "all"),
        digests=query_bool(request, "digests"),
        filters=query_filters(request, ACCEPTED_LIST_FILTERS),
    )
    return json_response(await backends_of(request).images.list_images(options))


async def inspect(request: web.Request) -> web.StreamResponse:
    return json_response(await backends_of(request).images.inspect_image(_name(request)))


async def history(request: web.Request) -> web.StreamResponse:
    return json_response(await backends_of(request).images.image_history(_name(request)))


async def tag(request: web.Request) -> web.StreamResponse:
    repo = query_str(request, "repo")
    if not repo:
        raise InvalidArgument("tag needs the repository in the `repo` parameter")
    await backends_of(request).images.tag_image(
        _name(request), repo=repo, tag=query_str(request, "tag")
    )
    return web.Response(status=201)


async def remove(request: web.Request) -> web.StreamResponse:
    items = await backends_of(request).images.remove_image(
        _name(request), force=query_bool(request, "force"), prune=not query_bool(request, "noprune")
    )
    return json_response([_delete_item_json(item) for item in items])


async def create(request: web.Request) -> web.StreamResponse:
    """Pull (`fromImage`) or import (`fromSrc`: `-` for the body, or a URL)."""
    images = backends_of(request).images
    from_image = query_str(request, "fromImage")
    from_src = query_str(request, "fromSrc")
    platform = query_str(request, "platform")
    if from_image and from_src:
        raise InvalidArgument("give fromImage (to pull) or fromSrc (to import), not both")
    if from_image:
        options = PullOptions(
            image=from_image,
            tag=query_str(request, "tag"),
            platform=platform,
            auth=registry_auth(request),
        )
        progress = await images.pull_image(options)
    elif from_src:
        source = request.content.iter_chunked(_BODY_CHUNK) if from_src == "-" else from_src
        import_options = ImportOptions(
            repo=query_str(request, "repo"),
            tag=query_str(request, "tag"),
            message=query_str(request, "message"),
            changes=tuple(request.query.getall("changes", ())),
            platform=platform,
        )
        progress = await images.import_image(source, import_options)
    else:
        raise InvalidArgument("images/create needs fromImage (to pull) or fromSrc (to import)")
    return await send_json_stream(request, progress, progress_json, errors_in_stream=True)


async def push(request: web.Request) -> web.StreamResponse:
    """Push `name` (its `tag`, or every local tag of the repository without one)."""
    progress = await backends_of(request).images.push_image(
        _name(request), tag=query_str(request, "tag"), auth=registry_auth(request)
    )
    return await send_json_stream(request, progress, progress_json, errors_in_stream=True)


async def search(request: web.Request) -> web.StreamResponse:
    term = query_str(request, "term")
    if not term:
        raise InvalidArgument("search needs a `term`")
    limit = query_int(request, "limit", 25) or 25
    if not 1 <= limit <= 100:
        raise InvalidArgument(f"invalid limit {limit}: must be between 1 and 100")
    filters = query_filters(request, ACCEPTED_SEARCH_FILTERS)
    results = await backends_of(request).images.search_images(
        term, limit=limit, auth=registry_auth(request)
    )
    return json_response([r for r in results if _search_match(r, filters)])


def _search_match(result: dict, filters: dict) -> bool:
    for key, field in (("is-official", "is_official"), ("is-automated", "is_automated")):
        for value in filters.get(key, ()):
            if bool(result.get(field)) != (value.lower() in ("1", "true")):
                return False
    for value in filters.get("stars", ()):
        try:
            if int(result.get("star_count") or 0) < int(value):
                return False
        except ValueError:
            raise InvalidArgument(f"invalid filter 'stars={value}'") from None
    return True


async def save_one(request: web.Request) -> web.StreamResponse:
    return await _save(request, [_name(request)])


async def save_many(request: web.Request) -> web.StreamResponse:
    names = [n for n in request.query.getall("names", ()) if n]
    if not names:
        raise InvalidArgument("images/get needs at least one `names` parameter")
    return await _save(request, names)


async def _save(request: web.Request, names: list[str]) -> web.StreamResponse:
    chunks = await backends_of(request).images.save_images(names)
    return await send_bytes_stream(request, chunks, content_type="application/x-tar")


async def load(request: web.Request) -> web.StreamResponse:
    progress = await backends_of(request).images.load_images(
        request.content.iter_chunked(_BODY_CHUNK), quiet=query_bool(request, "quiet")
    )
    return await send_json_stream(request, progress, progress_json, errors_in_stream=True)


async def prune(request: web.Request) -> web.StreamResponse:
    report = await backends_of(request).images.prune_images(
        query_filters(request, ACCEPTED_PRUNE_FILTERS)
    )
    return json_response(
        {
            "ImagesDeleted": [_delete_item_json(item) for item in report.deleted] or None,
            "SpaceReclaimed": report.space_reclaimed,
        }
    )


# Image names hold slashes (registry:5000/team/app:tag), so {name} takes any path; the
# fixed routes come first so that /images/json is not read as an image called "json".
ROUTES = (
    Route("GET", "/images/json", list_images),
    Route("POST", "/images/create", create, streaming=True),
    Route("GET", "/images/get", save_many, streaming=True),
    Route("POST", "/images/load", load, streaming=True),
    Route("POST", "/images/prune", prune, min_version="1.25"),
    Route("GET", "/images/search", search),
    Route("GET", "/images/{name:.+}/json", inspect),
    Route("GET", "/images/{name:.+}/history", history),
    Route("GET", "/images/{name:.+}/get", save_one, streaming=True),
    Route("POST", "/images/{name:.+}/tag", tag),
    Route("POST", "/images/{name:.+}/push", push, streaming=True),
    Route("DELETE", "/images/{name:.+}", remove),
)
