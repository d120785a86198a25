"""`catalogue`: the operators' command line (migrate, seed, serve, verify-sources, ...)."""

import json
from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config
from sqlmodel import Session

from app.errors import SeedError
from app.settings import PROJECT_ROOT, get_settings

cli = typer.Typer(help="Exercise Catalogue API operations.", no_args_is_help=True)


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url or get_settings().database_url)
    return config


def _seed() -> None:
    from app.database import engine_for
    from app.seeding.reading import read_catalogue
    from app.seeding.writing import seed_catalogue

    settings = get_settings()
    catalogue = read_catalogue(settings.seed_dir / "catalogue", settings.seed_dir)
    engine = engine_for(settings)
    try:
        with Session(engine) as session:
            report = seed_catalogue(session, catalogue)
    finally:
        engine.dispose()
    if report.changed:
        typer.echo(
            f"seeded catalogue {report.version[:12]}: {len(report.inserted)} inserted, "
            f"{len(report.updated)} updated, {len(report.deleted)} deleted"
        )
    else:
        typer.echo(f"catalogue {report.version[:12]} already up to date")


@cli.command()
def migrate(revision: str = "head") -> None:
    """Apply database migrations (up to `head` by default)."""
    command.upgrade(alembic_config(), revision)


@cli.command()
def seed() -> None:
    """Validate the catalogue in seed/ and load it (idempotent, all or nothing)."""
    try:
        _seed()
    except SeedError as error:
        typer.echo(error.detail, err=True)
        raise typer.Exit(1) from None


@cli.command()
def serve(
    host: Annotated[str, typer.Option(envvar="HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(envvar="WEB_CONCURRENCY")] = 1,
    setup: Annotated[bool, typer.Option(help="Migrate and seed before serving.")] = True,
    access_log: Annotated[
        bool, typer.Option(envvar="ACCESS_LOG", help="Log every request (off for benchmarks).")
    ] = True,
) -> None:
    """Migrate, seed, then serve the API."""
    import uvicorn

    if setup:
        migrate()
        seed()
    uvicorn.run(
        "app.main:create_asgi_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        server_header=False,
        proxy_headers=True,
        access_log=access_log,
    )


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
    text = file.read_text(encoding="utf-8")
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


def main() -> None:
    cli()
