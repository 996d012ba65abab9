"""The read replica setting: where it comes from, what it refuses, what it never shows."""

from __future__ import annotations

import pytest

from arenadb.cli.context import READ_ONLY_COMMANDS
from arenadb.cli.reference import iter_commands
from arenadb.config import load_settings
from arenadb.errors import ConfigError, InvalidArgumentError

PRIMARY = "postgresql://arena:pw1@primary/arena"
REPLICA = "postgresql://reader:pw2@standby/arena"


def test_the_flag_beats_the_variable_and_an_empty_variable_is_unset(tmp_path) -> None:
    env = {"ARENADB_READ_URL": REPLICA}
    settings = load_settings(PRIMARY, environ=env, cwd=tmp_path)
    assert settings.read_url is not None and settings.read_url.host == "standby"
    assert settings.for_reading().url.host == "standby"
    assert settings.for_reading().read_url is None
    flagged = load_settings(PRIMARY, environ=env, cwd=tmp_path, read_url=PRIMARY)
    assert flagged.read_url is not None and flagged.read_url.host == "primary"
    assert flagged.origins["read_url"] == "--read-url"
    unset = load_settings(PRIMARY, environ={"ARENADB_READ_URL": " "}, cwd=tmp_path)
    assert unset.read_url is None and unset.for_reading() is unset


def test_an_empty_flag_or_another_backend_is_refused(tmp_path) -> None:
    with pytest.raises(InvalidArgumentError, match="read URL given is empty"):
        load_settings(PRIMARY, environ={}, cwd=tmp_path, read_url="")
    with pytest.raises(ConfigError, match="same backend"):
        load_settings(PRIMARY, environ={}, cwd=tmp_path, read_url="sqlite:///copy.db")


def test_both_passwords_are_masked(tmp_path) -> None:
    settings = load_settings(PRIMARY, environ={"ARENADB_READ_URL": REPLICA}, cwd=tmp_path)
    shown = repr(settings.describe()) + settings.mask(f"failed: {REPLICA} and {PRIMARY}")
    assert "pw1" not in shown and "pw2" not in shown
    assert "standby" in shown


def test_every_read_only_command_exists() -> None:
    commands = {" ".join(c.path.split()[1:]) for c in iter_commands() if not c.is_group}
    assert commands >= READ_ONLY_COMMANDS
    # The commands that write never read from a replica.
    for writer in (
        "init",
        "seed",
        "import",
        "clean",
        "ratings rebuild",
        "ratings boards",
        "migrate up",
        "copy",
    ):
        assert writer not in READ_ONLY_COMMANDS
