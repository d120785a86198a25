"""GET /v1/changes: the change log as a feed, for clients that keep a copy."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.dependencies import CatalogueReaderDep, ResourcesDep
from app.pagination import FeedPaging, FeedQuery
from app.queries.changes import list_changes
from app.routes.common import READ_RESPONSES
from app.schemas import ChangeFeed

router = APIRouter(prefix="/v1/changes", tags=["sync"], responses=READ_RESPONSES)


@router.get(
    "",
    operation_id="listChanges",
    summary="The change feed",
)
async def list_changes_route(
    request: Request,
    response: Response,
    page: Annotated[FeedQuery, Query()],
    reader: CatalogueReaderDep,
    resources: ResourcesDep,
) -> ChangeFeed:
    """Every change to the catalogue, by seeding or by an approved proposal, oldest
    first: created, updated and deleted resources (deletions stay as tombstones). A
    client keeping a copy (see `GET /v1/export`) polls with the last page's
    `resume_cursor` and, for each change, fetches the resource again or drops it.
    `next_cursor` is null once caught up. A cursor works only on the catalogue database
    that issued it (422 elsewhere)."""
    paging = FeedPaging(
        request, response, resources.settings.cursor_secret, page.limit, page.cursor
    )
    feed = await reader.read(list_changes, limit=page.limit, after=paging.position)
    next_cursor, resume_cursor = paging.cursors(feed.catalogue_id, feed.next_key, feed.resume_key)
    return ChangeFeed.from_page(
        feed, limit=page.limit, next_cursor=next_cursor, resume_cursor=resume_cursor
    )
