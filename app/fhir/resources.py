"""The catalogue as FHIR resources: an exercise as an ActivityDefinition, a phase as a
protocol PlanDefinition, search results as a searchset Bundle, the server's
CapabilityStatement, and errors as OperationOutcomes.

Built with the R4B models of `fhir.resources` (its releases with R4 models need
pydantic 1): for the elements used here R4B and R4 (4.0.1) are the same, and the tests
validate everything served against the official R4 JSON schema, which refuses any
element R4 does not define. What each element holds, and why, is in docs/fhir.md."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.activitydefinition import ActivityDefinition
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntrySearch, BundleLink
from fhir.resources.R4B.capabilitystatement import (
    CapabilityStatement,
    CapabilityStatementImplementation,
    CapabilityStatementRest,
    CapabilityStatementRestResource,
    CapabilityStatementRestResourceInteraction,
    CapabilityStatementRestResourceSearchParam,
    CapabilityStatementSoftware,
)
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.dosage import Dosage, DosageDoseAndRate
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.operationoutcome import OperationOutcome, OperationOutcomeIssue
from fhir.resources.R4B.plandefinition import PlanDefinition, PlanDefinitionAction
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.range import Range
from fhir.resources.R4B.relatedartifact import RelatedArtifact
from fhir.resources.R4B.timing import Timing, TimingRepeat

from app.models import Exercise, Phase
from app.queries.phases import PhaseExerciseRow
from app.queries.revision import CatalogueRevision

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json"
PUBLISHER = "Exercise Catalogue API"
# Fixed identifiers of this catalogue's own code systems and extensions: they name
# concepts, not places, so they do not change with the host a server answers on.
NAMESPACE = "https://exercise-catalogue.example/fhir"
CATEGORY_SYSTEM = f"{NAMESPACE}/CodeSystem/exercise-category"
CONDITION_SYSTEM = f"{NAMESPACE}/CodeSystem/condition"
GOAL_SYSTEM = f"{NAMESPACE}/CodeSystem/goal"
CONTRAINDICATION_EXTENSION = f"{NAMESPACE}/StructureDefinition/contraindication"
PHASE_CAUTION_EXTENSION = f"{NAMESPACE}/StructureDefinition/phase-caution"
PHASE_BASIS_EXTENSION = f"{NAMESPACE}/StructureDefinition/phase-basis"
# SNOMED CT 229065009 |Exercise therapy (regime/therapy)|: what every exercise here is.
SNOMED_CT = "http://snomed.info/sct"
EXERCISE_THERAPY = Coding(system=SNOMED_CT, code="229065009", display="Exercise therapy")
PLAN_TYPES = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
# Search parameters: the standard definitions, as FHIR names them.
SEARCH_PARAMETERS = {
    "name": ("string", "Computationally friendly name (the slug without hyphens, any case)"),
    "title": ("string", "The exercise's name"),
    "topic": ("token", f"The exercise's category, in {CATEGORY_SYSTEM}"),
}


def fhir_version(row: Exercise | Phase, revision: CatalogueRevision) -> str:
    """The business version of an exercise's or a phase's resource: an exercise's own
    `version` (one more on every change). A phase's protocol also holds its exercises'
    places, which change without the phase's own version: it is the catalogue's."""
    if isinstance(row, Exercise):
        return str(row.version)
    return revision.version[:16]


def computable_name(slug: str) -> str:
    """A FHIR `name` (machine-friendly, `[A-Z][A-Za-z0-9_]*`) from a slug."""
    return "".join(part[:1].upper() + part[1:] for part in slug.split("-"))


def _text(text: str) -> CodeableConcept:
    return CodeableConcept(text=text)


def _date(value: datetime) -> str:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _quantity(value: int, unit: str, code: str | None = None) -> Quantity:
    if code is None:
        return Quantity(value=value, unit=unit)
    return Quantity(value=value, unit=unit, system="http://unitsofmeasure.org", code=code)


def _amount(dose: dict[str, int] | None, unit: str, code: str | None = None) -> dict[str, Any]:
    """A dose as FHIR holds it: one Quantity, or a Range when the sources give one."""
    if dose is None:
        return {}
    if dose["min"] == dose["max"]:
        return {"doseQuantity": _quantity(dose["min"], unit, code)}
    low, high = _quantity(dose["min"], unit, code), _quantity(dose["max"], unit, code)
    return {"doseRange": Range(low=low, high=high)}


def _seconds(dose: dict[str, int]) -> str:
    low, high = dose["min"], dose["max"]
    return f"{low} seconds" if low == high else f"{low} to {high} seconds"


def activity_dosage(dosage: dict[str, Any]) -> list[Dosage]:
    """The exercise's dosage as one Dosage: how often (per day, or else per week) and
    how long each time (the hold, or else the duration) in `timing.repeat`; reps and
    sets as doses; rest, and what has no place in a Timing, as additional instructions;
    the catalogue's note as the text. Nothing where the sources state nothing."""
    repeat: dict[str, Any] = {}
    extra: list[CodeableConcept] = []
    per_day, per_week = dosage.get("per_day"), dosage.get("per_week")
    for frequency, unit in ((per_day, "d"), (per_week if per_day is None else None, "wk")):
        if frequency is not None:
            repeat.update(frequency=frequency["min"], period=1, periodUnit=unit)
            if frequency["max"] != frequency["min"]:
                repeat["frequencyMax"] = frequency["max"]
    if per_day is not None and per_week is not None:
        low, high = per_week["min"], per_week["max"]
        extra.append(_text(f"On {low if low == high else f'{low} to {high}'} days a week"))
    hold, duration = dosage.get("hold_seconds"), dosage.get("duration_seconds")
    for length, label in ((hold, "Hold"), (duration if hold is None else None, "Duration")):
        if length is not None:
            repeat.update(duration=length["min"], durationUnit="s")
            if length["max"] != length["min"]:
                repeat["durationMax"] = length["max"]
            if label == "Hold":
                extra.append(_text(f"Hold each repetition for {_seconds(length)}"))
    if hold is not None and duration is not None:
        extra.append(_text(f"In all, {_seconds(duration)}"))
    if dosage.get("rest_seconds") is not None:
        extra.append(_text(f"Rest {_seconds(dosage['rest_seconds'])} between sets"))
    doses = [
        DosageDoseAndRate(type=_text(kind), **_amount(dosage.get(field), unit, code))
        for field, kind, unit, code in (
            ("reps", "repetitions", "repetitions", "{repetitions}"),
            ("sets", "sets", "sets", "{sets}"),
        )
        if dosage.get(field) is not None
    ]
    fields: dict[str, Any] = {}
    if dosage.get("note"):
        fields["text"] = dosage["note"]
    if repeat:
        fields["timing"] = Timing(repeat=TimingRepeat(**repeat))
    if doses:
        fields["doseAndRate"] = doses
    if extra:
        fields["additionalInstruction"] = extra
    return [Dosage(**fields)] if fields else []


def activity_definition(
    exercise: Exercise, *, base: str, revision: CatalogueRevision
) -> ActivityDefinition:
    """An exercise as an ActivityDefinition (see docs/fhir.md for each element)."""
    goals = sorted((link.goal for link in exercise.goal_links), key=lambda goal: goal.slug)
    contraindications = sorted(exercise.contraindications, key=lambda c: c.condition.slug)
    evidence = sorted(exercise.evidence, key=lambda item: item.id or 0)
    return ActivityDefinition(
        id=exercise.slug,
        meta={"lastUpdated": _date(exercise.updated_at)},
        url=f"{base}/ActivityDefinition/{exercise.slug}",
        version=fhir_version(exercise, revision),
        name=computable_name(exercise.slug),
        title=exercise.name,
        status="active",
        date=_date(exercise.updated_at),
        publisher=PUBLISHER,
        description=exercise.summary,
        purpose="Goals: " + ", ".join(goal.name for goal in goals) if goals else None,
        usage=_usage(exercise),
        topic=[
            CodeableConcept(
                coding=[Coding(system=CATEGORY_SYSTEM, code=exercise.category.value)],
                text=exercise.category.value,
            )
        ],
        kind="ServiceRequest",
        intent="proposal",
        code=CodeableConcept(coding=[EXERCISE_THERAPY], text="Exercise therapy"),
        bodySite=[
            _text(region)
            for region in sorted(link.body_region for link in exercise.body_region_links)
        ]
        or None,
        dosage=activity_dosage(exercise.dosage) or None,
        relatedArtifact=[
            RelatedArtifact(
                type="citation",
                label=f"{item.field.value}{f' ({item.subject})' if item.subject else ''}: "
                f"{item.stance.value}",
                display=item.source.title,
                citation=item.quote,
                url=f"{base.rsplit('/fhir/', 1)[0]}/v1/sources/{item.source.slug}",
            )
            for item in evidence
        ]
        or None,
        extension=[
            Extension(
                url=CONTRAINDICATION_EXTENSION,
                extension=[
                    Extension(
                        url="condition",
                        valueCodeableConcept=CodeableConcept(
                            coding=[Coding(system=CONDITION_SYSTEM, code=item.condition.slug)],
                            text=item.condition.name,
                        ),
                    ),
                    Extension(url="severity", valueCode=item.severity.value),
                    Extension(url="note", valueString=item.note),
                ],
            )
            for item in contraindications
        ]
        or None,
    )


_SEVERITY_WORDS = {
    "avoid": "Avoid with",
    "caution": "Caution with",
    "stop": "Stop at once if this appears or worsens",
}


def _usage(exercise: Exercise) -> str | None:
    """The contraindications and stop rules as text a clinician reads in any FHIR
    viewer (the contraindication extensions carry the same for systems), one a line:
    `Avoid with: Acute hamstring strain. <note>`."""
    rules = [
        f"{_SEVERITY_WORDS[item.severity.value]}: {item.condition.name}. {item.note}"
        for item in sorted(exercise.contraindications, key=lambda c: c.condition.slug)
    ]
    return "\n".join(rules) or None


def plan_definition(
    phase: Phase,
    actions: Sequence[PhaseExerciseRow],
    *,
    base: str,
    revision: CatalogueRevision,
) -> PlanDefinition:
    """A phase as a protocol PlanDefinition: one action per exercise, in progression
    order, each pointing to the exercise's ActivityDefinition by its canonical URL."""
    return PlanDefinition(
        id=phase.slug,
        meta={"lastUpdated": _date(revision.updated_at)},
        url=f"{base}/PlanDefinition/{phase.slug}",
        version=fhir_version(phase, revision),
        name=computable_name(phase.slug),
        title=phase.name,
        type=CodeableConcept(
            coding=[Coding(system=PLAN_TYPES, code="protocol", display="Protocol")],
            text="Protocol",
        ),
        status="active",
        date=_date(revision.updated_at),
        publisher=PUBLISHER,
        description=phase.description,
        usage=f"Criteria to progress: {phase.criteria_to_progress}",
        action=[
            PlanDefinitionAction(
                id=f"{index}",
                title=row.name,
                description=row.note,
                definitionCanonical=f"{base}/ActivityDefinition/{row.slug}",
                extension=[
                    Extension(url=PHASE_CAUTION_EXTENSION, valueBoolean=row.caution),
                    Extension(url=PHASE_BASIS_EXTENSION, valueCode=row.basis.value),
                ],
            )
            for index, row in enumerate(actions, start=1)
        ]
        or None,
    )


def searchset(
    resources: Sequence[ActivityDefinition],
    *,
    total: int,
    self_url: str,
    next_url: str | None,
) -> Bundle:
    links = [BundleLink(relation="self", url=self_url)]
    if next_url is not None:
        links.append(BundleLink(relation="next", url=next_url))
    return Bundle(
        type="searchset",
        total=total,
        link=links,
        entry=[
            BundleEntry(
                fullUrl=resource.url, resource=resource, search=BundleEntrySearch(mode="match")
            )
            for resource in resources
        ]
        or None,
    )


def capability_statement(*, base: str, revision: CatalogueRevision) -> CapabilityStatement:
    def resource(kind: str, *, search: bool, profile: str) -> CapabilityStatementRestResource:
        interactions = ["read", "search-type"] if search else ["read"]
        parameters = [
            CapabilityStatementRestResourceSearchParam(
                name=name,
                definition=f"http://hl7.org/fhir/SearchParameter/{kind}-{name}",
                type=kind_of,
                documentation=documentation,
            )
            for name, (kind_of, documentation) in SEARCH_PARAMETERS.items()
        ]
        parameters.append(
            CapabilityStatementRestResourceSearchParam(
                name="_count", type="number", documentation="Page size (at most 100)"
            )
        )
        return CapabilityStatementRestResource(
            type=kind,
            profile=profile,
            interaction=[
                CapabilityStatementRestResourceInteraction(code=code) for code in interactions
            ],
            versioning="versioned",
            readHistory=False,
            conditionalRead="full-support",
            searchParam=parameters if search else None,
        )

    return CapabilityStatement(
        status="active",
        date=_date(revision.updated_at),
        publisher=PUBLISHER,
        kind="instance",
        software=CapabilityStatementSoftware(name=PUBLISHER, version="1.0.0"),
        implementation=CapabilityStatementImplementation(
            description="The exercise catalogue: exercises as ActivityDefinitions, rehab "
            "phases as protocol PlanDefinitions",
            url=base,
        ),
        fhirVersion=FHIR_VERSION,
        format=["json", FHIR_JSON],
        rest=[
            CapabilityStatementRest(
                mode="server",
                documentation="Read-only. Errors are OperationOutcomes; every read answers "
                "with an ETag and honours If-None-Match and If-Modified-Since.",
                resource=[
                    resource(
                        "ActivityDefinition",
                        search=True,
                        profile="http://hl7.org/fhir/StructureDefinition/ActivityDefinition",
                    ),
                    resource(
                        "PlanDefinition",
                        search=False,
                        profile="http://hl7.org/fhir/StructureDefinition/PlanDefinition",
                    ),
                ],
            )
        ],
    )


def operation_outcome(
    code: str, diagnostics: str, *, expression: str | None = None, severity: str = "error"
) -> OperationOutcome:
    """An outcome as FHIR reports one (an error, or `information` for a redirect):
    `code` from the IssueType value set."""
    return OperationOutcome(
        issue=[
            OperationOutcomeIssue(
                severity=severity,
                code=code,
                diagnostics=diagnostics,
                expression=[expression] if expression else None,
            )
        ]
    )
