"""Safe by construction: read-only connections, escaping, the CSP, the token, the bind rule."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from arenadb.cli import app
from tests.support.arena_factory import ArenaFactory
from tests.web.conftest import client_for

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
EVIL = f"{SCRIPT}{IMG}"
runner = CliRunner()


# ------------------------------------------------------------------------------ read-only


def test_a_write_through_the_apps_engine_fails(db_settings, engine):
    factory = ArenaFactory(engine)
    type_id = factory.game_type("Blotto-v0")
    factory.game(type_id, [factory.agent("a"), factory.agent("b")])
    with client_for(db_settings) as client:
        web_engine = client.app.state.web.engine
        assert client.get("/games.json").json()  # it reads
        for statement in ("DELETE FROM games", "UPDATE agents SET alias = 'x'"):
            with pytest.raises(sa.exc.DBAPIError) as failure, web_engine.connect() as conn:
                conn.execute(sa.text(statement))
                conn.commit()
            assert re.search(r"read.?only", str(failure.value), re.IGNORECASE)
        with web_engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                assert conn.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "on"
                assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
            else:
                assert conn.exec_driver_sql("PRAGMA query_only").scalar() == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM games")).scalar() == 1


def test_there_is_no_endpoint_that_writes(db_settings):
    with client_for(db_settings) as client:
        for path in ("/", "/games", "/games/1", "/models"):
            assert client.post(path).status_code == 405
            assert client.delete(path).status_code == 405


# ------------------------------------------------------------------------------ escaping


@pytest.fixture
def evil_arena(engine):
    """An agent alias, a game type, an LLM's action and observation, a crash message and an
    LLM error, each holding markup an attacker would try."""
    factory = ArenaFactory(engine)
    type_id = factory.game_type(f"Evil{EVIL}-v0")
    model_id = factory.model(f"model{EVIL}")
    evil = factory.agent(f"alias{EVIL}", model_id=model_id)
    plain = factory.agent("plain")
    games = [
        factory.game(
            type_id,
            [evil, plain],
            sides=["red", "blue"],
            turns=[("day", 0, f"I say {EVIL}", False), ("day", 1, "fine", True)],
            error=f"crash {EVIL}" if i == 0 else None,
            crashed=i == 0,  # one crash page; the others are rated
            llm_calls=[{"seat": 0, "error": f"boom {EVIL}", "status": "error", "latency_ms": 5}],
            rating_changes=[(0, 1.0), (1, -1.0)],
        )
        for i in range(3)
    ]
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE game_turns SET observation = :o"), {"o": f"you see {EVIL}"})
    return games[0], evil, f"Evil{EVIL}-v0"


def _assert_escaped(html: str) -> None:
    assert "<script>" not in html
    assert "<img" not in html
    assert "onerror=alert(1)>" not in html  # no attribute broke out of its quotes
    assert "&lt;script&gt;" in html or "&#60;script&#62;" in html


def test_markup_from_the_database_shows_as_text(db_settings, evil_arena):
    game, agent, game_type = evil_arena
    with client_for(db_settings) as client:
        pages = [
            "/?rounds=20",
            f"/leaderboard/{game_type}?rounds=20",
            "/games",
            f"/games/{game}",
            f"/games/{game}?turns=1",
            f"/games/{game}/replay",
            f"/games/{game}/replay?seat=0",
            f"/agents/{agent}",
            "/models",
        ]
        for path in pages:
            page = client.get(path)
            assert page.status_code == 200, (path, page.text)
            _assert_escaped(page.text)
        replay = client.get(f"/games/{game}/replay").text
        assert "I say &lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img" in replay
        board = client.get("/?rounds=20").text
        svg = board[board.index("<svg") : board.index("</svg>")]
        assert "alias&lt;script&gt;" in svg  # the forest plot's labels, in SVG, escaped too
        # The JSON twin keeps the text as it is (JSON, served as application/json).
        data = client.get(f"/games/{game}/replay.json")
        assert data.headers["content-type"].startswith("application/json")
        assert EVIL in data.json()["turns"][0]["action"]


def test_every_response_has_a_strict_csp(db_settings):
    with client_for(db_settings) as client:
        for path in ("/", "/games", "/games/999.json", "/nope", "/static/style.css", "/login"):
            response = client.get(path)
            csp = response.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "script-src 'none'" in csp
            assert "unsafe-inline" not in csp
            assert response.headers["x-content-type-options"] == "nosniff"
        page = client.get("/games").text
        assert "<script" not in page and " style=" not in page


# ------------------------------------------------------------------------------ the token

TOKEN = "correct-horse-battery-staple"


def test_without_the_token_nothing_is_shown(db_settings):
    with client_for(db_settings, token=TOKEN) as client:
        for path in ("/", "/games.json", "/games/1", "/models"):
            response = client.get(path, headers={"accept": "text/html"})
            assert response.status_code == 401
            assert TOKEN not in response.text
        assert client.get("/games.json").json() == {"error": "a token is required"}
        wrong = client.get("/games.json", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert client.get("/login").status_code == 200
        assert client.get("/static/style.css").status_code == 200


def test_a_bearer_token_opens_every_page(db_settings):
    with client_for(db_settings, token=TOKEN) as client:
        headers = {"authorization": f"Bearer {TOKEN}"}
        assert client.get("/games.json", headers=headers).status_code == 200
        assert client.get("/models", headers=headers).status_code == 200


def test_the_login_form_sets_a_strict_httponly_cookie(db_settings):
    with client_for(db_settings, token=TOKEN) as client:
        wrong = client.post("/login", data={"token": "guess", "next": "/games"})
        assert wrong.status_code == 401 and "wrong token" in wrong.text
        assert "guess" not in wrong.text
        response = client.post(
            "/login", data={"token": TOKEN, "next": "/games"}, follow_redirects=False
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/games"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert TOKEN not in cookie  # an HMAC of it
        assert client.get("/games").status_code == 200  # the client kept the cookie
        assert TOKEN not in client.get("/games").text
        outside = client.post(
            "/login", data={"token": TOKEN, "next": "//evil.example/"}, follow_redirects=False
        )
        assert outside.headers["location"] == "/"
        client.post("/logout")
        client.cookies.clear()
        assert client.get("/games", headers={"accept": "text/html"}).status_code == 401


# ------------------------------------------------------------------- the command line


def test_a_non_loopback_bind_without_a_token_is_refused(db_settings):
    env = {"ARENADB_DATABASE_URL": db_settings.database_url}
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0"], env=env)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "refusing to serve on 0.0.0.0 without a token" in result.stderr
    empty = runner.invoke(app, ["serve", "--token", " "], env=env)
    assert empty.exit_code == 2 and "token is empty" in empty.stderr


def test_loopback_addresses_need_no_token():
    from arenadb.web.serving import check_bind, is_loopback

    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback(host)
        check_bind(host, None)
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.org"):
        assert not is_loopback(host)
        check_bind(host, TOKEN)


def test_without_the_web_extra_one_line_says_how_to_install(db_settings, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "uvicorn" else real(name, *a),
    )
    env = {"ARENADB_DATABASE_URL": db_settings.database_url}
    result = runner.invoke(app, ["serve"], env=env)
    assert result.exit_code == 1
    assert result.stderr == "error: arenadb serve needs uvicorn: pip install 'arenadb[web]'\n"


def test_a_missing_database_is_one_line_and_nothing_is_created(tmp_path):
    target = tmp_path / "absent.db"
    result = runner.invoke(app, ["serve"], env={"ARENADB_DATABASE_URL": f"sqlite:///{target}"})
    assert result.exit_code == 1
    assert "does not exist" in result.stderr and result.stderr.count("\n") == 1
    assert not target.exists()


def test_a_password_is_never_shown(pg_server):
    from arenadb.config import parse_url
    from tests.conftest import settings_for

    url = parse_url(pg_server.database_url)
    secret = "s3cr3t-pw"
    bad = settings_for(
        url.with_database("arenadb_absent_web").render().replace("postgres@", f"postgres:{secret}@")
    )
    with client_for(bad) as client:
        for path in ("/", "/games.json", "/games/1"):
            response = client.get(path)
            assert response.status_code in (500, 503)
            assert secret not in response.text


def test_only_the_allowed_host_names_are_served(db_settings):
    """Bound to loopback, a rebinding attacker's name in the Host header gets nothing."""
    hosts = ["127.0.0.1", "localhost", "::1"]
    with client_for(db_settings, allowed_hosts=hosts) as client:
        for host in ("127.0.0.1:8765", "localhost", "[::1]:8765"):
            assert client.get("/games.json", headers={"host": host}).status_code == 200
        evil = client.get("/games.json", headers={"host": "attacker.example:8765"})
        assert evil.status_code == 400 and evil.json() == {"error": "unknown host"}
        assert "script-src 'none'" in evil.headers["content-security-policy"]


def _url(settings) -> list[str]:
    return ["--database-url", settings.database_url]


def test_seen_by_a_seat_is_the_same_view_everywhere_and_hides_what_it_was_not_shown(db_settings):
    """A villager's view (CLI `--as-seat`, the page, its JSON twin) holds neither the Mafia's
    private turn nor what another seat was shown on its own turn (its observation, its role)."""
    import json

    import arenadb

    with arenadb.connect(settings=db_settings) as arena:
        seats = [
            arena.register_agent(model="m", kind="plain", prompt=("p", f"prompt {n}"))
            for n in range(3)
        ]
        game = arena.start_game("Mafia-v0", seats)
        game.record_turn(seat=None, observation="Night falls.")
        game.record_turn(
            seat=0, action="kill 2", observation="you are MAFIA-SECRET-ROLE", recipients=[0, 1]
        )
        game.record_turn(seat=1, action="vote 2", observation="OWN-VIEW-OF-ONE")
        game.record_turn(seat=2, action="I am the doctor", observation="DOCTOR-SECRET-ROLE")
        game.record_turn(seat=None, observation="MAFIA-ONLY-CHAT", recipients=[0, 1])
        game.finish(outcome="draw")
        game_id = game.game_id
    cli = CliRunner().invoke(
        app,
        [*_url(db_settings), "game", "replay", str(game_id), "--as-seat", "1", "--json"],
    )
    assert cli.exit_code == 0, cli.output
    with client_for(db_settings) as client:
        page = client.get(f"/games/{game_id}/replay?seat=1").text
        twin = client.get(f"/games/{game_id}/replay.json?seat=1").json()
        everyone = client.get(f"/games/{game_id}/replay.json").json()
    assert twin == json.loads(cli.stdout)
    shown = [(t["seat"], t["action"], t["observation"]) for t in twin["turns"]]
    assert shown == [
        (None, None, "Night falls."),
        (0, "kill 2", None),
        (1, "vote 2", "OWN-VIEW-OF-ONE"),
        (2, "I am the doctor", None),
        (None, None, "MAFIA-ONLY-CHAT"),
    ]
    twin_two = CliRunner().invoke(
        app,
        [*_url(db_settings), "game", "replay", str(game_id), "--as-seat", "2", "--json"],
    )
    two = [(t["seat"], t["observation"]) for t in json.loads(twin_two.stdout)["turns"]]
    assert two == [(None, "Night falls."), (1, None), (2, "DOCTOR-SECRET-ROLE")]
    for secret in ("MAFIA-SECRET-ROLE", "DOCTOR-SECRET-ROLE"):
        assert secret not in page and secret not in json.dumps(twin)
    assert "OWN-VIEW-OF-ONE" in page and "kill 2" in page
    assert len(everyone["turns"]) == 5 and "DOCTOR-SECRET-ROLE" in json.dumps(everyone)
