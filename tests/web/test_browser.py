"""Headless Chromium through every page of a real `arenadb serve` on the demo arena.

Playwright drives Debian's chromium (`executable_path`; no browser download): it reports console
messages, page errors and failed requests as events, which is what these tests collect (a CSP
violation is a console error). Screenshots go to $ARENADB_SCREENSHOTS or a temporary folder.
Skipped, with the reason, when no chromium is installed; .ci/run fails on that skip.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import chromium_path

CHROMIUM = chromium_path()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium not found: browser tests need Debian's chromium"
    ),
]
ROUNDS = 50  # bootstrap rounds on the pages visited with a query (the default is visited too)
TOKEN = "browser-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, url: str, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.process = process


def start_server(database_url: str, *extra: str) -> Server:
    port = free_port()
    env = {**os.environ, "ARENADB_DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "arenadb", "serve", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"arenadb serve exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            urllib.request.urlopen(f"{url}/static/style.css", timeout=2).close()
            return Server(url, process)
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError("arenadb serve did not answer within 90 s")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory, _templates: Any) -> str:
    from arenadb.seeding.seeder import seed_database

    settings = _templates.sqlite(tmp_path_factory.mktemp("browser") / "demo.db")
    seed_database(settings, "demo")
    return settings.database_url


@pytest.fixture(scope="module")
def server(demo_url: str) -> Iterator[Server]:
    running = start_server(demo_url)
    yield running
    stop(running)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("ARENADB_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


class Visit:
    """One browser tab that records every console error, page error and failed request."""

    def __init__(self, browser: Any, base: str, shots: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.base = base
        self.shots = shots
        self.problems: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # A request the browser itself cancelled (net::ERR_ABORTED: the favicon of a page left
        # by the next navigation) is not the server's failure; a refused or reset one is. An
        # error status is a response, checked below.
        self.page.on(
            "requestfailed",
            lambda r: (
                None
                if r.failure == "net::ERR_ABORTED"
                else self.problems.append(f"request failed: {r.url} ({r.failure})")
            ),
        )
        self.page.on(
            "response",
            lambda r: (
                self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None
            ),
        )

    def open(self, path: str, name: str, *, timeout_ms: int = 60_000) -> Any:
        response = self.page.goto(self.base + path, timeout=timeout_ms)
        assert response is not None and response.status == 200, (path, response)
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser: Any, server: Server, shots: Path) -> Iterator[Visit]:
    tab = Visit(browser, server.url, shots)
    yield tab
    tab.close()
    assert tab.problems == [], tab.problems


def test_leaderboards(visit: Visit) -> None:
    page = visit.open(f"/?rounds={ROUNDS}", "boards")
    assert page.locator("h1").inner_text() == "Leaderboards"
    boards = page.locator("section.board-section")
    assert boards.count() >= 2
    assert page.locator("svg.forest circle.estimate").count() >= 4
    assert page.locator("svg.forest line.interval").count() >= 4
    first_type = boards.first.locator("h2 a").inner_text()
    boards.first.locator("h2 a").click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{visit.base}/leaderboard/")
    assert page.locator("h1").inner_text() == first_type
    page.screenshot(path=str(visit.shots / "leaderboard.png"), full_page=True)
    assert page.locator("table.board tbody tr").count() >= 2


def test_the_default_board_as_the_nav_links_it(visit: Visit) -> None:
    page = visit.open("/", "boards-default", timeout_ms=180_000)
    assert "Bradley-Terry over" in page.locator("main").inner_text()
    assert "1000 bootstrap rounds" in page.locator("main").inner_text()


def test_games_list_filters_and_pages(visit: Visit) -> None:
    page = visit.open("/games", "games")
    rows = page.locator("table.games tbody tr")
    assert rows.count() == 50
    page.select_option("select[name=status]", "completed")
    page.fill("input[name=limit]", "10")
    page.click("form.filters button")
    page.wait_for_load_state()
    assert "status=completed" in page.url
    assert rows.count() == 10
    statuses = page.locator("table.games tbody tr td:nth-child(3)").all_inner_texts()
    assert set(statuses) == {"completed"}
    first_id = rows.first.locator("td").first.inner_text()
    page.click("a[rel=next]")
    page.wait_for_load_state()
    assert "offset=10" in page.url
    assert rows.first.locator("td").first.inner_text() != first_id
    page.screenshot(path=str(visit.shots / "games-page-2.png"), full_page=True)


def test_a_crashed_game(visit: Visit) -> None:
    page = visit.open("/games?status=failed", "games-failed")
    page.locator("tr.crashed td a").first.click()
    page.wait_for_load_state()
    assert "Environment crashed" in page.locator(".alert").inner_text()
    assert page.locator("table.seats tbody tr").count() >= 2
    page.screenshot(path=str(visit.shots / "game-crashed.png"), full_page=True)


def test_a_game_with_snapshots(visit: Visit) -> None:
    page = visit.open("/games?type=FourX-v0&status=completed&limit=1", "games-4x")
    page.locator("table.games tbody tr td a").first.click()
    page.wait_for_load_state()
    assert page.locator("table.snapshots tbody tr").count() >= 1
    assert "LLM latency p50 / p95" in page.locator("dl.facts").inner_text()
    page.screenshot(path=str(visit.shots / "game-4x.png"), full_page=True)


def test_a_replay_and_the_seat_switch(visit: Visit) -> None:
    page = visit.open("/games?type=SecretMafia-v0&status=completed&limit=1", "games-mafia")
    page.locator("table.games tbody tr td a", has_text="replay").first.click()
    page.wait_for_load_state()
    assert page.locator("li.turn").count() >= 3
    page.screenshot(path=str(visit.shots / "replay.png"), full_page=True)
    page.locator(".seat-switch a", has_text="seat 1").click()
    page.wait_for_load_state()
    assert page.url.endswith("?seat=1")
    assert page.locator(".seat-switch a[aria-current=page]").inner_text().startswith("seat 1")
    assert page.locator("li.turn.mine").count() >= 1
    page.screenshot(path=str(visit.shots / "replay-seat-1.png"), full_page=True)


def test_invalid_moves_are_marked(visit: Visit) -> None:
    page = visit.open("/games?limit=200", "games-200")
    hrefs = page.locator("table.games tbody tr td a", has_text="replay").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    for href in hrefs:
        page.goto(visit.base + href)
        if page.locator("li.turn.invalid").count():
            assert "invalid" in page.locator("li.turn.invalid .badge").first.inner_text()
            page.screenshot(path=str(visit.shots / "replay-invalid.png"), full_page=True)
            return
    pytest.fail("no replay of the demo arena has an invalid move")


def test_an_agent(visit: Visit) -> None:
    page = visit.open(f"/?rounds={ROUNDS}", "boards-again")
    page.locator("table.board tbody tr td a").first.click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{visit.base}/agents/")
    assert page.locator("svg.line polyline.series").count() == 1
    assert page.locator("table.games tbody tr").count() >= 1
    page.screenshot(path=str(visit.shots / "agent.png"), full_page=True)


def test_models(visit: Visit) -> None:
    page = visit.open("/models", "models")
    assert page.locator("table.models tbody tr").count() >= 3
    assert page.locator("svg.bars").count() == 5
    assert page.locator("svg.bars rect.bar").count() >= 5


def test_the_json_twins_open(visit: Visit) -> None:
    for path in ("/games.json?limit=2", "/models.json", "/models/daily.json"):
        response = visit.page.goto(visit.base + path)
        assert response is not None and response.status == 200
        assert response.headers["content-type"].startswith("application/json")


def test_with_a_token_the_login_form_lets_one_in(browser: Any, demo_url: str, shots: Path) -> None:
    server = start_server(demo_url, "--token", TOKEN)
    tab = Visit(browser, server.url, shots)
    try:
        response = tab.page.goto(server.url + "/games")
        assert response is not None and response.status == 401
        tab.problems.clear()  # the 401 itself is expected
        tab.page.screenshot(path=str(shots / "login.png"), full_page=True)
        tab.page.fill("input[name=token]", TOKEN)
        tab.page.click("form.login button")
        tab.page.wait_for_load_state()
        assert tab.page.url == server.url + "/games"
        assert tab.page.locator("table.games tbody tr").count() == 50
        cookies = tab.context.cookies()
        assert [c["httpOnly"] for c in cookies] == [True]
        assert [c["sameSite"] for c in cookies] == ["Strict"]
        assert TOKEN not in tab.page.content()
        assert tab.problems == [], tab.problems
    finally:
        tab.close()
        stop(server)
