"""Reading proposals: a filtered page of them, oldest first, and one by id."""

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.models import Proposal
from app.queries.keyset import KeysetPage, PagePosition, first_page, keyset_page
from app.vocabulary import ProposalStatus, ResourceKind


def list_proposals(
    session: Session,
    *,
    status: ProposalStatus | None = None,
    kind: ResourceKind | None = None,
    limit: int,
    after: PagePosition = first_page,
) -> KeysetPage[Proposal]:
    """The proposals with `status` and of `kind` (each if given), oldest first: a
    review queue is worked from its oldest end."""
    # A new source's document (up to 1 MiB) is not read for a list.
    statement = select(Proposal).options(defer(Proposal.document_text))  # type: ignore[arg-type]
    if status is not None:
        statement = statement.where(col(Proposal.status) == status)
    if kind is not None:
        statement = statement.where(col(Proposal.kind) == kind)
    return keyset_page(session, statement, Proposal.id, key_type=int, limit=limit, after=after)


def get_proposal(session: Session, *, proposal_id: int) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(f"No proposal {proposal_id}.")
    return proposal
