"""Seeding: validation that names what is wrong, atomic writes, idempotent reseeds."""

import re
import shutil
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlmodel import Session, col, select

from app.database import build_engine
from app.errors import SeedError
from app.models import CatalogueState, Evidence, Exercise, Goal, Progression
from app.seeding import writing as seeding
from app.seeding.reading import Catalogue, read_catalogue
from app.seeding.writing import seed_catalogue
from app.writer import LINK_MODELS
from tests.conftest import DOCUMENTS, FIXTURE_CATALOGUE, migrate
from tests.helpers import copied_term_ids, edit, linked_term_ids, slugs, snapshot

LATER = datetime(2031, 1, 1, tzinfo=UTC)


def read_problems(catalogue_dir: Path) -> list[str]:
    with pytest.raises(SeedError) as raised:
        read_catalogue(catalogue_dir, DOCUMENTS)
    return raised.value.problems


class TestReseed:
    def test_reseeding_unchanged_content_changes_nothing(self, session, catalogue):
        before = snapshot(session)
        report = seed_catalogue(session, catalogue, now=LATER)
        assert report.changed is False
        assert snapshot(session) == before

    def test_editing_one_exercise_updates_just_that_one(self, session, catalogue_dir):
        before = {e.slug: e.updated_at for e in session.exec(select(Exercise))}
        edit(catalogue_dir / "exercises" / "moist-heat.yaml", lambda d: d.update(summary="Warmth."))
        report = seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert (report.inserted, report.updated, report.deleted) == ([], ["moist-heat"], [])
        after = {e.slug: e.updated_at for e in session.exec(select(Exercise))}
        assert after == {**before, "moist-heat": LATER}
        assert session.get(CatalogueState, 1).updated_at == LATER

    def test_the_version_follows_the_content(self, session, catalogue, catalogue_dir):
        edit(catalogue_dir / "goals.yaml", lambda d: d[0].update(description="Changed."))
        changed = read_catalogue(catalogue_dir, DOCUMENTS)
        assert changed.version() != catalogue.version()
        seed_catalogue(session, changed, now=LATER)
        assert session.get(CatalogueState, 1).version == changed.version()
        seed_catalogue(session, catalogue, now=LATER + timedelta(hours=1))
        assert session.get(CatalogueState, 1).version == catalogue.version()

    def test_a_new_progression_bumps_the_harder_exercise(self, session, catalogue_dir):
        edit(
            catalogue_dir / "exercises" / "sitting-heel-dig.yaml",
            lambda d: d.update(progressions=["standing-hip-extension"]),
        )
        report = seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert report.updated == ["sitting-heel-dig", "standing-hip-extension"]

    def test_removed_and_added_exercises(self, session, catalogue_dir):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        renamed = catalogue_dir / "exercises" / "moist-heat-pack.yaml"
        edit(path, lambda d: d.update(slug="moist-heat-pack"))
        path.rename(renamed)
        report = seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert (report.inserted, report.deleted) == (["moist-heat-pack"], ["moist-heat"])


class TestDeletionsRefused:
    """Told not to delete (as a server's seed at start-up is), a seed deletes only the
    exercises the files retire."""

    def test_an_exercise_whose_file_is_gone_is_named_and_kept(self, session, catalogue_dir):
        before = snapshot(session)
        (catalogue_dir / "exercises" / "moist-heat.yaml").unlink()
        with pytest.raises(seeding.DeletionRefused) as raised:
            seed_catalogue(
                session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER, allow_deletes=False
            )
        assert raised.value.problems == [
            "exercises/moist-heat.yaml: missing, and retired.yaml does not retire exercise "
            "'moist-heat': seeding would delete it"
        ]
        assert snapshot(session) == before

    def test_a_retired_exercise_is_deleted(self, session, catalogue_dir):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        edit(path, lambda d: d.update(slug="moist-heat-pack"))
        path.rename(catalogue_dir / "exercises" / "moist-heat-pack.yaml")
        edit(
            catalogue_dir / "retired.yaml",
            lambda d: d.append(
                {
                    "kind": "exercise",
                    "slug": "moist-heat",
                    "successor": "moist-heat-pack",
                    "note": "Renamed.",
                }
            ),
        )
        report = seed_catalogue(
            session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER, allow_deletes=False
        )
        assert (report.inserted, report.deleted) == (["moist-heat-pack"], ["moist-heat"])


def content(session: Session) -> dict[str, list[tuple]]:
    """The exercises and their links with exercise ids replaced by slugs (and no
    evidence ids or update times): what two databases holding one catalogue share."""
    slugs: dict[int | None, str] = {row.id: row.slug for row in session.exec(select(Exercise))}
    tables: dict[str, list[tuple]] = {
        "exercise": sorted(
            (row.slug, row.name, row.content_hash) for row in session.exec(select(Exercise))
        ),
        "progression": sorted(
            (slugs[row.easier_id], slugs[row.harder_id])
            for row in session.exec(select(Progression))
        ),
    }
    for model in LINK_MODELS:
        columns = [c for c in model.__table__.columns if c.name not in ("id", "exercise_id")]
        rows = session.execute(sa.select(model.__table__.c.exercise_id, *columns)).all()
        tables[model.__tablename__] = sorted(
            (slugs[exercise_id], *(str(value) for value in values)) for exercise_id, *values in rows
        )
    return tables


class TestReseedMatchesAFreshSeed:
    def test_edits_removals_and_new_links_leave_what_a_fresh_seed_would(
        self, session, catalogue_dir, databases, database_kind, monkeypatch
    ):
        # Small chunks, so that the changes fall in different ones.
        monkeypatch.setattr(seeding, "CHUNK_SIZE", 3)
        edit(
            catalogue_dir / "exercises" / "moist-heat.yaml",
            lambda d: d.update(goals=["recovery"], cues=["New cue."]),
        )
        (catalogue_dir / "exercises" / "towel-hamstring-stretch.yaml").unlink()
        edit(
            catalogue_dir / "exercises" / "sitting-heel-dig.yaml",
            lambda d: d.update(progressions=["standing-hip-extension"]),
        )
        edited = read_catalogue(catalogue_dir, DOCUMENTS)
        report = seed_catalogue(session, edited, now=LATER)
        assert report.deleted == ["towel-hamstring-stretch"]
        assert report.updated == ["moist-heat", "sitting-heel-dig", "standing-hip-extension"]

        engine = build_engine(databases.create(database_kind))
        try:
            migrate(engine)
            with Session(engine) as fresh:
                seed_catalogue(fresh, edited, now=LATER)
                assert content(session) == content(fresh)
                assert copied_term_ids(fresh) == linked_term_ids(fresh)
            # The reseed rewrote the copies of the exercises whose links it rewrote.
            assert copied_term_ids(session) == linked_term_ids(session)
            assert copied_term_ids(session)["moist-heat"][1] == [
                session.exec(select(Goal.id).where(Goal.slug == "recovery")).one()
            ]
        finally:
            engine.dispose()


class TestSeedProgress:
    def test_progress_counts_the_exercises_up_to_all_of_them(
        self, session, catalogue_dir, monkeypatch
    ):
        monkeypatch.setattr(seeding, "CHUNK_SIZE", 3)
        edit(catalogue_dir / "exercises" / "moist-heat.yaml", lambda d: d.update(summary="Warm."))
        calls = []
        seed_catalogue(
            session,
            read_catalogue(catalogue_dir, DOCUMENTS),
            now=LATER,
            progress=lambda done, total: calls.append((done, total)),
        )
        assert calls == [(3, 8), (6, 8), (8, 8)]

    def test_an_unchanged_catalogue_is_done_at_once(self, session, catalogue):
        calls = []
        seed_catalogue(session, catalogue, progress=lambda *call: calls.append(call))
        assert calls == [(8, 8)]


class TestAtomicSeed:
    def test_a_failure_mid_write_leaves_the_database_as_it_was(self, session, catalogue: Catalogue):
        before = snapshot(session)
        # Skip read-time checks to fail inside the write: the last exercise names a goal
        # that does not exist, after the others have been written.
        broken_last = catalogue.exercises[-1].model_copy(
            update={"goals": ["no-such-goal"], "summary": "x"}
        )
        first_changed = catalogue.exercises[0].model_copy(update={"summary": "Changed first."})
        broken = replace(
            catalogue, exercises=[first_changed, *catalogue.exercises[1:-1], broken_last]
        )
        with pytest.raises(KeyError):
            seed_catalogue(session, broken, now=LATER)
        assert snapshot(session) == before


def bad_quote(directory: Path) -> None:
    edit(directory / "exercises" / "moist-heat.yaml", lambda d: d["evidence"][0].update(quote="x"))


def unknown_slug(directory: Path) -> None:
    edit(directory / "exercises" / "moist-heat.yaml", lambda d: d.update(goals=["levitation"]))


def duplicate_slug(directory: Path) -> None:
    shutil.copy(
        directory / "exercises" / "moist-heat.yaml",
        directory / "exercises" / "moist-heat-2.yaml",
    )


def invalid_dosage_type(directory: Path) -> None:
    edit(
        directory / "exercises" / "moist-heat.yaml",
        lambda d: d["dosage"].update(duration_seconds="twenty minutes"),
    )


class TestBadCatalogueLeavesContentIntact:
    @pytest.mark.parametrize(
        "breakage", [bad_quote, unknown_slug, duplicate_slug, invalid_dosage_type]
    )
    def test_the_seed_aborts_and_every_row_is_unchanged(self, session, catalogue_dir, breakage):
        before = snapshot(session)
        # A valid edit alongside the bad one: a partial write would show it.
        edit(
            catalogue_dir / "exercises" / "lying-hamstring-stretch.yaml",
            lambda d: d.update(summary="Changed."),
        )
        breakage(catalogue_dir)
        with pytest.raises(SeedError):
            seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert snapshot(session) == before


class TestCatalogueValidation:
    def test_the_test_catalogue_is_valid(self):
        assert len(read_catalogue(FIXTURE_CATALOGUE, DOCUMENTS).exercises) == 8

    def test_a_quote_not_at_its_offsets(self, catalogue_dir):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        edit(
            path,
            lambda d: d["evidence"][0].update(
                start=d["evidence"][0]["start"] + 1, end=d["evidence"][0]["end"] + 1
            ),
        )
        [problem] = read_problems(catalogue_dir)
        assert problem.startswith(
            f"{path}: exercise 'moist-heat': evidence[0].quote: not found verbatim at "
        )
        assert "(it is at " in problem

    def test_a_quote_that_is_not_in_the_document(self, catalogue_dir):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"

        def change(d):
            d["evidence"][0]["quote"] = "Z" * (d["evidence"][0]["end"] - d["evidence"][0]["start"])

        edit(path, change)
        [problem] = read_problems(catalogue_dir)
        assert "evidence[0].quote: not found verbatim" in problem
        assert "(it is at" not in problem

    def test_unknown_slugs_and_broken_links(self, catalogue_dir):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        edit(path, lambda d: d.update(goals=["levitation"], progressions=["flying-kick"]))
        assert read_problems(catalogue_dir) == [
            f"{path}: exercise 'moist-heat': goals[0]: unknown slug 'levitation'",
            f"{path}: exercise 'moist-heat': progressions[0]: unknown slug 'flying-kick'",
        ]

    def test_duplicate_slug(self, catalogue_dir):
        shutil.copy(
            catalogue_dir / "exercises" / "moist-heat.yaml",
            catalogue_dir / "exercises" / "moist-heat-2.yaml",
        )
        problems = read_problems(catalogue_dir)
        assert (
            f"{catalogue_dir / 'exercises' / 'moist-heat-2.yaml'}: slug 'moist-heat' must match the file name"
            in problems
        )
        assert len(problems) == 1

    def test_duplicate_goal(self, catalogue_dir):
        edit(catalogue_dir / "goals.yaml", lambda d: d.append(dict(d[0])))
        assert read_problems(catalogue_dir) == [
            f"{catalogue_dir / 'goals.yaml'}: duplicate slug 'activation'"
        ]

    def test_invalid_dosage_type(self, catalogue_dir):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        edit(path, lambda d: d["dosage"].update(duration_seconds="twenty minutes"))
        [problem] = read_problems(catalogue_dir)
        assert problem.startswith(f"{path}: exercise 'moist-heat': dosage.duration_seconds")

    def test_dosage_needs_dosage_evidence(self, catalogue_dir):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        edit(path, lambda d: d["evidence"][0].update(field="instructions"))
        assert read_problems(catalogue_dir) == [
            f"{path}: exercise 'moist-heat': dosage: numbers given but no evidence with field 'dosage'"
        ]

    def test_progression_cycle(self, catalogue_dir):
        edit(
            catalogue_dir / "exercises" / "nordic-hamstring-exercise.yaml",
            lambda d: d.update(progressions=["lying-hamstring-stretch"]),
        )
        assert read_problems(catalogue_dir) == [
            "progressions: cycle lying-hamstring-stretch -> prone-hamstring-curl -> "
            "nordic-hamstring-exercise -> lying-hamstring-stretch"
        ]

    def test_changed_document(self, catalogue_dir, tmp_path):
        documents = Path(
            shutil.copytree(
                DOCUMENTS, tmp_path / "documents", ignore=shutil.ignore_patterns("catalogue")
            )
        )
        with (documents / "003_c11dac91296d97ed.txt").open("a", encoding="utf-8") as file:
            file.write("edited")
        with pytest.raises(SeedError) as raised:
            read_catalogue(catalogue_dir, documents)
        [problem] = raised.value.problems
        assert (
            "source 'core3-do-hamstrings-need-stretching': sha256: the document's SHA-256 is"
            in problem
        )

    def test_invalid_yaml(self, catalogue_dir):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        path.write_text("slug: [unclosed", encoding="utf-8")
        [problem] = read_problems(catalogue_dir)
        assert problem.startswith(f"{path}: not valid YAML")


class TestPlannerStatistics:
    def test_seeding_a_fresh_database_gathers_statistics(self, catalogue, databases, database_kind):
        engine = build_engine(databases.create(database_kind))
        try:
            migrate(engine)
            with Session(engine) as session:
                assert exercises_in_statistics(session, database_kind) == 0
                seed_catalogue(session, catalogue)
                # What the planner knows now is what was seeded.
                assert exercises_in_statistics(session, database_kind) == len(catalogue.exercises)
        finally:
            engine.dispose()


def exercises_in_statistics(session: Session, database_kind: str) -> int:
    """How many rows the planner's statistics say `exercise` holds (0 if none)."""
    if database_kind == "sqlite":
        stat = session.execute(
            sa.text(
                "SELECT stat FROM sqlite_stat1 "
                "WHERE tbl = 'exercise' AND idx = 'sqlite_autoindex_exercise_1'"
            )
        ).scalar_one_or_none()
        return int(stat.split()[0]) if stat else 0
    reltuples = session.execute(
        sa.text("SELECT reltuples FROM pg_class WHERE oid = 'exercise'::regclass")
    ).scalar_one()
    return max(int(reltuples), 0)  # -1 means never analysed


# "avoid bouncing" lies in the aggregate's garbled region; the other quote does not.
GARBLED_BOUNCING = {
    "source": "aggregate-hamstring-stretches",
    "field": "mistakes",
    "stance": "supports",
    "quote": "avoid bouncing",
    "start": 12903,
    "end": 12917,
}
CLEAR_FORCING = {
    "source": "tight-hamstrings-aggregate",
    "field": "mistakes",
    "stance": "supports",
    "quote": "stretching too forcefully or too quickly will activate a \u201cstretch reflex",
    "start": 8834,
    "end": 8906,
}


def with_mistakes(catalogue_dir: Path, *evidence: dict) -> None:
    """The towel stretch lists a mistake, backed by `evidence`."""
    edit(
        catalogue_dir / "exercises" / "towel-hamstring-stretch.yaml",
        lambda d: d.update(mistakes=["Bouncing."], evidence=[*d["evidence"], *evidence]),
    )


class TestSafetyModelValidation:
    """The second edition's rules, each refused by name."""

    def test_a_claim_resting_on_garbled_text_alone_is_refused(self, catalogue_dir):
        with_mistakes(catalogue_dir, GARBLED_BOUNCING)
        assert read_problems(catalogue_dir) == [
            f"{catalogue_dir / 'exercises' / 'towel-hamstring-stretch.yaml'}: exercise "
            "'towel-hamstring-stretch': mistakes: rests on garbled text alone (every quote "
            "for it lies in a garbled region); add a clear quote or drop the claim"
        ]

    def test_a_stated_phase_needs_its_phase_evidence(self, catalogue_dir):
        edit(
            catalogue_dir / "exercises" / "towel-hamstring-stretch.yaml",
            lambda d: d["phases"][0].update(basis="stated"),
        )
        assert read_problems(catalogue_dir) == [
            f"{catalogue_dir / 'exercises' / 'towel-hamstring-stretch.yaml'}: exercise "
            "'towel-hamstring-stretch': phases[0].basis: 'acute' is stated, but no evidence with "
            "field 'phase' and subject 'acute' says so"
        ]

    def test_sourced_steps_need_instructions_evidence(self, catalogue_dir):
        edit(
            catalogue_dir / "exercises" / "moist-heat.yaml",
            lambda d: d.update(instructions_basis="sourced"),
        )
        assert read_problems(catalogue_dir) == [
            f"{catalogue_dir / 'exercises' / 'moist-heat.yaml'}: exercise 'moist-heat': "
            "instructions_basis: 'sourced', but no evidence with field 'instructions' (mark "
            "the steps 'editorial' if no source describes them)"
        ]

    def test_an_inferred_phase_needs_a_note(self, catalogue_dir):
        edit(
            catalogue_dir / "exercises" / "towel-hamstring-stretch.yaml",
            lambda d: d["phases"][0].update(note=None),
        )
        [problem] = read_problems(catalogue_dir)
        assert "towel-hamstring-stretch" in problem
        assert "phases[0]: Value error, an inferred phase needs a note" in problem

    def test_a_retired_slug_still_in_use_or_with_an_unknown_successor(self, catalogue_dir):
        retired = catalogue_dir / "retired.yaml"
        entries = yaml.safe_load(retired.read_text())
        entries += [
            {"kind": "exercise", "slug": "moist-heat", "note": "Still in use."},
            {"kind": "goal", "slug": "old-goal", "successor": "levitation", "note": "No."},
        ]
        retired.write_text(yaml.safe_dump(entries))
        assert read_problems(catalogue_dir) == [
            "retired.yaml: exercise 'moist-heat': is retired but still in use",
            "retired.yaml: goal 'old-goal': successor 'levitation' is not a goal",
        ]

    def test_text_quality_is_written_from_the_garbled_regions(self, session, catalogue_dir):
        # The same claim with a clear quote too: accepted, and each quote says which it is.
        with_mistakes(catalogue_dir, GARBLED_BOUNCING, CLEAR_FORCING)
        seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        rows = session.execute(
            sa.select(col(Evidence.start), col(Evidence.text_quality))
            .join(Exercise)
            .where(
                col(Exercise.slug) == "towel-hamstring-stretch", col(Evidence.field) == "mistakes"
            )
            .order_by(col(Evidence.start))
        ).all()
        assert [tuple(row) for row in rows] == [(8834, "clear"), (12903, "garbled")]


class TestExerciseFilesRefusedByName:
    """A file seeding would skip is refused: skipping it would delete its exercise."""

    @pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"])
    def test_an_empty_or_comment_only_exercise_file(self, catalogue_dir, text):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        path.write_text(text, encoding="utf-8")
        assert read_problems(catalogue_dir) == [
            f"{path}: empty (a truncated file would delete its exercise)"
        ]

    @pytest.mark.parametrize("name", ["moist-heat.yml", "moist-heat.YAML", "notes.txt"])
    def test_a_file_not_named_slug_yaml(self, catalogue_dir, name):
        exercises = catalogue_dir / "exercises"
        (exercises / "moist-heat.yaml").rename(exercises / name)
        assert read_problems(catalogue_dir) == [
            f"{exercises / name}: not read: exercise files are named <slug>.yaml"
        ]


@pytest.fixture
def documents_dir(tmp_path: Path) -> Path:
    """An editable copy of the source documents."""
    return Path(
        shutil.copytree(DOCUMENTS, tmp_path / "documents", ignore=shutil.ignore_patterns("*/"))
    )


class TestBadSeedInputsRefusedByName:
    """Every file seeding cannot read is named, with what is wrong: never a traceback."""

    def test_an_exercise_file_that_is_not_utf8(self, catalogue_dir):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        path.write_bytes(b"slug: moist-heat\nname: Moist \xff heat\n")
        assert read_problems(catalogue_dir) == [
            f"{path}: not UTF-8: 'utf-8' codec can't decode byte 0xff in position 29: "
            "invalid start byte"
        ]

    def test_a_source_document_that_is_not_utf8(self, catalogue_dir, documents_dir):
        document = documents_dir / "003_c11dac91296d97ed.txt"
        document.write_bytes(document.read_bytes()[:10] + b"\xc3(")
        with pytest.raises(SeedError) as raised:
            read_catalogue(catalogue_dir, documents_dir)
        assert raised.value.problems == [
            f"{catalogue_dir / 'sources.yaml'}: source 'core3-do-hamstrings-need-stretching': "
            f"file {document}: not UTF-8: 'utf-8' codec can't decode byte 0xc3 in position "
            "10: invalid continuation byte"
        ]

    def test_a_source_file_that_is_a_directory(self, catalogue_dir, documents_dir):
        (documents_dir / "003_c11dac91296d97ed.txt").unlink()
        (documents_dir / "003_c11dac91296d97ed.txt").mkdir()
        with pytest.raises(SeedError) as raised:
            read_catalogue(catalogue_dir, documents_dir)
        assert raised.value.problems == [
            f"{catalogue_dir / 'sources.yaml'}: source 'core3-do-hamstrings-need-stretching': "
            f"file {documents_dir / '003_c11dac91296d97ed.txt'}: not a file"
        ]

    def test_an_exercise_file_that_is_a_directory(self, catalogue_dir):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        path.unlink()
        path.mkdir()
        assert read_problems(catalogue_dir) == [f"{path}: not a file"]

    @pytest.mark.parametrize(
        "text",
        [
            "slug: " + "[" * 50_000 + "]" * 50_000,
            "slug: " + "{a: " * 50_000 + "}" * 50_000,
            "- " * 50_000 + "x",
        ],
        ids=["flow-sequences", "flow-mappings", "block-sequences"],
    )
    def test_deep_nesting_is_refused_at_once(self, catalogue_dir, text):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        path.write_text(text, encoding="utf-8")
        started = time.monotonic()
        [problem] = read_problems(catalogue_dir)
        # Refused as soon as the format's depth is passed: the rest is never parsed.
        assert time.monotonic() - started < 2
        assert problem.startswith(f"{path}: not valid YAML: nested more than 20 levels deep\n")

    @pytest.mark.parametrize("escape", ["\\0", "\\ud800"], ids=["nul", "lone-surrogate"])
    def test_text_no_database_stores(self, catalogue_dir, escape):
        # Written with YAML's escapes: PostgreSQL text holds no NUL, UTF-8 no surrogate.
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("- Breathe.", f'- "Breathe{escape}."'), encoding="utf-8")
        assert read_problems(catalogue_dir) == [
            f"{path}: cues[0]: holds a NUL character or a lone surrogate"
        ]

    def test_an_oversize_exercise_file_is_not_parsed(self, catalogue_dir):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        path.write_text(path.read_text() + "# padding\n" * 110_000, encoding="utf-8")
        assert read_problems(catalogue_dir) == [
            f"{path}: {path.stat().st_size} bytes; at most 1048576 are read"
        ]

    def test_an_oversize_document(self, catalogue_dir, documents_dir):
        document = documents_dir / "003_c11dac91296d97ed.txt"
        document.write_text(document.read_text() + "x" * (1 << 20), encoding="utf-8")
        with pytest.raises(SeedError) as raised:
            read_catalogue(catalogue_dir, documents_dir)
        assert raised.value.problems == [
            f"{catalogue_dir / 'sources.yaml'}: source 'core3-do-hamstrings-need-stretching': "
            f"file {document}: {document.stat().st_size} bytes; at most 1048577 are read"
        ]


def words(count: int, seed: int = 0) -> str:
    """`count` distinct words, as a full-text index would take them."""
    letters = "bcdfghjklmnpqrstvwxz"
    out = []
    for number in range(seed, seed + count):
        word = ""
        while True:
            number, digit = divmod(number, len(letters))
            word += letters[digit]
            if not number:
                break
        out.append("q" + word)
    return " ".join(out)


class TestSizeLimits:
    """The seed format bounds every string, list and entry, well under what either
    database can store and index, so a catalogue that seeds on one seeds on both."""

    @pytest.mark.parametrize(
        ("change", "problem"),
        [
            (
                lambda d: d.update(name="n" * 201),
                "name: String should have at most 200 characters",
            ),
            (
                lambda d: d.update(summary="s" * 10_001),
                "summary: String should have at most 10000 characters",
            ),
            (
                lambda d: d.update(instructions=[f"Step {n}." for n in range(21)]),
                "instructions: List should have at most 20 items after validation, not 21",
            ),
            (
                lambda d: d.update(aliases=[f"alias {n}" for n in range(51)]),
                "aliases: List should have at most 50 items after validation, not 51",
            ),
        ],
        ids=["name", "summary", "steps", "aliases"],
    )
    def test_an_oversize_field_is_refused_by_name(self, catalogue_dir, change, problem):
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        edit(path, change)
        assert read_problems(catalogue_dir) == [f"{path}: exercise 'moist-heat': {problem}"]

    def test_an_oversize_exercise_is_refused_whole(self, catalogue_dir):
        # Every field within its own limits (27 cues of 10,000 characters), but not the
        # entry as a whole.
        path = catalogue_dir / "exercises" / "moist-heat.yaml"
        edit(path, lambda d: d.update(cues=["c" * 10_000] * 27))
        [problem] = read_problems(catalogue_dir)
        size = re.fullmatch(
            rf"{re.escape(str(path))}: exercise 'moist-heat': Value error, the exercise is "
            r"(\d+) bytes as JSON; at most 262144 are accepted",
            problem,
        )
        assert size is not None, problem
        assert 27 * 10_000 < int(size[1]) < 27 * 10_000 + 2_000

    def test_an_oversize_term_is_refused_by_name(self, catalogue_dir):
        edit(catalogue_dir / "goals.yaml", lambda d: d[0].update(name="g" * 201))
        assert read_problems(catalogue_dir) == [
            f"{catalogue_dir / 'goals.yaml'}: entry 0: name: String should have at most 200 "
            "characters"
        ]

    def test_the_largest_exercise_the_format_allows_is_stored_and_searchable(
        self, session, client, catalogue_dir
    ):
        # A name of 200 four-byte characters (for the btree indexes on names), and as
        # many distinct words as fit in the summary and every one of the 20 steps (for
        # PostgreSQL's search vector).
        steps = [words(1_400, seed=step * 1_400)[:9_990] for step in range(20)]

        def largest(data):
            data.update(name="\U0001d11e" * 200, summary=words(1_400, seed=28_000)[:9_990])
            data.update(instructions=steps)

        edit(catalogue_dir / "exercises" / "moist-heat.yaml", largest)
        report = seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert report.updated == ["moist-heat"]
        for word in (steps[0].split()[0], steps[19].split()[-2]):
            body = client.get("/v1/exercises", params={"q": word}).json()
            assert slugs(body) == ["moist-heat"], word
        detail = client.get("/v1/exercises/moist-heat").json()
        assert (detail["name"], detail["instructions"]) == ("\U0001d11e" * 200, steps)
