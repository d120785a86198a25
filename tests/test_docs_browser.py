"""The offline API docs, in a real browser.

Headless Chromium (Debian's `chromium` package, driven by Playwright) opens the docs
pages of a running `catalogue serve` process over the real catalogue. It proves that:

- /docs (Swagger UI) renders every operation of the OpenAPI document, and that "Try it
  out" on `GET /v1/exercises` with `phase=acute` sends the request to this server and
  shows its 200 response, whose body is the server's own first page of acute exercises;
- /redoc (ReDoc) renders every operation, in its menu and in its content;
- no request from either page leaves the server: every request the browser makes goes to
  the server's own origin, with one exception ReDoc cannot be configured out of (see
  `REDOCLY_LOGO`), and that one must be stopped inside the browser by the docs pages'
  Content-Security-Policy. Swagger's online validator badge and ReDoc's Google fonts are
  never requested.

Screenshots of both pages are saved in test-artifacts/. `make test` installs Chromium
where it can (scripts/ensure-debian-package). Without it the tests skip, saying why, except
under CI=true where they fail.
"""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from playwright.sync_api import Browser, Page, Request, expect, sync_playwright

from app.settings import PROJECT_ROOT
from tests.conftest import IN_CI

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
# First render: the page loads its bundle, fetches /openapi.json and builds the DOM.
RENDER_TIMEOUT_MS = 20_000
# ReDoc 2 always renders the "API docs by Redocly" logo in its menu from this address, with
# no option to turn it off. The docs pages' CSP (`img-src 'self' data:`) blocks it inside the
# browser, so it never reaches the network; the tests allow it only when so blocked.
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
BLOCKED_BY_CSP = "csp"  # Chromium's failure text for a request its page's CSP refused
SWAGGER_VALIDATOR_HOST = "validator.swagger.io"
GOOGLE_FONTS_HOSTS = ("fonts.googleapis.com", "fonts.gstatic.com")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        reason = "Chromium not installed: run `make test` as root, or apt-get install chromium"
        if IN_CI:
            pytest.fail(f"CI=true requires the browser test. {reason}", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, service_workers="block")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def spec(live_server: str) -> dict[str, Any]:
    response = httpx2.get(f"{live_server}/openapi.json")
    assert response.status_code == 200, response.text
    return dict(response.json())


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of the OpenAPI document, with its method and path."""
    return [
        {**operation, "method": method, "path": path}
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


class RequestLog:
    """Every request a page makes, recorded as the browser starts it (before any CSP check
    or network access), so that nothing the page tries goes unseen."""

    def __init__(self, page: Page, base_url: str):
        self.origin = origin(base_url)
        self.requests: list[Request] = []
        page.on("request", self._record)

    def _record(self, request: Request) -> None:
        self.requests.append(request)

    def urls(self) -> list[str]:
        return [request.url for request in self.requests]

    def assert_nothing_left_the_server(self) -> None:
        elsewhere = [
            (request.url, request.failure)
            for request in self.requests
            if not request.url.startswith("data:") and origin(request.url) != self.origin
        ]
        unblocked = [
            (url, failure)
            for url, failure in elsewhere
            if not (url == REDOCLY_LOGO and failure == BLOCKED_BY_CSP)
        ]
        assert unblocked == [], f"requests to other origins than {self.origin}: {unblocked}"


def origin(url: str) -> str:
    """scheme://host:port of a URL; a blob: URL has the origin of the page that made it."""
    parts = urlsplit(url.removeprefix("blob:"))
    return f"{parts.scheme}://{parts.netloc}"


@contextmanager
def screenshot_afterwards(page: Page, name: str) -> Iterator[None]:
    """Save the page as test-artifacts/<name>, also when the test fails, to show why."""
    try:
        yield
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / name)


class TestDocsInBrowser:
    def test_swagger_ui_tries_out_list_exercises(
        self, page: Page, live_server: str, spec: dict[str, Any]
    ):
        expected = httpx2.get(f"{live_server}/v1/exercises", params={"phase": "acute"})
        assert expected.status_code == 200, expected.text
        expected_page = expected.json()
        assert expected_page["items"], "the real catalogue has acute exercises"
        log = RequestLog(page, live_server)

        with screenshot_afterwards(page, "docs-swagger.png"):
            page.goto(f"{live_server}/docs")
            page.locator(".opblock").first.wait_for(timeout=RENDER_TIMEOUT_MS)
            # Every operation is rendered, under its tag, with its method and path.
            expect(page.locator(".opblock")).to_have_count(len(operations(spec)))
            for operation in operations(spec):
                block = page.locator(
                    f"#operations-{operation['tags'][0]}-{operation['operationId']}"
                )
                expect(block.locator(".opblock-summary-method")).to_have_text(
                    operation["method"].upper()
                )
                expect(block.locator(".opblock-summary-path")).to_have_attribute(
                    "data-path", operation["path"]
                )
                expect(block.locator(".opblock-summary-description")).to_have_text(
                    operation["summary"]
                )

            block = page.locator("#operations-exercises-listExercises")
            block.locator(".opblock-summary-control").click()
            block.get_by_role("button", name="Try it out").click()
            block.locator('tr[data-param-name="phase"] select').select_option("acute")
            block.get_by_role("button", name="Execute").click()

            status = block.locator(".live-responses-table tbody .response-col_status")
            expect(status).to_have_text("200")
            request_url = block.locator(".request-url")
            expect(request_url).to_contain_text(
                f"{live_server}/v1/exercises?phase=acute&limit={expected_page['limit']}"
            )
            request_url.evaluate("element => element.scrollIntoView({block: 'start'})")
            body = block.locator(".live-responses-table tbody .response-col_description")
            shown = json.loads(body.locator("code.language-json").inner_text())
            page.wait_for_load_state("networkidle")

        assert [item["slug"] for item in shown["items"]] == [
            item["slug"] for item in expected_page["items"]
        ]
        assert shown["total"] == expected_page["total"]
        assert all("acute" in item["phases"] for item in shown["items"])
        assert (
            f"{live_server}/v1/exercises?phase=acute&limit={expected_page['limit']}" in log.urls()
        )
        # Swagger UI never shows its badge for a document on 127.0.0.1 whatever the setting,
        # so the setting itself is checked too: the badge is off for every host.
        assert page.evaluate("ui.getConfigs().validatorUrl") is None
        assert page.locator(f'img[src*="{SWAGGER_VALIDATOR_HOST}"]').count() == 0
        assert not [url for url in log.urls() if SWAGGER_VALIDATOR_HOST in url]
        log.assert_nothing_left_the_server()

    def test_redoc_lists_every_operation(self, page: Page, live_server: str, spec: dict[str, Any]):
        log = RequestLog(page, live_server)

        with screenshot_afterwards(page, "docs-redoc.png"):
            page.goto(f"{live_server}/redoc")
            page.locator('[data-section-id="operation/listExercises"]').wait_for(
                timeout=RENDER_TIMEOUT_MS
            )
            menu_operations = page.locator('li[role="menuitem"][data-item-id*="/operation/"]')
            expect(menu_operations).to_have_count(len(operations(spec)))
            for operation in operations(spec):
                operation_id = operation["operationId"]
                item = page.locator(
                    f'li[role="menuitem"][data-item-id$="/operation/{operation_id}"]'
                )
                expect(item).to_have_attribute("aria-label", operation["summary"])
                # ReDoc's menu shortens DELETE to "del".
                method = {"delete": "del"}.get(operation["method"], operation["method"])
                expect(item.locator(".operation-type")).to_have_text(method)
                section = page.locator(f'[data-section-id="operation/{operation_id}"]')
                expect(section.locator("h2").first).to_have_text(operation["summary"])

            # Open the exercises group in the menu, so that the screenshot shows operations.
            page.locator('li[data-item-id="tag/exercises"] > label').click()
            expect(
                page.locator('li[data-item-id="tag/exercises/operation/listExercises"]')
            ).to_be_visible()
            page.wait_for_load_state("networkidle")

        fonts = [url for url in log.urls() if urlsplit(url).hostname in GOOGLE_FONTS_HOSTS]
        assert fonts == []
        assert page.locator('link[href*="fonts.googleapis.com"]').count() == 0
        assert f"{live_server}/openapi.json" in log.urls()
        log.assert_nothing_left_the_server()
