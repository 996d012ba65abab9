"""The pages: each view calls the library as the matching CLI command does and returns
(the JSON twin's value, the template, its context). See `route_pair` in app.py.

    /                      every Bradley-Terry board       arenadb agents top --json
    /leaderboard/{type}    one board                       arenadb agents top -g TYPE --json
    /games                 games, newest first, filtered   arenadb games list --json
    /games/{ref}           one game                        arenadb game info REF --json
    /games/{ref}/replay    turn by turn                    arenadb game replay REF --json
    /agents/{ref}          one agent                       arenadb agent info REF --json
    /models                LLM usage                       arenadb models stats --json
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from arenadb.web import auth, data
from arenadb.web.svg import Interval, bar_chart, forest_plot, line_chart
from arenadb.web.views import WebState, json_response, route_pair

View = tuple[Any, str, dict[str, Any]]


def _query(request: Request) -> dict[str, str]:
    return dict(request.query_params)


def _forest(board: Any) -> Any:
    rows = [
        Interval(
            label=r.alias or f"agent {r.agent_id}",
            estimate=r.rating,
            low=r.ci_low,
            high=r.ci_high,
            provisional=r.provisional,
            href=f"/agents/{r.agent_id}",
        )
        for r in board.rows
    ]
    return forest_plot(rows, caption=f"{board.game_type}: ratings with 95% intervals")


def boards_view(request: Request, web: WebState) -> View:
    options = data.BoardQuery.parse(_query(request))
    cached = data.boards(web.cache, web.engine, None, options)
    boards = cached.value
    charts = [_forest(b) for b in boards]
    context = {"boards": list(zip(boards, charts, strict=True)), "options": options.params()}
    return cached.plain, "boards.html", context


def leaderboard_view(request: Request, web: WebState) -> View:
    game_type = request.path_params["game_type"]
    options = data.BoardQuery.parse(_query(request))
    cached = data.boards(web.cache, web.engine, game_type, options)
    boards = cached.value
    value = cached.plain[0] if boards else []
    context = {
        "boards": [(b, _forest(b)) for b in boards],
        "game_type": game_type,
        "options": options.params(),
    }
    return value, "leaderboard.html", context


def games_view(request: Request, web: WebState) -> View:
    from arenadb.inspection.games import list_games

    query = data.GamesQuery.parse(_query(request))
    games = list_games(web.engine, query.game_filter(), limit=query.limit, offset=query.offset)
    previous = None
    if query.offset > 0:
        previous = query.params(offset=max(query.offset - query.limit, 0))
    following = (
        query.params(offset=query.offset + query.limit) if len(games) == query.limit else None
    )
    context = {"games": games, "query": query, "previous": previous, "following": following}
    return data.plain(games), "games.html", context


def game_view(request: Request, web: WebState) -> View:
    from arenadb.cli.render.games import game_detail_object
    from arenadb.inspection.games import game_info

    turns = data.query_flag(_query(request), "turns")
    detail = game_info(web.engine, request.path_params["ref"], with_turns=turns)
    return game_detail_object(detail), "game.html", {"game": detail}


def replay_view(request: Request, web: WebState) -> View:
    from arenadb.inspection.replay import game_replay

    # The seat's view is the library's (`as_seen_by`), as `game replay --as-seat` shows it: the
    # page and its JSON twin never hold a turn or an observation that seat was not shown.
    seat = data.query_int(_query(request), "seat", None)
    replay = game_replay(web.engine, request.path_params["ref"], observations=True, as_seat=seat)
    rounds: dict[tuple[int, str | None], list[Any]] = defaultdict(list)
    for turn in replay.turns:
        rounds[(turn.turn_number, turn.phase)].append(turn)
    context = {
        "game": replay,
        "seat": seat,
        "rounds": list(rounds.items()),
        "by_seat": {s.seat: s for s in replay.seats},
    }
    return data.plain(replay), "replay.html", context


def agent_view(request: Request, web: WebState) -> View:
    query = _query(request)
    cached = data.agent(
        web.cache,
        web.engine,
        request.path_params["ref"],
        query.get("system") or "trueskill",
        data.query_int(query, "recent", 10) or 0,
    )
    profile = cached.value
    chart = line_chart(
        profile.trajectory,
        caption=f"{profile.trajectory_system} score (mu - 3 sigma) after each rated game",
        x_label=f"rated games ({len(profile.trajectory)})",
    )
    return cached.plain, "agent.html", {"agent": profile, "chart": chart}


CHARTS = [
    # (title, value of a day's rows, unit)
    ("calls per day", lambda rows: sum(r.calls for r in rows), ""),
    ("errors per day", lambda rows: sum(r.errors for r in rows), ""),
    (
        "tokens per day (input + output)",
        lambda rows: sum(r.input_tokens + r.output_tokens for r in rows),
        "",
    ),
    ("cost per day", lambda rows: sum(r.cost for r in rows), "$"),
    ("mean latency per day (ms)", lambda rows: _mean_latency(rows), ""),
]


def _mean_latency(rows: list[Any]) -> float:
    known = [(r.latency_mean_ms, r.calls) for r in rows if r.latency_mean_ms is not None]
    weight = sum(calls for _, calls in known)
    return sum(mean * calls for mean, calls in known) / weight if weight else 0.0


def models_view(request: Request, web: WebState) -> View:
    stats, days = data.models(web.cache, web.engine)
    by_day: dict[str, list[Any]] = defaultdict(list)
    for row in days.value:
        by_day[row.day].append(row)
    labels = list(by_day)
    charts = [
        (title, bar_chart(labels, [value(by_day[d]) for d in labels], caption=title, unit=unit))
        for title, value, unit in CHARTS
    ]
    return stats.plain, "models.html", {"models": stats.value, "charts": charts}


def daily_twin(request: Request) -> Response:
    web: WebState = request.app.state.web
    _stats, days = data.models(web.cache, web.engine)
    return json_response(days.plain)


async def login_page(request: Request) -> Response:
    web: WebState = request.app.state.web
    target = auth.safe_next(request.query_params.get("next"))
    return web.render(request, "login.html", next=target, message=None)


async def login(request: Request) -> Response:
    import hmac

    web: WebState = request.app.state.web
    given, target = await auth.read_login_form(request)
    if web.token is None:  # nothing to log in to
        return RedirectResponse(auth.safe_next(target), status_code=303)
    if not hmac.compare_digest(given.encode(), web.token.encode()):
        return web.render(request, "login.html", 401, next=target, message="wrong token")
    return auth.logged_in(web.token, target)


async def favicon(request: Request) -> Response:
    """Browsers ask for it on JSON pages too (no <link rel=icon> there)."""
    from arenadb.web.views import HERE

    return Response((HERE / "static" / "favicon.svg").read_bytes(), media_type="image/svg+xml")


async def logout(request: Request) -> Response:
    return auth.logged_out()


def routes() -> list[BaseRoute]:
    pages: list[BaseRoute] = [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Route("/models/daily.json", daily_twin, methods=["GET"]),
        *route_pair("/", boards_view),
        Route("/.json", route_pair("/", boards_view)[0].endpoint, methods=["GET"]),
        *route_pair("/leaderboard/{game_type:path}", leaderboard_view),
        *route_pair("/games", games_view),
        *route_pair("/games/{ref}/replay", replay_view),
        *route_pair("/games/{ref}", game_view),
        *route_pair("/agents/{ref}", agent_view),
        *route_pair("/models", models_view),
    ]
    return pages
