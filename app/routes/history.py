"""GET /v1/{resources}/{slug}/history: each resource's changes, newest first."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.dependencies import CatalogueReaderDep, ResourcesDep
from app.pagination import ListPage, Page, Paging
from app.queries.history import get_history
from app.routes.common import READ_RESPONSES, slug_path
from app.schemas import HistoryEntry

router = APIRouter(responses=READ_RESPONSES)

# (kind, collection in the URL, tag, an example slug)
RESOURCES = (
    ("exercise", "exercises", "exercises", "sitting-heel-dig"),
    ("phase", "phases", "phases", "acute"),
    ("goal", "goals", "goals", "strength"),
    ("condition", "conditions", "conditions", "acute-hamstring-strain"),
    ("source", "sources", "sources", "hamstring-pain-exercises-article"),
)


def _history_route(kind: str, example: str) -> Callable[..., Awaitable[Page[HistoryEntry]]]:
    async def get_history_route(
        request: Request,
        response: Response,
        slug: Annotated[str, slug_path(example)],
        page: Annotated[ListPage, Query()],
        reader: CatalogueReaderDep,
        resources: ResourcesDep,
    ) -> Page[HistoryEntry]:
        paging = Paging.of(
            request,
            response,
            cursor_secret=resources.settings.cursor_secret,
            query={"history": kind, "slug": slug},
            limit=page.limit,
            cursor=page.cursor,
        )
        return await reader.read_list(
            get_history, paging, HistoryEntry.from_row, kind=kind, slug=slug
        )

    get_history_route.__doc__ = (
        f"The {kind}'s revisions, newest first: each version, what changed it (created, "
        "updated, deleted), when, by whom (a proposal's author, or `seed`), who approved "
        f"it, why, and the proposal. Answered for a deleted {kind} too."
    )
    return get_history_route


for kind, collection, tag, example in RESOURCES:
    router.add_api_route(
        f"/v1/{collection}/{{slug}}/history",
        _history_route(kind, example),
        methods=["GET"],
        operation_id=f"get{kind.capitalize()}History",
        summary=f"A {kind}'s history",
        tags=[tag],
    )
