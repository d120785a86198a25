"""`catalogue`: the operators' command line (migrate, seed, serve, verify-sources, ...)."""

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config
from sqlmodel import Session

from app.errors import CatalogueError, SeedError
from app.settings import PROJECT_ROOT, get_settings
from app.vocabulary import KeyRole

cli = typer.Typer(help="Exercise Catalogue API operations.", no_args_is_help=True)
keys_cli = typer.Typer(help="Curation API keys: create, list, revoke.", no_args_is_help=True)
cli.add_typer(keys_cli, name="keys")


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url or get_settings().database_url)
    return config


@contextmanager
def _session() -> Iterator[Session]:
    """A session that may write the catalogue (on SQLite it takes the write lock when it
    begins, so it waits for an approval in progress rather than failing)."""
    from app.database import engine_for, write_engine

    engine = engine_for(get_settings())
    try:
        with Session(write_engine(engine)) as session:
            yield session
    finally:
        engine.dispose()


# How a command reports: a message, and whether it is an error (standard error).
Say = Callable[[str, bool], None]


def _echo(message: str, error: bool) -> None:
    typer.echo(message, err=error)


def _log(message: str, error: bool) -> None:
    """`catalogue serve` with LOG_FORMAT=json reports through the log: every line of its
    output is then one JSON object."""
    logging.getLogger("app.cli").log(logging.ERROR if error else logging.INFO, message)


def _seed(*, overwrite: bool = False, allow_deletes: bool = True, say: Say = _echo) -> None:
    from app.database import LockWait
    from app.seeding.reading import read_catalogue
    from app.seeding.writing import seed_catalogue

    settings = get_settings()
    catalogue = read_catalogue(settings.seed_dir / "catalogue", settings.seed_dir)
    wait = LockWait(
        settings.seed_lock_timeout_seconds,
        lambda: say(
            "waiting for another seed or approval to finish "
            f"(up to {settings.seed_lock_timeout_seconds:g} s)",
            True,
        ),
    )
    with _session() as session:
        report = seed_catalogue(
            session, catalogue, overwrite=overwrite, allow_deletes=allow_deletes, lock_wait=wait
        )
    for resource in report.kept:
        say(
            f"kept {resource} as changed through the API (seed with --overwrite to replace it)",
            False,
        )
    for slug in report.deleted:
        say(f"deleted exercise '{slug}' (its file is gone)", False)
    if report.changed:
        say(
            f"seeded catalogue {report.version[:12]}: {len(report.inserted)} inserted, "
            f"{len(report.updated)} updated, {len(report.deleted)} deleted",
            False,
        )
    else:
        say(f"catalogue {report.version[:12]} already up to date", False)


def _seed_or_exit(*, overwrite: bool = False, allow_deletes: bool = True, say: Say = _echo) -> None:
    """Seed; on a problem, print it (never a traceback) and exit 1."""
    from app.seeding.writing import DeletionRefused

    try:
        _seed(overwrite=overwrite, allow_deletes=allow_deletes, say=say)
    except DeletionRefused as error:
        say(error.detail, True)
        say(
            "(nothing was written: restore the files, retire the slugs in retired.yaml, or "
            "serve with --allow-deletes or SEED_ALLOW_DELETES=true to delete them)",
            True,
        )
        raise typer.Exit(1) from None
    except (SeedError, CatalogueError) as error:
        say(error.detail, True)
        raise typer.Exit(1) from None


@cli.command()
def migrate(revision: str = "head") -> None:
    """Apply database migrations (up to `head` by default)."""
    command.upgrade(alembic_config(), revision)


def _migrate_quietly() -> None:
    """Migrate with the logging `catalogue serve` set up (not alembic.ini's)."""
    config = alembic_config()
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


@cli.command()
def seed(
    overwrite: Annotated[
        bool,
        typer.Option(help="Replace resources changed through the API with the files' content."),
    ] = False,
) -> None:
    """Validate the catalogue in seed/ and load it (idempotent, all or nothing). Resources
    last changed through the API are kept, and reported, unless --overwrite; exercises
    whose files are gone are deleted, and named. Waits for another seed to finish."""
    _seed_or_exit(overwrite=overwrite)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(envvar="HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(envvar="WEB_CONCURRENCY")] = 1,
    setup: Annotated[bool, typer.Option(help="Migrate and seed before serving.")] = True,
    access_log: Annotated[
        bool, typer.Option(envvar="ACCESS_LOG", help="Log every request (off for benchmarks).")
    ] = True,
    allow_deletes: Annotated[
        bool,
        typer.Option(
            envvar="SEED_ALLOW_DELETES",
            help="Let the seed at start-up delete exercises whose files are gone (without "
            "it, such a seed is refused, unless retired.yaml retires them).",
        ),
    ] = False,
) -> None:
    """Migrate, seed, then serve the API. Request heads, idle connections, the
    connections per worker and the trusted proxies are bounded by the settings
    (`app/server.py`). With metrics on, the workers share a directory of samples
    (`PROMETHEUS_MULTIPROC_DIR`, made here unless given, and emptied first)."""
    import logging.config

    # The workers build their apps from the environment: tell them the option's value.
    os.environ["ACCESS_LOG"] = "true" if access_log else "false"
    get_settings.cache_clear()
    settings = get_settings()
    from app.logs import logging_config

    logging.config.dictConfig(logging_config(settings))
    say: Say = _log if settings.log_format == "json" else _echo
    # Before anything imports prometheus-client (the seed below counts itself), which
    # chooses its multiprocess mode on import.
    made = _prepare_metrics_dir() if settings.metrics_enabled else None
    try:
        from app.server import run_server, uvicorn_options

        if setup:
            _migrate_quietly()
            # A file lost in a deployment must not delete its exercise at boot.
            _seed_or_exit(allow_deletes=allow_deletes, say=say)
        run_server(
            "app.main:create_asgi_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            server_header=False,
            # Each request is logged by app.observability, without its query string.
            access_log=False,
            log_config=logging_config(settings),
            **uvicorn_options(settings),
        )
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def _prepare_metrics_dir() -> Path | None:
    """Before any worker starts: make a directory for the workers' metric samples and
    set `PROMETHEUS_MULTIPROC_DIR` to it, or, when it is set already, empty it (samples
    left by an earlier run would be added to this one's). Returns the directory made
    here, for `serve` to remove when it stops; None for one given."""
    given = os.environ.get(_MULTIPROC_ENV)
    if not given:
        made = Path(tempfile.mkdtemp(prefix="catalogue-metrics-"))
        os.environ[_MULTIPROC_ENV] = str(made)
        return made
    directory = Path(given)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return None


_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@cli.command()
def healthcheck(
    port: Annotated[int, typer.Option(envvar="PORT")] = 8000,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer.")] = 2.0,
) -> None:
    """Exit 0 if the server on this machine's PORT answers /healthz with 200, else 1:
    the container image's HEALTHCHECK, which cannot expand variables in exec form."""
    import urllib.error
    import urllib.request

    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            healthy = response.status == 200
    except (urllib.error.URLError, OSError) as error:
        typer.echo(f"{url}: {error}", err=True)
        raise typer.Exit(1) from None
    if not healthy:
        raise typer.Exit(1)


class ExportFormat(StrEnum):
    seed = "seed"
    ndjson = "ndjson"


@cli.command("export")
def export(
    target: Annotated[
        Path,
        typer.Argument(
            help="seed: a new directory, which gets catalogue/ and the documents. "
            "ndjson: a file, or - for standard output."
        ),
    ],
    format: Annotated[
        ExportFormat, typer.Option("--format", help="The seed files, or GET /v1/export's lines.")
    ] = ExportFormat.seed,
) -> None:
    """Write the catalogue, changes made through the API included: in the seed format
    (as seed/ lays it out; seeding it, SEED_DIR=DIRECTORY catalogue seed, reproduces the
    same catalogue version), or as the newline-delimited JSON of GET /v1/export (the same
    bytes, from one snapshot)."""
    if format is ExportFormat.ndjson:
        _export_ndjson(target)
        return
    from app.seeding.exporting import export_catalogue

    try:
        with _session() as session:
            report = export_catalogue(session, target)
    except SeedError as error:
        typer.echo(error.detail, err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"exported {report.exercises} exercises and {report.documents} documents to {target}"
    )


def _export_ndjson(target: Path) -> None:
    import sys

    import sqlalchemy as sa

    from app.database import engine_for, snapshot_engine
    from app.ndjson_export import export_chunks

    settings = get_settings()
    engine = engine_for(settings)
    try:
        with Session(snapshot_engine(engine)) as session:
            chunks = export_chunks(session, cursor_secret=settings.cursor_secret)
            if str(target) == "-":
                for chunk in chunks:
                    sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
                return
            # Written beside the target and moved into place: never a half export there.
            partial = target.with_name(target.name + ".partial")
            with partial.open("wb") as file:
                for chunk in chunks:
                    file.write(chunk)
            partial.replace(target)
    except CatalogueError as error:
        typer.echo(error.detail, err=True)
        raise typer.Exit(1) from None
    except sa.exc.SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        typer.echo(
            f"could not read the catalogue ({type(error).__name__}: {cause}); "
            "is the database migrated and seeded (catalogue migrate, catalogue seed)?",
            err=True,
        )
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"exported the catalogue to {target}", err=True)


@cli.command("verify-sources")
def verify_sources() -> None:
    """Check every source document's SHA-256 and every evidence quote at its offsets."""
    from app.seeding.reading import read_catalogue

    try:
        catalogue = read_catalogue(get_settings().seed_dir / "catalogue", get_settings().seed_dir)
    except SeedError as error:
        typer.echo(error.detail, err=True)
        raise typer.Exit(1) from None
    quotes = sum(len(entry.evidence) for entry in catalogue.exercises)
    typer.echo(f"{len(catalogue.sources)} sources and {quotes} evidence quotes verified")


@cli.command("find-quote")
def find_quote(
    file: Annotated[Path, typer.Argument(help="A source document, e.g. seed/002_....txt")],
    quote: Annotated[str, typer.Argument(help="The exact text to find")],
) -> None:
    """Print the offsets of every occurrence of QUOTE in FILE, as evidence entries need."""
    from app.seeding.checking import MAX_DOCUMENT_BYTES
    from app.seeding.reading import read_text

    problems: list[str] = []
    text = read_text(file, MAX_DOCUMENT_BYTES, problems)
    if text is None:
        typer.echo("\n".join(problems), err=True)
        raise typer.Exit(1)
    start = text.find(quote)
    if start < 0:
        typer.echo(
            "not found (check apostrophes and quotes: the documents use \u2019 and \u201c \u201d)",
            err=True,
        )
        raise typer.Exit(1)
    while start >= 0:
        typer.echo(json.dumps({"quote": quote, "start": start, "end": start + len(quote)}))
        start = text.find(quote, start + 1)


@keys_cli.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="Who holds the key (one key per person).")],
    role: Annotated[KeyRole, typer.Option(help="curator: propose; reviewer: also decide.")],
) -> None:
    """Create an API key and print it: it is shown this once, and stored only hashed."""
    from app.keys import create_key as create

    try:
        with _session() as session:
            key = create(session, name=name, role=role, now=datetime.now(UTC))
    except CatalogueError as error:
        typer.echo(error.detail, err=True)
        raise typer.Exit(1) from None
    typer.echo(key)


@keys_cli.command("list")
def list_keys() -> None:
    """The keys: name, role, when created and (if so) revoked. Never the keys themselves."""
    from app.keys import list_keys as listed

    with _session() as session:
        for key in listed(session):
            revoked = f"  revoked {key.revoked_at.isoformat()}" if key.revoked_at else ""
            typer.echo(f"{key.name}  {key.role}  created {key.created_at.isoformat()}{revoked}")


@keys_cli.command("revoke")
def revoke_key(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key: every request with it is refused from now on."""
    from app.keys import revoke_key as revoke

    try:
        with _session() as session:
            revoke(session, name=name, now=datetime.now(UTC))
    except CatalogueError as error:
        typer.echo(error.detail, err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {name}")


def main() -> None:
    cli()
