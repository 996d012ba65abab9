"""Every page and its JSON twin, on both backends: the twin is what the CLI's --json prints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import Settings

runner = CliRunner()
ROUNDS = 30


def cli_json(settings: Settings, *args: str) -> Any:
    result = runner.invoke(
        app, [*args, "--json"], env={"ARENADB_DATABASE_URL": settings.database_url}
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def first_ids(client: Any) -> tuple[int, int, str]:
    """A finished game with turns, an agent of it, and a game type of the demo arena."""
    games = client.get("/games.json?status=completed&limit=200").json()
    game = max(games, key=lambda g: g["turns"])
    detail = client.get(f"/games/{game['id']}.json").json()
    return game["id"], detail["seats"][0]["agent_id"], game["type"]


# (page path, the CLI command whose --json its twin equals), {game}/{agent}/{type} filled in.
PAGES = [
    # Few bootstrap rounds: the default 1,000 cost seconds per board on the demo arena.
    ("/?rounds=30", ["agents", "top", "--rounds", "30"]),
    (
        "/leaderboard/{type}?rounds=30&limit=5",
        ["agents", "top", "-g", "{type}", "--rounds", "30", "--limit", "5"],
    ),
    (
        "/leaderboard/{type}?rounds=30&min_games=3&seed=5",
        ["agents", "top", "-g", "{type}", "--rounds", "30", "--min-games", "3", "--seed", "5"],
    ),
    ("/games", ["games", "list"]),
    ("/games?status=completed&limit=7&offset=3", None),
    ("/games/{game}", ["game", "info", "{game}"]),
    ("/games/{game}?turns=1", ["game", "info", "{game}", "--turns"]),
    ("/games/{game}/replay", ["game", "replay", "{game}"]),
    ("/games/{game}/replay?seat=0", ["game", "replay", "{game}", "--as-seat", "0"]),
    ("/agents/{agent}", ["agent", "info", "{agent}"]),
    ("/agents/{agent}?recent=3", ["agent", "info", "{agent}", "--recent", "3"]),
    ("/agents/{agent}?system=openskill", ["agent", "info", "{agent}", "--system", "openskill"]),
    (
        "/leaderboard/{type}?rounds=30&provisional_games=3",
        ["agents", "top", "-g", "{type}", "--rounds", "30", "--provisional-games", "3"],
    ),
    (
        "/games?since=2026-10-02&until=2026-10-04",
        ["games", "list", "--since", "2026-10-02", "--until", "2026-10-04"],
    ),
    ("/models", ["models", "stats"]),
]


def twin(path: str) -> str:
    base, _, query = path.partition("?")
    base = "/index" if base == "/" else base
    return f"{base}.json" + (f"?{query}" if query else "")


@pytest.mark.parametrize(("path", "command"), PAGES, ids=[p for p, _ in PAGES])
def test_every_page_and_its_json_twin(demo_settings, demo_client, path, command):
    game, agent, game_type = first_ids(demo_client)
    values = {"game": str(game), "agent": str(agent), "type": game_type}
    path = path.format(**values)
    page = demo_client.get(path)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "<!doctype html>" in page.text
    data = demo_client.get(twin(path))
    assert data.status_code == 200, data.text
    assert data.headers["content-type"].startswith("application/json")
    if command is None:  # the games list with filters and a page: see the filter tests
        return
    assert data.json() == cli_json(demo_settings, *[a.format(**values) for a in command])


def test_the_boards_show_intervals_tiers_sides_and_cost(demo_client):
    boards = demo_client.get(f"/index.json?rounds={ROUNDS}").json()
    assert boards, "the demo arena has rated games"
    page = demo_client.get(f"/?rounds={ROUNDS}").text
    for board in boards:
        assert board["game_type"] in page
        for row in board["rows"]:
            assert f'href="/agents/{row["agent_id"]}"' in page
    assert '<svg class="chart forest"' in page
    assert "95% interval" in page and "tier" in page
    assert "cost per win" in page
    if any(b["sides"]["terms"] for b in boards):
        assert "side / seat advantage" in page


def test_the_same_json_at_slash_dot_json(demo_client):
    same = demo_client.get(f"/.json?rounds={ROUNDS}").json()
    assert same == demo_client.get(f"/index.json?rounds={ROUNDS}").json()


def test_a_game_page_shows_seats_usage_snapshots_and_crashes(demo_client):
    crashed = demo_client.get("/games.json?status=failed").json()
    crashed = [g for g in crashed if g["crashed"]]
    assert crashed, "the demo arena has a crashed game"
    detail = demo_client.get(f"/games/{crashed[0]['id']}.json").json()
    page = demo_client.get(f"/games/{crashed[0]['id']}").text
    assert "Environment crashed" in page
    for seat in detail["seats"]:
        assert f'href="/agents/{seat["agent_id"]}"' in page
    assert "tokens in / out" in page and "LLM latency p50 / p95" in page
    fourx = demo_client.get("/games.json?type=FourX-v0&status=completed&limit=1").json()
    detail = demo_client.get(f"/games/{fourx[0]['id']}.json").json()
    assert detail["snapshots"], "the demo's 4X games keep snapshots"
    page = demo_client.get(f"/games/{fourx[0]['id']}").text
    for snapshot in detail["snapshots"]:
        assert snapshot["sha256"][:16] in page


def test_the_replay_marks_invalid_moves_and_switches_seat(demo_client):
    games = demo_client.get("/games.json?type=SecretMafia-v0&limit=40").json()
    replays = (demo_client.get(f"/games/{g['id']}/replay.json").json() for g in games)
    replay = next(r for r in replays if any(t["valid"] is False for t in r["turns"]))
    page = demo_client.get(f"/games/{replay['id']}/replay").text
    assert "✗ invalid" in page
    seat = replay["seats"][0]["seat"]
    assert f'href="/games/{replay["id"]}/replay?seat={seat}"' in page
    mine = demo_client.get(f"/games/{replay['id']}/replay?seat={seat}").text
    assert 'aria-current="page">seat' in mine
    # Seat N's view shows N's own observations open, and no one else's.
    others = [t for t in replay["turns"] if t["seat"] not in (None, seat) and t["observation"]]
    own = [t for t in replay["turns"] if t["seat"] == seat and t["observation"]]
    if own:
        assert 'class="observation"' in mine
    for turn in others:
        if not any(
            turn["observation"] in (t["observation"] or "")
            for t in replay["turns"]
            if t["seat"] in (None, seat)
        ):
            from markupsafe import escape

            assert str(escape(turn["observation"])) not in mine


def test_the_agent_page_draws_its_trajectory(demo_client):
    boards = demo_client.get(f"/index.json?rounds={ROUNDS}").json()
    agent = boards[0]["rows"][0]["agent_id"]
    profile = demo_client.get(f"/agents/{agent}.json").json()
    page = demo_client.get(f"/agents/{agent}").text
    assert profile["id"] == agent and f"<small>agent {agent}</small>" in page
    if profile["trajectory"]:
        assert '<svg class="chart line"' in page
    for game in profile["recent_games"]:
        assert f'href="/games/{game["game_id"]}"' in page


def test_the_models_page_draws_usage_per_day(demo_client):
    page = demo_client.get("/models").text
    for title in ("calls per day", "errors per day", "tokens per day", "cost per day", "latency"):
        assert title in page
    assert page.count('<svg class="chart bars"') == 5
    days = demo_client.get("/models/daily.json").json()
    stats = demo_client.get("/models.json").json()
    assert sum(d["calls"] for d in days) <= sum(m["calls"] for m in stats)
    assert days == sorted(days, key=lambda d: (d["day"], d["model"]))


# ----------------------------------------------------------------------- filters and paging

FILTERS = [
    ({"status": "completed"}, ["--status", "completed"]),
    ({"status": "failed", "limit": "3"}, ["--status", "failed", "--limit", "3"]),
    ({"type": "{type}"}, ["--type", "{type}"]),
    ({"agent": "{agent}"}, ["--agent", "{agent}"]),
    ({"model": "{model}"}, ["--model", "{model}"]),
    (
        {"since": "2026-10-02", "until": "2026-10-04"},
        ["--since", "2026-10-02", "--until", "2026-10-04"],
    ),
    ({"limit": "5", "offset": "5"}, ["--limit", "5", "--offset", "5"]),
    ({"limit": "5", "offset": "100000"}, ["--limit", "5", "--offset", "100000"]),
]


@pytest.mark.parametrize(("query", "options"), FILTERS)
def test_the_games_filters_are_the_cli_filters(demo_settings, demo_client, query, options):
    _game, agent, game_type = first_ids(demo_client)
    model = demo_client.get("/models.json").json()[0]["model"]
    values = {"type": game_type, "agent": str(agent), "model": model}
    query = {k: v.format(**values) for k, v in query.items()}
    got = demo_client.get("/games.json", params=query)
    assert got.status_code == 200, got.text
    expected = cli_json(demo_settings, "games", "list", *[o.format(**values) for o in options])
    assert got.json() == expected
    page = demo_client.get("/games", params=query)
    assert page.status_code == 200
    for game in expected:
        assert f'<a href="/games/{game["id"]}">' in page.text


def test_the_games_pages_link_to_each_other(demo_client):
    first = demo_client.get("/games?limit=5").text
    assert 'rel="next" href="/games?offset=5&amp;limit=5"' in first or (
        'rel="next" href="/games?limit=5&amp;offset=5"' in first
    )
    assert 'rel="prev"' not in first
    second = demo_client.get("/games?limit=5&offset=5").text
    assert 'rel="prev"' in second
    ids_1 = [g["id"] for g in demo_client.get("/games.json?limit=5").json()]
    ids_2 = [g["id"] for g in demo_client.get("/games.json?limit=5&offset=5").json()]
    assert ids_1[-1] > ids_2[0] and not set(ids_1) & set(ids_2)


# ---------------------------------------------------------------------------- errors

NOT_FOUND = [
    "/games/987654",
    "/games/987654/replay",
    "/agents/987654",
    "/agents/no-such-alias",
    "/leaderboard/NoSuchGame-v0",
    "/no/such/page",
]


# A missing thing on a page -> the CLI command missing it: the same words (and 404 / exit 1).
NOT_FOUND_TWINS = [
    ("/games/987654", ["game", "info", "987654"]),
    ("/games/987654/replay", ["game", "replay", "987654"]),
    ("/games/{game}/replay?seat=99", ["game", "replay", "{game}", "--as-seat", "99"]),
    ("/agents/987654", ["agent", "info", "987654"]),
    ("/agents/no-such-alias", ["agent", "info", "no-such-alias"]),
    ("/leaderboard/NoSuchGame-v0", ["agents", "top", "-g", "NoSuchGame-v0"]),
    ("/games?agent=987654", ["games", "list", "--agent", "987654"]),
    ("/games?type=NoSuchGame-v0", ["games", "list", "--type", "NoSuchGame-v0"]),
]


@pytest.mark.parametrize(("path", "command"), NOT_FOUND_TWINS, ids=[p for p, _ in NOT_FOUND_TWINS])
def test_not_found_reads_the_same_on_the_web_and_in_the_cli(
    demo_settings, demo_client, path, command
):
    game = demo_client.get("/games.json?limit=1").json()[0]["id"]
    path = path.format(game=game)
    data = demo_client.get(twin(path))
    assert data.status_code == 404, data.text
    result = runner.invoke(
        app,
        [a.format(game=game) for a in command],
        env={"ARENADB_DATABASE_URL": demo_settings.database_url},
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == f"error: {data.json()['error']}"


@pytest.mark.parametrize("path", NOT_FOUND)
def test_unknown_ids_are_404_in_html_and_json(demo_client, path):
    page = demo_client.get(path)
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    if path != "/no/such/page":
        data = demo_client.get(f"{path}.json")
        assert data.status_code == 404
        assert "not found" in data.json()["error"] or "no " in data.json()["error"]


def test_an_unknown_seat_is_404(demo_client):
    game = demo_client.get("/games.json?limit=1").json()[0]["id"]
    assert demo_client.get(f"/games/{game}/replay?seat=99").status_code == 404


BAD = [
    "/games?limit=abc",
    "/games?limit=0",
    "/games?offset=-1",
    "/games?status=sleeping",
    "/games?since=yesterday-ish",
    "/?rounds=0",
    "/?rounds=999999",
    "/leaderboard/SecretMafia-v0?limit=x",
]


@pytest.mark.parametrize("path", BAD)
def test_bad_query_values_are_400_with_one_message(demo_client, path):
    page = demo_client.get(path)
    assert page.status_code == 400, page.text
    base, _, query = path.partition("?")
    data = demo_client.get(f"{twin(base)}?{query}")
    assert data.status_code == 400
    assert "\n" not in data.json()["error"]
    assert "Traceback" not in page.text
