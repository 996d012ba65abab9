"""The parser's own errors read like ours: one stderr line, exit 2, no Rich box; completion
is offered on the root only, and works."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.cli.app import COMMANDS, load_command
from arenadb.cli.options import leaf_commands

runner = CliRunner()
BOX = ("╭", "╰", "│", "─")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["games", "list", "--bogus"],
            "error: no such option: --bogus (see 'arenadb games list --help')",
        ),
        (["game", "info"], "error: missing argument 'ref' (see 'arenadb game info --help')"),
        (
            ["conversations", "list", "--type", "nope"],
            "error: invalid value for '--type': ",
        ),
        (["games", "list", "--limit", "x"], "error: invalid value for '--limit'"),
        (["agents", "top", "--limit", "0"], "error: invalid value for '--limit' / '-n'"),
        (["games", "list", "--limit", "1" * 30], "error: invalid value for '--limit'"),
        (["--bogus", "games", "list"], "error: no such option: --bogus (see 'arenadb --help')"),
        (["gmaes"], "error: no such command 'gmaes' (see 'arenadb --help')"),
        (["migrate", "statsu"], "error: no such command 'statsu'. Did you mean 'status'?"),
    ],
)
def test_usage_errors_are_one_line_exit_2(cli_env, args, line):
    result = runner.invoke(app, args, env=cli_env)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(line), lines[0]
    assert not any(mark in result.stderr for mark in BOX), result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_bad_choice_names_the_choices(cli_env):
    result = runner.invoke(app, ["conversations", "list", "--type", "nope"], env=cli_env)
    assert "'nope' is not one of 'direct', 'group', 'broadcast', 'system'" in result.stderr


def test_a_group_without_a_command_still_shows_its_help(cli_env):
    result = runner.invoke(app, ["migrate"], env=cli_env)
    assert result.exit_code == 2
    assert "Apply, inspect and check schema migrations." in result.output
    assert "status" in result.output


def test_show_completion_prints_a_bash_script():
    result = runner.invoke(app, ["--show-completion", "bash"])
    assert result.exit_code == 0, result.output
    assert "_arenadb_completion" in result.stdout and "complete " in result.stdout
    assert "_ARENADB_COMPLETE=complete_bash" in result.stdout


def test_show_completion_refuses_an_unknown_shell():
    result = runner.invoke(app, ["--show-completion", "ksh"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: invalid value for '--show-completion': 'ksh' is not one of bash, zsh, fish, "
        "powershell, pwsh (see 'arenadb --help')"
    ]


def test_the_completion_script_completes_commands_and_options(tmp_path):
    # What the bash script does on <TAB>: run arenadb with these variables set.
    def complete(words: str, cword: int) -> list[str]:
        env = {
            **os.environ,
            "_ARENADB_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(cword),
        }
        proc = subprocess.run(
            [sys.executable, "-m", "arenadb"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert complete("arenadb mig", 1) == ["migrate"]
    assert "--limit" in complete("arenadb games list --li", 3)
    assert not list(tmp_path.iterdir())  # completing opens no database


def test_completion_options_are_on_the_root_only():
    root = runner.invoke(app, ["--help"])
    assert "--install-completion" in root.stdout and "--show-completion" in root.stdout
    for name in COMMANDS:
        for path, _command in leaf_commands(load_command(name), (name,)):
            result = runner.invoke(app, [*path, "--help"])
            assert result.exit_code == 0, (path, result.output)
            assert "--install-completion" not in result.stdout, path
            assert "--show-completion" not in result.stdout, path
    on_subcommand = runner.invoke(app, ["init", "--install-completion", "bash"])
    assert on_subcommand.exit_code == 2
    assert "no such option: --install-completion" in on_subcommand.stderr


def test_a_huge_bad_value_gives_a_short_line(cli_env):
    # Over the argument limit (4,096 characters) the CLI refuses before the parser runs.
    result = runner.invoke(app, ["games", "list", "--" + "x" * 100_000], env=cli_env)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: an argument is too long")
    assert len(lines[0]) < 400 and "xxxx" not in lines[0]
    # Under it, the parser's own message is cut short.
    result = runner.invoke(app, ["games", "list", "--" + "x" * 4_000], env=cli_env)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no such option: --xxx")
    assert len(lines[0]) < 400 and lines[0].endswith("(see 'arenadb games list --help')")


def test_a_password_in_a_bad_value_is_masked(cli_env):
    result = runner.invoke(
        app, ["conversations", "list", "--type", "postgresql://u:Sup3r-S3cret@h/db"], env=cli_env
    )
    assert result.exit_code == 2
    assert "Sup3r-S3cret" not in result.output and "u:***@h" in result.stderr


def test_exit_codes_are_decided_in_cli_app_only():
    # Commands and the library raise; arenadb/cli/app.py alone turns that into an exit code.
    from pathlib import Path

    import arenadb

    package = Path(arenadb.__file__).parent
    allowed = {package / "cli" / "app.py", package / "__main__.py"}
    offenders = []
    for module in package.rglob("*.py"):
        if module in allowed:
            continue
        text = module.read_text(encoding="utf-8")
        for needle in ("typer.Exit(", "sys.exit(", "SystemExit(", "os._exit("):
            if needle in text:
                offenders.append(f"{module.relative_to(package)}: {needle}")
    assert offenders == []
