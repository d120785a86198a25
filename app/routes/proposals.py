"""/v1/proposals: propose a change to the catalogue, and review it."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi import status as http_status
from pydantic import ConfigDict, Field

from app import metrics
from app.auth import KeyHolderDep, ReviewerDep
from app.curation import (
    approve_proposal,
    proposal_etag,
    reject_proposal,
    submit_proposal,
    withdraw_proposal,
)
from app.database import read_in_thread
from app.dependencies import CatalogueWritesDep, ResourcesDep, SessionDep
from app.pagination import ListPage, Page, Paging
from app.queries.proposals import get_proposal, list_proposals
from app.routes.common import WRITE_RESPONSES
from app.schemas import DecisionIn, ProposalDetail, ProposalIn, ProposalOut, RejectionIn
from app.vocabulary import ProposalStatus, ResourceKind

router = APIRouter(prefix="/v1/proposals", tags=["proposals"], responses=WRITE_RESPONSES)

PRIVATE = "private, no-cache"
ProposalId = Annotated[
    int, Path(ge=1, le=2**31 - 1, description="The proposal's id.", examples=[7])
]
IfMatch = Annotated[
    str | None,
    Header(
        description="The proposal's `ETag` as you read it: the decision is refused (412) "
        "if the proposal changed since.",
        examples=['"7-open-"'],
    ),
]


class ProposalListParameters(ListPage):
    """The proposals asked for: by state and kind of resource, and the page."""

    model_config = ConfigDict(extra="forbid")

    status: ProposalStatus | None = Field(
        default=None, description="Only proposals in this state.", examples=["open"]
    )
    kind: ResourceKind | None = Field(
        default=None, description="Only proposals for this kind of resource.", examples=["exercise"]
    )


# What a committed write did to a proposal, by the status it left it in.
_EVENTS = {
    ProposalStatus.open: "submitted",
    ProposalStatus.approved: "approved",
    ProposalStatus.rejected: "rejected",
    ProposalStatus.withdrawn: "withdrawn",
}


def _answer(response: Response, proposal: Any) -> ProposalOut:
    """A write's answer (its transaction committed), counted in the metrics."""
    metrics.PROPOSALS.labels(_EVENTS[ProposalStatus(proposal.status)]).inc()
    response.headers["ETag"] = proposal_etag(proposal)
    response.headers["Cache-Control"] = PRIVATE
    return ProposalOut.from_row(proposal)


@router.post(
    "",
    operation_id="createProposal",
    summary="Propose a change",
    status_code=http_status.HTTP_201_CREATED,
    responses={201: {"headers": {"Location": {"description": "The proposal's URL."}}}},
)
async def create_proposal_route(
    body: ProposalIn,
    request: Request,
    response: Response,
    holder: KeyHolderDep,
    writes: CatalogueWritesDep,
    resources: ResourcesDep,
) -> ProposalOut:
    """Propose creating, updating or deleting an exercise, goal, condition or source
    (or updating a phase). The data is checked as seeding checks the catalogue files:
    every problem is a 422 naming its field by JSON Pointer; a stale `base_version`, a
    taken slug or a resource still in use is a 409. Nothing reaches the public catalogue
    until a reviewer other than the author approves it. Any valid key may propose."""
    proposal = await writes.run(
        submit_proposal,
        holder=holder,
        kind=body.kind,
        action=body.action,
        slug=body.slug,
        base_version=body.base_version,
        data=body.data,
        reason=body.reason,
        now=datetime.now(UTC),
        writes_per_hour=resources.settings.curation_writes_per_hour,
    )
    response.headers["Location"] = str(
        request.url_for("get_proposal_route", proposal_id=proposal.id)
    )
    return _answer(response, proposal)


@router.get("", operation_id="listProposals", summary="List proposals")
async def list_proposals_route(
    request: Request,
    response: Response,
    holder: KeyHolderDep,
    session: SessionDep,
    resources: ResourcesDep,
    query: Annotated[ProposalListParameters, Query()],
) -> Page[ProposalOut]:
    """Proposals, oldest first (a review queue is worked from its oldest end), with
    `status=open` the ones waiting for a reviewer. Needs a key."""
    paging = Paging.of(
        request,
        response,
        cursor_secret=resources.settings.cursor_secret,
        query={"list": "proposals", "status": query.status, "kind": query.kind},
        limit=query.limit,
        cursor=query.cursor,
    )
    found = await read_in_thread(
        session,
        list_proposals,
        status=query.status,
        kind=query.kind,
        limit=paging.limit,
        after=paging.position,
    )
    response.headers["Cache-Control"] = PRIVATE
    return paging.envelope([ProposalOut.from_row(row) for row in found.items], found)


@router.get("/{proposal_id}", operation_id="getProposal", summary="Get one proposal")
async def get_proposal_route(
    proposal_id: ProposalId, response: Response, holder: KeyHolderDep, session: SessionDep
) -> ProposalDetail:
    """One proposal, with its decision once decided, and a proposed source's document
    text (for its reviewer to read). Its `ETag` can go with a decision as `If-Match`.
    Needs a key."""
    proposal = await read_in_thread(session, get_proposal, proposal_id=proposal_id)
    response.headers["ETag"] = proposal_etag(proposal)
    response.headers["Cache-Control"] = PRIVATE
    return ProposalDetail.from_row(proposal)


@router.post("/{proposal_id}/approve", operation_id="approveProposal", summary="Approve")
async def approve_proposal_route(
    proposal_id: ProposalId,
    response: Response,
    holder: ReviewerDep,
    writes: CatalogueWritesDep,
    resources: ResourcesDep,
    if_match: IfMatch = None,
    body: DecisionIn | None = None,
) -> ProposalOut:
    """Apply an open proposal to the catalogue, checked again against the catalogue as
    it is now, with its revision and change-log entry, in one transaction. Needs a
    reviewer's key, not the author's (403). 409 if the resource is no longer at the
    proposal's `base_version` (the current one is named) or the proposal is decided.
    Every server serves the change within two seconds."""
    proposal = await writes.run(
        approve_proposal,
        proposal_id=proposal_id,
        holder=holder,
        reason=body.reason if body is not None else None,
        now=datetime.now(UTC),
        writes_per_hour=resources.settings.curation_writes_per_hour,
        if_match=if_match,
    )
    return _answer(response, proposal)


@router.post("/{proposal_id}/reject", operation_id="rejectProposal", summary="Reject")
async def reject_proposal_route(
    proposal_id: ProposalId,
    body: RejectionIn,
    response: Response,
    holder: ReviewerDep,
    writes: CatalogueWritesDep,
    resources: ResourcesDep,
    if_match: IfMatch = None,
) -> ProposalOut:
    """Reject an open proposal, saying why. Needs a reviewer's key, not the author's
    (an author withdraws instead). 409 if it is already decided."""
    proposal = await writes.run(
        reject_proposal,
        proposal_id=proposal_id,
        holder=holder,
        reason=body.reason,
        now=datetime.now(UTC),
        writes_per_hour=resources.settings.curation_writes_per_hour,
        if_match=if_match,
    )
    return _answer(response, proposal)


@router.delete("/{proposal_id}", operation_id="withdrawProposal", summary="Withdraw")
async def withdraw_proposal_route(
    proposal_id: ProposalId,
    response: Response,
    holder: KeyHolderDep,
    writes: CatalogueWritesDep,
    resources: ResourcesDep,
    if_match: IfMatch = None,
) -> ProposalOut:
    """Withdraw your own open proposal. 403 for anyone else's, 409 once it is decided."""
    proposal = await writes.run(
        withdraw_proposal,
        proposal_id=proposal_id,
        holder=holder,
        now=datetime.now(UTC),
        writes_per_hour=resources.settings.curation_writes_per_hour,
        if_match=if_match,
    )
    return _answer(response, proposal)
