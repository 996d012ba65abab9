"""The renderers: one size formatter, one progress protocol (library side and bar)."""

from __future__ import annotations

from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.cli.render.progress import progress_bar
from arenadb.cli.render.tables import human_size, one_line, sparkline

runner = CliRunner()


def test_human_size_uses_binary_units():
    assert human_size(None) == ""
    assert human_size(0) == "0 B"
    assert human_size(1023) == "1,023 B"
    assert human_size(1536) == "1.5 KiB"
    assert human_size(5 * 1024**2) == "5.0 MiB"
    assert human_size(3 * 1024**3) == "3.0 GiB"
    assert human_size(2 * 1024**5) == "2,048.0 TiB"


def test_no_bar_without_a_terminal():
    # The library then skips the counting it would do for a bar.
    with progress_bar("exporting") as bar:
        assert bar is None


def test_long_operations_report_through_the_one_protocol(db_settings, engine, tmp_path):
    from arenadb.portability.copy import copy_database
    from arenadb.portability.export import export_games
    from arenadb.portability.importing import import_games
    from arenadb.ratings.book import rebuild_ratings

    assert (
        runner.invoke(
            app, ["--database-url", db_settings.database_url, "seed", "--env", "test"]
        ).exit_code
        == 0
    )
    calls: list[tuple[str, int, int]] = []

    def record(what: str, done: int, total: int) -> None:
        calls.append((what, done, total))

    exported = tmp_path / "games.jsonl"
    result = export_games(engine, exported, progress=record)
    assert calls[-1] == ("games", result.games, result.games) and result.games > 0

    calls.clear()
    import_games(engine, exported, progress=record)
    size = exported.stat().st_size
    assert calls[-1] == ("bytes", size, size)

    calls.clear()
    rebuilt = rebuild_ratings(engine, progress=record)
    assert calls[-1] == ("rated games", rebuilt.games, rebuilt.games)

    calls.clear()
    target = db_settings.with_url(f"sqlite:///{tmp_path / 'copy.db'}", origin="test")
    copy_database(db_settings, target, progress=record)
    tables = {what for what, _done, _total in calls}
    assert {"games", "agents"} <= tables
    assert all(isinstance(done, int) and isinstance(total, int) for _w, done, total in calls)


def test_sqlite_backup_reports_pages(tmp_path):
    from arenadb.config import load_settings
    from arenadb.portability.upkeep import backup_database

    url = f"sqlite:///{tmp_path / 'arena.db'}"
    assert runner.invoke(app, ["--database-url", url, "init"]).exit_code == 0
    calls: list[tuple[str, int, int]] = []
    backup_database(load_settings(url), tmp_path / "arena.bak", progress=lambda *c: calls.append(c))
    assert calls and {what for what, _d, _t in calls} == {"pages"}
    assert calls[-1][1] == calls[-1][2] > 0


# Moved from test_ratings_cli.py with sparkline itself (commands/agents.py -> render/tables.py).
def test_sparkline():
    assert sparkline([]) == ""
    assert sparkline([1, 2, 3]) == "▁▅█"
    assert sparkline([5, 5]) == "▁▁"
    assert len(sparkline(list(range(500)), width=40)) == 40


def test_one_line():
    assert one_line("a\n  b") == "a b"
    assert one_line("x" * 100, width=10) == "x" * 9 + "…"
