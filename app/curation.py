"""Curation: a key proposes a change to the catalogue, another key reviews it.

A proposal's data is checked when it is made and again, against the catalogue as it is
then, when it is approved: by the seed format and by the same checker seeding uses
(`app.seeding.checking`), against only what the entry names (never the whole
catalogue). Approval applies it through the catalogue writer, with its change-log
entries, in the caller's one transaction; catalogue writes (approvals and seeds) take
one lock, so two of them never interleave."""

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, select

from app.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidParameters,
    NotFound,
    PreconditionFailed,
    TooManyRequests,
)
from app.keys import KeyHolder
from app.models import (
    TERM_MODELS,
    Condition,
    Contraindication,
    Evidence,
    Exercise,
    ExerciseGoal,
    Goal,
    Phase,
    Progression,
    Proposal,
    RetiredSlug,
    Source,
)
from app.seeding.checking import (
    CLAIMED_FIELD,
    CitedSource,
    Known,
    Problem,
    check_exercise,
    check_source,
    format_problems,
    unstorable_strings,
)
from app.seeding.format import (
    TERM_ENTRIES,
    ExerciseEntry,
    PhaseEntry,
    SluggedEntry,
    SourceEntry,
    exercise_hash,
    text_quality,
)
from app.seeding.stored import stored_documents, stored_exercises, stored_regressions
from app.vocabulary import (
    EvidenceField,
    KeyRole,
    ProposalAction,
    ProposalStatus,
    ResourceKind,
    RetiredKind,
    TextQuality,
)
from app.writer import CatalogueWriter, lock_catalogue

WINDOW = timedelta(hours=1)
MODELS: dict[str, Any] = {"exercise": Exercise, **TERM_MODELS}


@dataclass(frozen=True)
class CheckedChange:
    """A proposal's change, checked against the catalogue: its entry (None for a
    delete) and, for a source, its document text."""

    kind: ResourceKind
    action: ProposalAction
    slug: str
    entry: SluggedEntry | None
    document_text: str | None = None
    # For a source update: whether the quotes from it must be read again.
    source_text_changed: bool = field(default=False)


def submit_proposal(
    session: Session,
    *,
    holder: KeyHolder,
    kind: ResourceKind,
    action: ProposalAction,
    slug: str,
    base_version: int | None,
    data: dict[str, Any] | None,
    reason: str,
    now: datetime,
    writes_per_hour: int,
) -> Proposal:
    """Record a proposal, once its data passes every check (422 naming each problem,
    409 if the catalogue's state refuses it)."""
    check_rate(session, holder=holder, now=now, writes_per_hour=writes_per_hour)
    unstorable = unstorable_strings({"data": data, "reason": reason})
    if unstorable:
        raise InvalidParameters(
            "Some text cannot be stored: it holds a NUL or a lone surrogate.",
            [
                FieldError(field=at, message="holds a NUL character or a lone surrogate")
                for at in unstorable
            ],
        )
    data = dict(data) if data is not None else None
    document_text = data.pop("document_text", None) if data is not None else None
    if document_text is not None and not isinstance(document_text, str):
        raise InvalidParameters(
            "The document's text must be a string.",
            [FieldError(field="/data/document_text", message="must be a string")],
        )
    check_change(
        session,
        kind=kind,
        action=action,
        slug=slug,
        base_version=base_version,
        data=data,
        document_text=document_text,
    )
    proposal = Proposal(
        kind=kind,
        action=action,
        slug=slug,
        base_version=base_version,
        data=data,
        document_text=document_text,
        document_sha256=(
            hashlib.sha256(document_text.encode()).hexdigest() if document_text else None
        ),
        reason=reason,
        status=ProposalStatus.open,
        author=holder.name,
        author_key_id=holder.id,
        created_at=now,
    )
    session.add(proposal)
    session.flush()
    return proposal


def approve_proposal(
    session: Session,
    *,
    proposal_id: int,
    holder: KeyHolder,
    reason: str | None,
    now: datetime,
    writes_per_hour: int,
    if_match: str | None = None,
) -> Proposal:
    """Apply an open proposal (checked again against the catalogue as it is now) with
    its change-log entries, and mark it approved: all in the caller's transaction."""
    if holder.role != KeyRole.reviewer:
        raise Forbidden("Only a reviewer's key may approve proposals.")
    check_rate(session, holder=holder, now=now, writes_per_hour=writes_per_hour)
    lock_catalogue(session)
    proposal = _open_proposal(session, proposal_id, if_match)
    if proposal.author_key_id == holder.id or proposal.author == holder.name:
        raise Forbidden("A proposal is approved by a reviewer other than its author.")
    change = check_change(
        session,
        kind=proposal.kind,
        action=proposal.action,
        slug=proposal.slug,
        base_version=proposal.base_version,
        data=proposal.data,
        document_text=proposal.document_text,
        when="now",
    )
    writer = CatalogueWriter(
        session,
        now=now,
        author=proposal.author,
        reviewer=holder.name,
        reason=proposal.reason,
        proposal_id=proposal.id,
    )
    apply_change(session, writer, change)
    writer.move_revision()
    _decide(proposal, ProposalStatus.approved, holder, reason, now)
    session.add(proposal)
    session.flush()
    return proposal


def reject_proposal(
    session: Session,
    *,
    proposal_id: int,
    holder: KeyHolder,
    reason: str,
    now: datetime,
    writes_per_hour: int,
    if_match: str | None = None,
) -> Proposal:
    if holder.role != KeyRole.reviewer:
        raise Forbidden("Only a reviewer's key may reject proposals.")
    check_rate(session, holder=holder, now=now, writes_per_hour=writes_per_hour)
    proposal = _open_proposal(session, proposal_id, if_match)
    if proposal.author_key_id == holder.id:
        raise Forbidden("A proposal's author withdraws it (DELETE) rather than rejecting it.")
    _decide(proposal, ProposalStatus.rejected, holder, reason, now)
    session.add(proposal)
    session.flush()
    return proposal


def withdraw_proposal(
    session: Session,
    *,
    proposal_id: int,
    holder: KeyHolder,
    now: datetime,
    writes_per_hour: int,
    if_match: str | None = None,
) -> Proposal:
    check_rate(session, holder=holder, now=now, writes_per_hour=writes_per_hour)
    proposal = _open_proposal(session, proposal_id, if_match)
    if proposal.author_key_id != holder.id:
        raise Forbidden("Only a proposal's author may withdraw it.")
    _decide(proposal, ProposalStatus.withdrawn, holder, None, now)
    session.add(proposal)
    session.flush()
    return proposal


def proposal_etag(proposal: Proposal) -> str:
    """A proposal's entity tag: it changes when the proposal is decided."""
    decided = proposal.decided_at.isoformat() if proposal.decided_at else ""
    return f'"{proposal.id}-{proposal.status}-{decided}"'


def check_rate(session: Session, *, holder: KeyHolder, now: datetime, writes_per_hour: int) -> None:
    """`TooManyRequests` if the key made `writes_per_hour` writes (proposals made or
    decided) in the last hour, with the seconds until the oldest leaves that hour."""
    since = now - WINDOW
    made: sa.Select[Any] = sa.select(col(Proposal.created_at).label("at")).where(
        col(Proposal.author_key_id) == holder.id, col(Proposal.created_at) > since
    )
    decided: sa.Select[Any] = sa.select(col(Proposal.decided_at).label("at")).where(
        col(Proposal.decided_key_id) == holder.id, col(Proposal.decided_at) > since
    )
    writes = sa.union_all(made, decided).subquery()
    count, oldest = session.execute(sa.select(sa.func.count(), sa.func.min(writes.c.at))).one()
    if count < writes_per_hour:
        return
    oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
    retry_after = max(1, math.ceil((oldest + WINDOW - now).total_seconds()))
    raise TooManyRequests(
        f"This key has made {count} writes in the last hour; at most {writes_per_hour} "
        "are allowed.",
        retry_after=retry_after,
    )


def _open_proposal(session: Session, proposal_id: int, if_match: str | None) -> Proposal:
    proposal = session.exec(
        select(Proposal).where(Proposal.id == proposal_id).with_for_update()
    ).first()
    if proposal is None:
        raise NotFound(f"No proposal {proposal_id}.")
    if if_match is not None and if_match.strip() != "*":
        tags = {tag.strip() for tag in if_match.split(",")}
        if proposal_etag(proposal) not in tags:
            raise PreconditionFailed(
                f"Proposal {proposal_id} is no longer as you saw it (If-Match); read it again."
            )
    if proposal.status != ProposalStatus.open:
        raise Conflict(f"Proposal {proposal_id} was already {proposal.status}.")
    return proposal


def _decide(
    proposal: Proposal,
    status: ProposalStatus,
    holder: KeyHolder,
    reason: str | None,
    now: datetime,
) -> None:
    proposal.status = status
    proposal.decided_by = holder.name
    proposal.decided_key_id = holder.id
    proposal.decided_at = now
    proposal.decision_reason = reason


# --- checking a change ------------------------------------------------------------


def check_change(
    session: Session,
    *,
    kind: ResourceKind,
    action: ProposalAction,
    slug: str,
    base_version: int | None,
    data: dict[str, Any] | None,
    document_text: str | None,
    when: str = "proposed",
) -> CheckedChange:
    """The change, checked: every problem with its data at once (`InvalidParameters`,
    each by JSON Pointer into the request body), then the catalogue's state
    (`Conflict`). `when` is "now" when an approval checks it again."""
    problems: list[Problem] = []
    if kind == ResourceKind.phase and action != ProposalAction.update:
        problems.append(Problem("/action", "phases are fixed: they can only be updated"))
    if action == ProposalAction.delete and data is not None:
        problems.append(Problem("/data", "a delete carries no data"))
    if action != ProposalAction.delete and data is None:
        problems.append(Problem("/data", f"the {kind} to {action}, in the seed format"))
    if action == ProposalAction.create and base_version is not None:
        problems.append(Problem("/base_version", "a new resource has no version to start from"))
    if action != ProposalAction.create and base_version is None:
        problems.append(Problem("/base_version", "the version this change was made against"))
    if kind != ResourceKind.source and document_text is not None:
        problems.append(Problem("/data/document_text", "only a source has a document"))
    entry: SluggedEntry | None = None
    if data is not None and not problems:
        entry, entry_problems = _parse_entry(kind, slug, data)
        problems += [Problem("/data" + p.pointer, p.message) for p in entry_problems]
    stored_version = _stored_version(session, kind, slug)
    text_changed = False
    if entry is not None:
        entry_problems, text_changed = _check_entry(
            session, kind, action, entry, document_text, exists=stored_version is not None
        )
        problems += [Problem("/data" + p.pointer, p.message) for p in entry_problems]
    if action == ProposalAction.create and _is_retired(session, kind, slug):
        problems.append(Problem("/slug", f"'{slug}' is a retired {kind} slug: choose another"))
    if problems:
        errors = [FieldError(field=p.pointer, message=p.message) for p in problems]
        if when == "now":
            # Fine when it was made: the catalogue has changed under it since.
            raise Conflict(
                f"The proposal no longer fits the catalogue: {len(problems)} problem(s) now.",
                errors,
            )
        raise InvalidParameters(f"The proposed {kind} has {len(problems)} problem(s).", errors)
    if action == ProposalAction.create and stored_version is not None:
        raise Conflict(f"The catalogue already has a {kind} '{slug}'.")
    if action != ProposalAction.create:
        if stored_version is None:
            raise Conflict(f"The catalogue has no {kind} '{slug}' (now) to {action}.")
        if stored_version != base_version:
            since = (
                "it changed after this proposal was made"
                if when == "now"
                else "read it again and propose against that version"
            )
            raise Conflict(
                f"The {kind} '{slug}' is at version {stored_version}, not {base_version}: {since}."
            )
    if action == ProposalAction.delete:
        _check_deletable(session, kind, slug)
    return CheckedChange(kind, action, slug, entry, document_text, text_changed)


def _parse_entry(
    kind: ResourceKind, slug: str, data: dict[str, Any]
) -> tuple[SluggedEntry | None, list[Problem]]:
    """The data as a seed entry of `kind`, its slug the proposal's."""
    model: type[SluggedEntry] = (
        ExerciseEntry if kind == ResourceKind.exercise else TERM_ENTRIES[kind]
    )
    given = data.get("slug", slug)
    if given != slug:
        return None, [Problem("/slug", f"'{given}' is not the proposal's slug '{slug}'")]
    try:
        return model.model_validate({**data, "slug": slug}), []
    except ValidationError as error:
        return None, format_problems(error)


def _check_entry(
    session: Session,
    kind: ResourceKind,
    action: ProposalAction,
    entry: SluggedEntry,
    document_text: str | None,
    *,
    exists: bool,
) -> tuple[list[Problem], bool]:
    """The shared checker's problems with the entry, against what it names; and, for a
    source, whether its text or garbled regions change (so its quotes must be read
    again)."""
    if isinstance(entry, ExerciseEntry):
        problems = check_exercise(entry, _known_for(session, entry))
        if action == ProposalAction.update:
            problems += _cycles_through(session, entry)
        return problems, False
    if isinstance(entry, SourceEntry):
        return _check_source_change(session, entry, document_text, exists=exists)
    if isinstance(entry, PhaseEntry):
        taken = session.execute(
            sa.select(col(Phase.slug)).where(
                col(Phase.order) == entry.order, col(Phase.slug) != entry.slug
            )
        ).scalar_one_or_none()
        if taken is not None:
            return [Problem("/order", f"phase '{taken}' has order {entry.order}")], False
    return [], False


def _known_for(session: Session, entry: ExerciseEntry) -> Known:
    """What the exercise names, among what the catalogue holds, with the documents of
    the sources it cites."""
    subjects: dict[str, set[str]] = {"phase": set(), "goal": set(), "condition": set()}
    for item in entry.evidence:
        if item.subject and item.field in ("phase", "goal", "contraindication"):
            subjects["condition" if item.field == "contraindication" else str(item.field)].add(
                item.subject
            )
    progression_subjects = {
        item.subject for item in entry.evidence if item.field == "progression" and item.subject
    }
    named_sources = sorted({item.source for item in entry.evidence})
    documents = stored_documents(session, named_sources)
    regions = dict(
        session.execute(
            sa.select(col(Source.slug), col(Source.garbled_regions)).where(
                col(Source.slug).in_(named_sources)
            )
        ).all()
    )
    named = {
        "phase": [p.phase for p in entry.phases] + sorted(subjects["phase"]),
        "goal": [*entry.goals, *subjects["goal"]],
        "condition": [c.condition for c in entry.contraindications] + sorted(subjects["condition"]),
        "exercise": [*entry.progressions, *progression_subjects],
    }
    existing = _existing(session, named)
    return Known(
        phases=existing["phase"],
        goals=existing["goal"],
        conditions=existing["condition"],
        exercises=existing["exercise"],
        sources={
            slug: CitedSource(documents.get(slug), region_list)
            for slug, region_list in regions.items()
        },
    )


def _existing(session: Session, named: dict[str, list[str]]) -> dict[str, set[str]]:
    """Which of the slugs named, by kind, the catalogue has: one statement for all."""
    found: dict[str, set[str]] = {kind: set() for kind in named}
    lookups = [
        sa.select(sa.literal(kind).label("kind"), col(MODELS[kind].slug)).where(
            col(MODELS[kind].slug).in_(sorted(set(slugs)))
        )
        for kind, slugs in named.items()
        if slugs
    ]
    if lookups:
        for kind, slug in session.execute(sa.union_all(*lookups)):
            found[kind].add(slug)
    return found


def _cycles_through(session: Session, entry: ExerciseEntry) -> list[Problem]:
    """A cycle the exercise's new progressions would close: one of them already leads,
    through the progressions of others, back to it."""
    ids = dict(
        session.execute(
            sa.select(col(Exercise.slug), col(Exercise.id)).where(
                col(Exercise.slug).in_([entry.slug, *entry.progressions])
            )
        ).all()
    )
    own = ids.get(entry.slug)
    starts = [ids[slug] for slug in entry.progressions if slug in ids and slug != entry.slug]
    if own is None or not starts:
        return []
    # Every exercise reachable from the new progressions, by the others' links (the
    # exercise's own links are the ones being replaced).
    reach = (
        sa.select(col(Progression.harder_id).label("id"))
        .where(col(Progression.easier_id).in_(starts))
        .cte("reach", recursive=True)
    )
    reach = reach.union(
        sa.select(col(Progression.harder_id)).join(
            reach, sa.and_(col(Progression.easier_id) == reach.c.id, reach.c.id != own)
        )
    )
    closes = session.execute(sa.select(reach.c.id).where(reach.c.id == own).limit(1)).first()
    if closes is None:
        return []
    return [
        Problem(
            "/progressions",
            f"would make a cycle: one of {sorted(entry.progressions)} already leads on to "
            f"'{entry.slug}'",
        )
    ]


def _check_source_change(
    session: Session, entry: SourceEntry, document_text: str | None, *, exists: bool
) -> tuple[list[Problem], bool]:
    """A new or changed source against its document (the one given, or else the one
    stored); when its text or garbled regions change, every quote taken from it is
    read again. Whether they change, too."""
    stored = (
        session.exec(select(Source).where(Source.slug == entry.slug)).first() if exists else None
    )
    if document_text is None and (stored is None or stored.sha256 != entry.sha256):
        return [Problem("/document_text", "the document's text, which the SHA-256 is of")], False
    document = document_text
    if document is None:
        document = stored_documents(session, [entry.slug]).get(entry.slug)
    if document is None:
        return [Problem("/document_text", "no text is stored for this source: send it")], False
    problems = check_source(entry, document)
    taken = session.execute(
        sa.select(col(Source.slug)).where(
            col(Source.file) == entry.file, col(Source.slug) != entry.slug
        )
    ).scalar_one_or_none()
    if taken is not None:
        problems.append(Problem("/file", f"source '{taken}' already has the file '{entry.file}'"))
    changed = stored is not None and (
        stored.sha256 != entry.sha256
        or [list(r) for r in stored.garbled_regions] != [list(r) for r in entry.garbled_regions]
    )
    if changed and stored is not None and document is not None and not problems:
        problems += _quotes_against(session, stored, entry, document)
    return problems, changed


def _quotes_against(
    session: Session, stored: Source, entry: SourceEntry, document: str
) -> list[Problem]:
    """The quotes taken from a source, read against its new text and regions: each must
    still be verbatim at its offsets, and no claim may come to rest on garbled text
    alone."""
    rows = session.execute(
        sa.select(
            col(Exercise.slug),
            col(Evidence.source_id),
            col(Evidence.field),
            col(Evidence.subject),
            col(Evidence.quote),
            col(Evidence.start),
            col(Evidence.end),
            col(Evidence.text_quality),
        )
        .join(Exercise)
        .where(
            col(Evidence.exercise_id).in_(
                sa.select(col(Evidence.exercise_id)).where(col(Evidence.source_id) == stored.id)
            )
        )
        .order_by(col(Exercise.slug), col(Evidence.id))
    ).all()
    problems = []
    claims: dict[tuple[str, str, str | None], bool] = {}
    for slug, source_id, field_, subject, quote, start, end, quality in rows:
        if source_id == stored.id:
            if document[start:end] != quote:
                problems.append(
                    Problem(
                        "/document_text",
                        f"exercise '{slug}' quotes {quote[:40]!r} at {start}..{end}, which "
                        "the new text does not have there",
                    )
                )
            quality = text_quality(start, end, entry.garbled_regions)
        claim = (slug, str(field_), subject)
        claims[claim] = claims.get(claim, False) or quality == TextQuality.clear
    for (slug, field_, subject), any_clear in claims.items():
        if not any_clear:
            about = f" '{subject}'" if subject else ""
            problems.append(
                Problem(
                    "/garbled_regions",
                    f"exercise '{slug}': its {CLAIMED_FIELD[EvidenceField(field_)]}{about} "
                    "would rest on garbled text alone",
                )
            )
    return problems


def _stored_version(session: Session, kind: str, slug: str) -> int | None:
    model = MODELS[kind]
    version: int | None = session.execute(
        sa.select(col(model.version)).where(col(model.slug) == slug)
    ).scalar_one_or_none()
    return version


def _is_retired(session: Session, kind: str, slug: str) -> bool:
    if kind not in set(RetiredKind):
        return False
    found = session.execute(
        sa.select(col(RetiredSlug.slug)).where(
            col(RetiredSlug.kind) == kind, col(RetiredSlug.slug) == slug
        )
    ).first()
    return found is not None


def _check_deletable(session: Session, kind: str, slug: str) -> None:
    """`Conflict` if something still needs the resource: exercises that use a term or
    lead on to an exercise, or a retired slug that leads to it."""
    users: list[str] = []
    if kind == ResourceKind.exercise:
        easier = Exercise.__table__.alias("easier")  # type: ignore[attr-defined]
        harder = Exercise.__table__.alias("harder")  # type: ignore[attr-defined]
        users = list(
            session.execute(
                sa.select(easier.c.slug)
                .join_from(Progression, easier, easier.c.id == Progression.easier_id)
                .join(harder, harder.c.id == Progression.harder_id)
                .where(harder.c.slug == slug)
                .order_by(easier.c.slug)
            ).scalars()
        )
        what = "lead on to it (their progressions)"
    else:
        link: Any = {
            "goal": (ExerciseGoal, ExerciseGoal.goal_id, Goal),
            "condition": (Contraindication, Contraindication.condition_id, Condition),
            "source": (Evidence, Evidence.source_id, Source),
        }.get(kind)
        what = "use it"
        if link is not None:
            table, term_id, model = link
            users = list(
                session.execute(
                    sa.select(col(Exercise.slug))
                    .distinct()
                    .join(table, col(table.exercise_id) == Exercise.id)
                    .join(model, col(model.id) == term_id)
                    .where(col(model.slug) == slug)
                    .order_by(col(Exercise.slug))
                ).scalars()
            )
    subject_field = {"goal": "goal", "condition": "contraindication", "exercise": "progression"}
    if kind in subject_field:
        # Evidence may name it as the subject of a claim, without a link to it.
        users += session.execute(
            sa.select(col(Exercise.slug))
            .distinct()
            .join(Evidence, col(Evidence.exercise_id) == Exercise.id)
            .where(col(Evidence.field) == subject_field[kind], col(Evidence.subject) == slug)
            .order_by(col(Exercise.slug))
        ).scalars()
        users = sorted(set(users))
    if users:
        shown = ", ".join(f"'{user}'" for user in users[:10])
        more = f" and {len(users) - 10} more" if len(users) > 10 else ""
        raise Conflict(
            f"The {kind} '{slug}' cannot be deleted: exercises {shown}{more} {what}. "
            "Change them first."
        )
    successors = session.execute(
        sa.select(col(RetiredSlug.slug)).where(
            col(RetiredSlug.kind) == kind, col(RetiredSlug.successor) == slug
        )
    ).scalars()
    retired = sorted(successors)
    if retired:
        raise Conflict(
            f"The {kind} '{slug}' cannot be deleted: the retired slug(s) "
            f"{', '.join(retired)} lead to it."
        )


# --- applying a change ------------------------------------------------------------


def apply_change(session: Session, writer: CatalogueWriter, change: CheckedChange) -> None:
    """Write a checked change through the catalogue writer."""
    if change.kind == ResourceKind.exercise:
        _apply_exercise(session, writer, change)
        return
    if change.action == ProposalAction.delete:
        writer.delete_term(change.kind, change.slug)
        return
    assert change.entry is not None
    writer.write_term(change.kind, change.entry)
    if change.document_text is not None:
        writer.sync_documents({change.slug: change.document_text})
    if change.source_text_changed:
        writer.refresh_text_quality([change.slug])


def _apply_exercise(session: Session, writer: CatalogueWriter, change: CheckedChange) -> None:
    slug = change.slug
    before = _progressions_of(session, slug)
    if change.action == ProposalAction.delete:
        writer.delete_exercises(writer.stored_exercises([slug]))
        _rehash(session, writer, before)
        return
    entry = change.entry
    assert isinstance(entry, ExerciseEntry)
    if change.action == ProposalAction.create:
        exercise_id = writer.create_exercises([(entry, exercise_hash(entry, []))])[slug]
    else:
        stored = writer.stored_exercises([slug])[slug]
        regressions = stored_regressions(session, [slug])[slug]
        content_hash = exercise_hash(entry, regressions)
        if content_hash == stored.content_hash:
            return  # the same content: nothing to change (as for a term)
        writer.update_exercises([(stored, entry, content_hash)])
        exercise_id = stored.id
    harder = writer.stored_exercises(entry.progressions)
    writer.set_progressions_of(exercise_id, {stored.id for stored in harder.values()})
    # Those it now leads on to, or no longer does, show it among their regressions.
    _rehash(session, writer, before ^ set(entry.progressions))


def _progressions_of(session: Session, slug: str) -> set[str]:
    harder = Exercise.__table__.alias("harder")  # type: ignore[attr-defined]
    return set(
        session.execute(
            sa.select(harder.c.slug)
            .join_from(Progression, harder, harder.c.id == Progression.harder_id)
            .join(Exercise, col(Exercise.id) == Progression.easier_id)
            .where(col(Exercise.slug) == slug)
        ).scalars()
    )


def _rehash(session: Session, writer: CatalogueWriter, slugs: set[str]) -> None:
    """Exercises whose regressions changed: a new content hash and version each."""
    if not slugs:
        return
    ordered = sorted(slugs)
    entries = stored_exercises(session, ordered)
    regressions = stored_regressions(session, ordered)
    stored = writer.stored_exercises(ordered)
    writer.rehash_exercises(
        [
            (slug, stored[slug], exercise_hash(entries[slug], regressions[slug]))
            for slug in ordered
            if slug in stored
        ],
        changed=True,
    )
