"""Every numeric, time and path parameter of every command takes only what makes sense, and
says so in one usage line: the whole class, found by walking the command tree (a new command or
option is covered without being listed here)."""

from __future__ import annotations

from collections import Counter

import pytest
from typer.testing import CliRunner

from arenadb.catalog.refs import ID_MAX as LIBRARY_ID_MAX
from arenadb.cli import app
from arenadb.cli.options import ID_MAX
from tests.support.cli_tree import kind_of, leaves

runner = CliRunner()

BAD_INTEGERS = ["1" * 30, "9" * 3000, "²", "١٢", "-1", "nan", "1e3", ""]
BAD_SECONDS = ["nan", "inf", "-inf", "NaN", "0", "-100", "1e308", "١٢"]
BAD_TIMES = [
    "99999999999999d",
    "9999999999w",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "nan",
    "١٢d",
    "",
]


def _parameters(*kinds: str) -> list[tuple[str, object, object]]:
    return [
        pytest.param(leaf, param, id=f"{leaf.name} {param.name}")
        for leaf in leaves()
        for param in leaf.params
        if kind_of(leaf, param) in kinds
    ]


def test_the_walk_finds_the_whole_class():
    """Every parameter has a kind, every number its bounds; the counts guard the walk itself."""
    kinds = Counter(kind_of(leaf, p) for leaf in leaves() for p in leaf.params)
    assert kinds["int"] >= 20 and kinds["float"] >= 2 and kinds["time"] >= 5, kinds
    assert kinds["output"] == 2 and kinds["input"] == 1, kinds
    for leaf in leaves():
        for param in leaf.params:
            if kind_of(leaf, param) in ("int", "float"):
                assert param.min is not None and param.max is not None, (leaf.name, param.name)
                assert -ID_MAX <= param.min <= param.max <= ID_MAX, (leaf.name, param.name)
    assert ID_MAX == LIBRARY_ID_MAX


def _assert_usage_line(result, name: str) -> None:
    assert result.exit_code == 2, (name, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (name, result.stderr)
    assert "internal error" not in result.stderr and "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize(("leaf", "param"), _parameters("int"))
def test_every_integer_refuses_huge_negative_and_foreign_digits(cli_env, leaf, param):
    for value in BAD_INTEGERS:
        if value == "-1" and param.min < 0:
            continue
        result = runner.invoke(app, leaf.args_with(param, value), env=cli_env)
        _assert_usage_line(result, f"{leaf.name} {param.name}={value[:20]!r}")


@pytest.mark.parametrize(("leaf", "param"), _parameters("float"))
def test_every_number_refuses_nan_inf_zero_and_negative(cli_env, leaf, param):
    for value in BAD_SECONDS:
        if value.isascii() and param.min <= float(value) <= param.max:
            continue  # in this option's range (a price of 0 is a free model)
        result = runner.invoke(app, leaf.args_with(param, value), env=cli_env)
        _assert_usage_line(result, f"{leaf.name} {param.name}={value!r}")
        # Said in words: a nan is no number (not "should be less than or equal to N").
        no_number = value.lower() == "nan" or not value.isascii()
        wanted = "is not a number" if no_number else "must be from "
        assert wanted in result.stderr, (leaf.name, param.name, value, result.stderr)


@pytest.mark.parametrize(("leaf", "param"), _parameters("time"))
def test_every_time_refuses_what_no_calendar_holds(cli_env, leaf, param):
    for value in BAD_TIMES:
        result = runner.invoke(app, leaf.args_with(param, value), env=cli_env)
        _assert_usage_line(result, f"{leaf.name} {param.name}={value!r}")
        assert "'--" in result.stderr  # the option is named


@pytest.mark.parametrize(("leaf", "param"), _parameters("output"))
def test_every_output_refuses_a_directory_proc_and_a_missing_folder(cli_env, leaf, param, tmp_path):
    folder = tmp_path / "outputs"
    folder.mkdir()
    for value in [str(folder), "/proc/arenadb-out", "/proc/self/status", "/nonexistent/x"]:
        for force in ([], ["--force"]):
            args = leaf.args_with(param, value)
            args[len(leaf.path) : len(leaf.path)] = force
            result = runner.invoke(app, args, env=cli_env)
            assert result.exit_code in (1, 2), (value, force, result.output)
            lines = result.stderr.splitlines()
            assert len(lines) == 1 and value in lines[0], (value, force, result.stderr)
            assert "internal error" not in result.stderr and result.stdout == ""
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(("leaf", "param"), _parameters("input"))
def test_every_input_refuses_a_directory_proc_and_a_missing_file(cli_env, leaf, param, tmp_path):
    for value in [str(tmp_path), "/proc/self/mem", str(tmp_path / "missing.jsonl")]:
        result = runner.invoke(app, leaf.args_with(param, value), env=cli_env)
        assert result.exit_code in (1, 2), (value, result.output)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and value in lines[0], (value, result.stderr)
        assert "internal error" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["game", "info", "1" * 33],  # 20 to 32 digits are a UUID prefix: not found
        ["game", "info", "²"],
        ["agent", "info", "9" * 25],
        ["games", "list", "--agent", "1" * 30],
        ["games", "list", "--type", "1" * 30],
        ["games", "list", "--model", "1" * 30],
        ["export", "-o", "x.jsonl", "--agent", "1" * 30],
    ],
)
def test_a_reference_past_any_id_is_a_usage_error(cli_env, args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args, env=cli_env)
    _assert_usage_line(result, " ".join(args))
    assert any(t in result.stderr for t in ("is not an id", "is not a game id", "²"))
