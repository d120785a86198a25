"""The import layers of `app/`: a module may import from its own layer or a lower one,
never a higher one, and the web framework stays out of the layers below HTTP (so the
queries, the writer and the error hierarchy know nothing of requests)."""

import ast
from pathlib import Path

import pytest

from app.settings import PROJECT_ROOT

# Lowest first. A module belongs to the first layer one of whose prefixes it starts with.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "app.vocabulary",
            "app.settings",
            "app.errors",
            "app.examples",
            "app.metrics",
            "app.search_text",
        ),
    ),
    ("tables", ("app.models", "app.seeding.format", "app.seeding.checking")),
    (
        "data",
        (
            "app.database",
            "app.detail_bodies",
            "app.queries",
            "app.writer",
            "app.search_index",
            "app.seeding.reading",
            "app.seeding.stored",
            "app.seeding.exporting",
            "app.seeding.writing",
            "app.keys",
            "app.curation",
        ),
    ),
    (
        "http edge",
        ("app.problems", "app.security", "app.server", "app.logs", "app.observability"),
    ),
    (
        "http",
        (
            "app.conditional",
            "app.openapi",
            "app.pagination",
            "app.schemas",
            "app.fhir.resources",
            "app.fhir.outcomes",
        ),
    ),
    (
        "http wrappers",
        (
            "app.response_cache",
            "app.ndjson_export",
            "app.dependencies",
            "app.auth",
            "app.fhir.reading",
        ),
    ),
    ("fhir reads", ("app.fhir.documents",)),
    ("routes", ("app.routes", "app.fhir.routes")),
    ("entry points", ("app.main", "app.cli", "app.fhir.application", "app.sync_client")),
]
HTTP_LAYER = 3  # the first layer that may know HTTP
WEB_FRAMEWORKS = ("fastapi", "starlette", "uvicorn", "asgi_correlation_id", "fastapi_offline")


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, at any depth (deferred ones too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "app":  # `from app import examples`
                found += [(node.lineno, f"app.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


MODULES = sorted((PROJECT_ROOT / "app").rglob("*.py"))
PACKAGES = {"app", "app.queries", "app.routes", "app.seeding", "app.fhir"}


def violations(path: Path, importer: str) -> list[str]:
    """What is wrong with the imports of the module `importer`, written at `path`."""
    level = layer_of(importer)
    found = []
    for line, imported in imports(path):
        known = imported.startswith("app.") and imported not in PACKAGES
        if known and layer_of(imported) > level:
            found.append(
                f"{importer}:{line} imports {imported}, a higher layer "
                f"({LAYERS[layer_of(imported)][0]} above {LAYERS[level][0]})"
            )
        if level < HTTP_LAYER and imported.split(".")[0] in WEB_FRAMEWORKS:
            found.append(f"{importer}:{line} imports {imported}: {LAYERS[level][0]} knows no HTTP")
    return found


class TestImportLayers:
    @pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path))
    def test_no_import_runs_up_a_layer(self, path: Path):
        importer = module_name(path)
        if importer not in PACKAGES:  # the packages hold docstrings only
            assert violations(path, importer) == []

    def test_every_module_has_a_layer(self):
        for path in MODULES:
            if module_name(path) not in PACKAGES:
                layer_of(module_name(path))  # raises, naming the module, if it has none

    def test_the_check_sees_an_upward_import(self, tmp_path: Path):
        # The rule itself, on a query module written to break it both ways.
        bad = tmp_path / "bad.py"
        bad.write_text("from app.routes.goals import router\n\ndef f():\n    import fastapi\n")
        assert violations(bad, "app.queries.bad") == [
            "app.queries.bad:1 imports app.routes.goals, a higher layer (routes above data)",
            "app.queries.bad:4 imports fastapi: data knows no HTTP",
        ]
