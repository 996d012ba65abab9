"""Commands agree: the same concept reads the same in every command that shows it.

Tables, so that a new command is one row: a concept, the commands showing it, and how to read
the value out of each one's `--json`. All run on the demo arena (`arenadb seed --env demo`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import Settings
from arenadb.errors import InvalidArgumentError
from tests.conftest import _skip_without_pg

runner = CliRunner()
BACKEND_PARAMS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def demo(request: pytest.FixtureRequest, tmp_path_factory: Any, _templates: Any) -> Iterator[Any]:
    """`arenadb --json ...` on a database of each backend holding the demo seed."""
    from arenadb.db import drop_database
    from arenadb.seeding.seeder import seed_database

    if request.param == "postgresql":
        _skip_without_pg()
        settings: Settings = _templates.postgresql()
    else:
        settings = _templates.sqlite(tmp_path_factory.mktemp("agree") / "demo.db")
    seed_database(settings, "demo")

    def read(*args: str) -> Any:
        result = runner.invoke(
            app, [*args, "--json"], env={"ARENADB_DATABASE_URL": settings.database_url}
        )
        assert result.exit_code == 0, (args, result.output)
        return json.loads(result.stdout)

    try:
        yield read
    finally:
        if request.param == "postgresql":
            drop_database(settings, missing_ok=True, any_database=True)


def _busiest_game(read: Callable[..., Any]) -> int:
    """A finished game of the type with the most seats, and of those the longest."""
    games = read("games", "list", "--status", "completed", "--limit", "200")
    return int(max(games, key=lambda g: (g["seats"], g["turns"]))["id"])


def _row(rows: list[dict[str, Any]], key: str, wanted: int) -> dict[str, Any]:
    return next(r for r in rows if r[key] == wanted)


def _seat_usage(seats: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    fields = ("seat", "llm_calls", "input_tokens", "output_tokens", "cost", "cost_complete")
    return [tuple(s[f] for f in fields) for s in seats]


def _seat_results(seats: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    fields = ("seat", "agent_id", "reward", "rank", "rating_change")
    return [tuple(s[f] for f in fields) for s in seats]


Reader = Callable[[Any, int], Any]  # (a command's JSON, the game or agent id) -> the value

# concept -> [(a command about game {id}, how to read the concept from its JSON)]
GAME_CONCEPTS: dict[str, list[tuple[list[str], Reader]]] = {
    "turns of the game": [
        (["game", "info", "{id}"], lambda v, _: v["turns"]),
        (["game", "replay", "{id}"], lambda v, _: len(v["turns"])),
        (["games", "list", "--limit", "10000"], lambda v, id: _row(v, "id", id)["turns"]),
    ],
    "usage of each seat": [
        (["game", "info", "{id}"], lambda v, _: _seat_usage(v["seats"])),
        (["game", "replay", "{id}"], lambda v, _: _seat_usage(v["seats"])),
    ],
    "result of each seat": [
        (["game", "info", "{id}"], lambda v, _: _seat_results(v["seats"])),
        (["game", "replay", "{id}"], lambda v, _: _seat_results(v["seats"])),
    ],
    "status and times": [
        (["game", "info", "{id}"], lambda v, _: (v["status"], v["started_at"], v["finished_at"])),
        (["game", "replay", "{id}"], lambda v, _: (v["status"], v["started_at"], v["finished_at"])),
        (
            ["games", "list", "--limit", "10000"],
            lambda v, id: (lambda r: (r["status"], r["started_at"], r["finished_at"]))(
                _row(v, "id", id)
            ),
        ),
    ],
}


def _overall_games(ratings: list[dict[str, Any]]) -> int:
    return next(r["games"] for r in ratings if r["system"] == "trueskill" and not r["game_type"])


# concept -> [(a command showing agent {id}, how to read the concept from its JSON)]
AGENT_CONCEPTS: dict[str, list[tuple[list[str], Reader]]] = {
    "rated games of the agent": [
        (["agents", "list", "--limit", "1000"], lambda v, id: _row(v, "id", id)["rated_games"]),
        (["agent", "info", "{id}"], lambda v, _: _overall_games(v["ratings"])),
        (
            ["agents", "top", "--method", "trueskill", "--limit", "1000"],
            lambda v, id: _row(v, "agent_id", id)["games"],
        ),
    ],
}


def _agree(read: Callable[..., Any], table: dict[str, Any], concept: str, id: int) -> None:
    values = {
        " ".join(command): reader(read(*[a.format(id=id) for a in command]), id)
        for command, reader in table[concept]
    }
    assert len({json.dumps(v) for v in values.values()}) == 1, (concept, id, values)


@pytest.mark.parametrize("concept", list(GAME_CONCEPTS))
def test_every_command_about_a_game_agrees(demo, concept):
    _agree(demo, GAME_CONCEPTS, concept, _busiest_game(demo))


@pytest.mark.parametrize("concept", list(AGENT_CONCEPTS))
def test_every_command_about_an_agent_agrees(demo, concept):
    agents = demo("agents", "list", "--limit", "1000")
    for agent in (a for a in agents if a["rated_games"]):
        _agree(demo, AGENT_CONCEPTS, concept, agent["id"])


def test_an_agents_win_rate_is_one_rule_on_every_board(demo):
    """Draws count half on the Bradley-Terry board, the online boards, the matrix's totals and
    the agent's profile alike (the online boards once divided wins alone by games)."""
    compared = 0
    for game_type in {r["game_type"] for r in demo("agents", "top", "--json")}:
        bt = {r["agent_id"]: r for r in demo("agents", "top", "-g", game_type)["rows"]}
        for method in ("trueskill", "openskill"):
            online = demo("agents", "top", "--method", method, "-g", game_type, "--limit", "1000")
            for row in online:
                board = bt[row["agent_id"]]
                assert (row["wins"], row["draws"], row["games"]) == (
                    board["wins"],
                    board["draws"],
                    board["games"],
                )
                assert row["win_rate"] == pytest.approx(board["win_rate"])
                compared += 1
        draws = [r for r in bt.values() if r["draws"]]
        for row in draws:
            profile = demo("agent", "info", str(row["agent_id"]))["ratings"]
            typed = next(r for r in profile if r["game_type"] == game_type)
            assert typed["win_rate"] == pytest.approx(
                (row["wins"] + row["draws"] / 2) / row["games"]
            )
    assert compared > 10


# ------------------------------------------------------------------------------- identifiers

# The one rule for ids in JSON: an object's own id is `id` (`agents list`, `agent info`, `games
# list`, `game info`); a reference to another object is named after what it points at and ends
# in `_id` (`agent_id` in a seat, a board row, a rating; `agent_a_id` / `agent_b_id` where two
# agents face each other). A bare `agent` (or `agent_a`, `game`, ...) never holds an id.
ENTITIES = ("agent", "game", "model", "prompt", "user", "conversation", "kind")


def _bare_references(value: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            name = key.removesuffix("_a").removesuffix("_b")
            if name in ENTITIES and isinstance(item, int) and not isinstance(item, bool):
                found.append(f"{path}.{key}")
            found += _bare_references(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            found += _bare_references(item, f"{path}[]")
    return found


def test_an_agents_own_id_is_id_and_a_reference_to_it_is_agent_id(demo):
    listed = demo("agents", "list", "--limit", "1000")
    agent = next(a for a in listed if a["rated_games"])
    info = demo("agent", "info", str(agent["id"]))
    assert info["id"] == agent["id"] and "agent_id" not in info
    pair = demo("ratings", "matrix")[0]
    outputs = {
        "agents list": listed,
        "agent info": info,
        "agents top": demo("agents", "top", "--rounds", "5"),
        "agents top trueskill": demo("agents", "top", "--method", "trueskill"),
        "game info": demo("game", "info", str(_busiest_game(demo))),
        "game replay": demo("game", "replay", str(_busiest_game(demo))),
        "ratings matrix": [pair],
        "ratings compare": demo(
            "ratings",
            "compare",
            str(pair["agent_a_id"]),
            str(pair["agent_b_id"]),
            "--game-type",
            pair["game_type"],
            "--rounds",
            "5",
        ),
    }
    assert {name: _bare_references(v) for name, v in outputs.items() if _bare_references(v)} == {}
    rows = outputs["agents top trueskill"] + outputs["agents top"][0]["rows"]
    assert all("agent_id" in row and "id" not in row for row in rows)
    assert all("agent_id" in seat for seat in outputs["game info"]["seats"])


# ------------------------------------------------------------------------------------ paging


def _limited() -> list[Any]:
    from tests.support.cli_tree import leaves

    return [
        pytest.param(leaf, id=leaf.name)
        for leaf in leaves()
        if any("--limit" in p.opts for p in leaf.params) and leaf.name != "export"
    ]


@pytest.mark.parametrize("leaf", _limited())
def test_every_page_is_bounded_by_the_one_page_rule(leaf):
    """A list's --limit stops at MAX_LIMIT in every command, refused by the parser in one way
    (not accepted by one command, exit 1 in another, exit 2 in a third)."""
    from arenadb.limits import MAX_LIMIT

    limit = next(p for p in leaf.params if "--limit" in p.opts)
    assert (limit.min, limit.max) == (1, MAX_LIMIT)
    result = runner.invoke(app, leaf.args_with(limit, str(MAX_LIMIT + 1)))
    assert result.exit_code == 2, result.output
    assert f"less than or equal to {MAX_LIMIT}" in result.stderr


def test_the_library_pages_refuse_in_one_way():
    """`paged` (the social reads) and `check_page` (games, agents, logs, search) are one rule."""
    import sqlalchemy as sa

    from arenadb.db.paging import paged
    from arenadb.errors import InvalidArgumentError
    from arenadb.limits import check_page

    for limit, offset in ((0, 0), (10_001, 0), (5, -1)):
        messages = []
        for check in (check_page, lambda lim, off: paged(sa.select(1), lim, off)):
            with pytest.raises(InvalidArgumentError) as error:
                check(limit, offset)
            messages.append(str(error.value))
        assert messages[0] == messages[1]


def test_every_paged_list_shows_the_one_default_page():
    """`agents list`, `conversation show`, `games list`, `search`, ... all show DEFAULT_LIMIT
    rows when no --limit is given (a board's top N, `agents top`, is not a page)."""
    from arenadb.limits import DEFAULT_LIMIT
    from tests.support.cli_tree import leaves

    defaults = {
        leaf.name: next(p for p in leaf.params if "--limit" in p.opts).default
        for leaf in leaves()
        if {"--limit", "--offset"} <= {flag for p in leaf.params for flag in p.opts}
    }
    assert {"agents list", "conversation show", "games list", "search"} <= defaults.keys()
    assert {name: d for name, d in defaults.items() if d != DEFAULT_LIMIT} == {}


# Not pages: a board's top N, and how many points a web chart draws.
NOT_PAGES = {
    "arenadb.cli.commands.agents.top",
    "arenadb.ratings.leaderboard.top_agents",
    "arenadb.ratings.leaderboard.online_board",
    "arenadb.web.svg._downsample",
}


def test_every_library_read_pages_by_the_one_default():
    """The library's reads default to the CLI's page (`limit=DEFAULT_LIMIT`), found by walking
    the package: a new read with its own default fails here."""
    import importlib
    import inspect
    import pkgutil

    import arenadb
    from arenadb.limits import DEFAULT_LIMIT

    differing = {}
    for module_info in pkgutil.walk_packages(arenadb.__path__, "arenadb."):
        if module_info.name.endswith("__main__"):
            continue
        try:
            module = importlib.import_module(module_info.name)
        except ImportError:  # an optional extra (the web view) that is not installed
            continue
        for item in vars(module).values():
            functions = [item] if inspect.isfunction(item) else []
            if inspect.isclass(item):
                functions = [f for f in vars(item).values() if inspect.isfunction(f)]
            for function in functions:
                if function.__module__ != module_info.name:
                    continue
                limit = inspect.signature(function).parameters.get("limit")
                default = None if limit is None else limit.default
                name = f"{module_info.name}.{function.__qualname__}"
                if isinstance(default, int) and default != DEFAULT_LIMIT and name not in NOT_PAGES:
                    differing[name] = default
    assert differing == {}


def _default(command: list[str], flag: str) -> Any:
    from tests.support.cli_tree import leaves

    leaf = next(leaf for leaf in leaves() if list(leaf.path) == command)
    return next(p for p in leaf.params if flag in p.opts).default


def _web_queries() -> Any:
    pytest.importorskip("starlette")
    from arenadb.web import data

    return data


# query-string field of a web page -> the CLI command and option it stands for
WEB_TWINS = [
    ("GamesQuery", "limit", ["games", "list"], "--limit"),
    ("GamesQuery", "offset", ["games", "list"], "--offset"),
    ("BoardQuery", "limit", ["agents", "top"], "--limit"),
    ("BoardQuery", "min_games", ["agents", "top"], "--min-games"),
    ("BoardQuery", "rounds", ["agents", "top"], "--rounds"),
    ("BoardQuery", "seed", ["agents", "top"], "--seed"),
    ("BoardQuery", "provisional_games", ["agents", "top"], "--provisional-games"),
]


@pytest.mark.parametrize(("query", "field", "command", "flag"), WEB_TWINS)
def test_the_web_query_defaults_and_bounds_are_the_cli_options(query, field, command, flag):
    from tests.support.cli_tree import leaves

    parse = getattr(_web_queries(), query).parse
    assert getattr(parse({}), field) == _default(command, flag)
    leaf = next(leaf for leaf in leaves() if list(leaf.path) == command)
    option = next(p for p in leaf.params if flag in p.opts)
    for refused in (option.min - 1, option.max + 1):  # what the CLI refuses, the web refuses
        with pytest.raises(InvalidArgumentError, match=field):
            parse({field: str(refused)})


# ------------------------------------------------------------------------- unknown cost


def test_a_game_without_llm_calls_has_an_unknown_cost_everywhere(engine, cli_env):
    """No call logged: the cost is unknown, never complete, for the game as for its seats
    (the rule of SeatInfo and of the leaderboard's agent cost)."""
    from tests.support.arena_factory import ArenaFactory

    factory = ArenaFactory(engine)
    game = factory.game(factory.game_type(), [factory.agent(), factory.agent()])
    result = runner.invoke(app, ["game", "info", str(game), "--json"], env=cli_env)
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    costs = {(info["cost"], info["cost_complete"])}
    costs |= {(s["cost"], s["cost_complete"]) for s in info["seats"]}
    assert costs == {(None, False)}


# ------------------------------------------------------------------------------ time options

AGES = ["90s", "15m", "12h", "7d", "2w", " 3D "]


def _time_parameters(*kinds: str) -> list[Any]:
    from tests.support.cli_tree import kind_of, leaves

    return [
        pytest.param(leaf, param, id=f"{leaf.name} {param.name}")
        for leaf in leaves()
        for param in leaf.params
        if kind_of(leaf, param) in kinds
    ]


@pytest.mark.parametrize(("leaf", "param"), _time_parameters("time", "float"))
def test_every_time_and_duration_option_reads_the_same_ages(leaf, param):
    """`--since 7d`, `clean --before 90d` and `engines mark-stale --older-than 15m` are one
    spelling (arenadb.ages), whether the option is a point in time or a duration."""
    if leaf.name == "models prices set" and param.name != "effective_from":
        pytest.skip("dollars, not a duration")
    for age in AGES:
        args = leaf.args_with(param, age)[len(leaf.path) :]
        parsed = leaf.command.make_context(leaf.name, args).params[param.name]
        assert parsed is not None, (leaf.name, param.name, age)


def test_every_command_with_a_start_time_has_an_end_time():
    from tests.support.cli_tree import leaves

    for leaf in leaves():
        flags = {flag for p in leaf.params for flag in p.opts}
        if "--since" in flags:
            assert "--until" in flags, leaf.name


# ---------------------------------------------------------------------------- output formats

# Every command that prints a list of rows: each offers --json and --csv (arenadb.cli.options).
LISTS = [
    "games list",
    "game replay",
    "search",
    "agents list",
    "agents top",
    "ratings matrix",
    "models stats",
    "conversations list",
    "conversation show",
    "knowledge list",
    "events list",
    "engines list",
    "logs system",
    "logs execution",
    "db stats",
    "migrate history",
]


def test_every_list_offers_json_and_csv():
    from arenadb.cli.options import formats_of
    from tests.support.cli_tree import leaves

    by_name = {leaf.name: leaf for leaf in leaves()}
    for name in LISTS:
        assert formats_of(by_name[name].command) == {"json", "csv"}, name
    paged = {n for n, leaf in by_name.items() if any("--limit" in p.opts for p in leaf.params)}
    assert paged - {"export"} <= set(LISTS), "a command with --limit prints a list: add it"


# A board's top N is not a list one pages through (its web page has no offset either).
UNPAGED = {"agents top", "export"}


def test_every_paged_list_takes_limit_and_offset():
    from tests.support.cli_tree import leaves

    for leaf in leaves():
        flags = {flag for p in leaf.params for flag in p.opts}
        if "--limit" in flags and leaf.name not in UNPAGED:
            assert "--offset" in flags, leaf.name


# list -> how to read its rows from its JSON
PAGED_LISTS: list[tuple[list[str], Callable[[Any], list[Any]]]] = [
    (["games", "list"], lambda v: v),
    (["agents", "list"], lambda v: v),
    (["search", "the"], lambda v: v),
    (["conversations", "list"], lambda v: v),
    (["conversation", "show", "1"], lambda v: v["messages"]),
    (["knowledge", "list"], lambda v: v),
    (["events", "list"], lambda v: v),
    (["logs", "system"], lambda v: v),
    (["logs", "execution"], lambda v: v),
]


@pytest.mark.parametrize(
    ("command", "rows"), PAGED_LISTS, ids=[" ".join(c) for c, _ in PAGED_LISTS]
)
def test_pages_of_every_list_follow_each_other(demo, command, rows):
    """--limit/--offset cut one order into pages: two pages of 2 are the first 4 rows."""
    first_four = rows(demo(*command, "--limit", "4"))
    pages = rows(demo(*command, "--limit", "2")) + rows(
        demo(*command, "--limit", "2", "--offset", "2")
    )
    assert pages == first_four


def test_every_game_type_option_is_spelled_alike():
    """`games list --type X`, `agents top -g X` and `ratings matrix --game-type X` all work."""
    from tests.support.cli_tree import leaves

    spellings = {
        leaf.name: set(p.opts) for leaf in leaves() for p in leaf.params if p.name == "game_type"
    }
    assert len(spellings) >= 6, spellings
    assert all(opts == {"--game-type", "--type", "-g"} for opts in spellings.values()), spellings


# ------------------------------------------------------------------------------------ costs


def test_cost_agrees_between_game_info_models_stats_and_the_leaderboard(demo):
    """The cost of the same calls, summed three ways: per model (`models stats`), per seat of
    each game (`game info`) and per agent over a board's games (`agents top`)."""
    import collections

    games = demo("games", "list", "--limit", "10000")
    by_model: dict[str, float] = collections.defaultdict(float)
    by_board: dict[tuple[str, int], float] = collections.defaultdict(float)
    for game in games:
        for seat in demo("game", "info", str(game["id"]))["seats"]:
            by_model[seat["model"]] += seat["cost"] or 0.0
            if game["rated"] and game["status"] == "completed":
                by_board[(game["type"], seat["agent_id"])] += seat["cost"] or 0.0
    for model in demo("models", "stats"):
        assert (model["cost"] or 0.0) == pytest.approx(by_model[model["model"]]), model["model"]
    for board in demo("agents", "top", "--rounds", "5", "--limit", "1000"):
        for row in board["rows"]:
            expected = by_board[(board["game_type"], row["agent_id"])]
            assert (row["cost"] or 0.0) == pytest.approx(expected), (board["game_type"], row)


# ----------------------------------------------------------------------------------- order

# Lists of records (things that happen) are newest first; catalogues (agents, knowledge) go by id.
NEWEST_FIRST = [
    ["games", "list"],
    ["conversations", "list"],
    ["events", "list"],
    ["logs", "system"],
]


@pytest.mark.parametrize("command", NEWEST_FIRST, ids=[" ".join(c) for c in NEWEST_FIRST])
def test_every_list_of_records_is_newest_first(demo, command):
    ids = [row["id"] for row in demo(*command, "--limit", "100")]
    assert ids == sorted(ids, reverse=True)
