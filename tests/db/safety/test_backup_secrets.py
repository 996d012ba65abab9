"""Issue 15, secrets: `backup` hands pg_dump no secret on its command line (/proc is public)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from arenadb.config import Settings
from arenadb.portability.upkeep import backup_database
from arenadb.urls import DatabaseURL

SECRET = "Sup3r-S3cret"
SHIM = """#!/bin/sh
# Record what the real pg_dump is started with, then become it (same pid, same argv).
tr '\\0' '\\n' < /proc/$$/cmdline > "$ARENADB_TEST_LOG/cmdline"
if [ -n "$PGSERVICEFILE" ]; then
  stat -c %a "$PGSERVICEFILE" > "$ARENADB_TEST_LOG/service_mode"
  cp "$PGSERVICEFILE" "$ARENADB_TEST_LOG/service"
  echo "$PGSERVICEFILE" > "$ARENADB_TEST_LOG/service_path"
fi
exec {real} "$@"
"""


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_pg_dump_gets_no_secret_on_its_command_line(
    db_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = shutil.which("pg_dump")
    if real is None:
        pytest.skip("pg_dump is not installed")
    shim = tmp_path / "bin" / "pg_dump"
    shim.parent.mkdir()
    shim.write_text(SHIM.format(real=real))
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "log"
    log.mkdir()
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("ARENADB_TEST_LOG", str(log))
    url = db_settings.url
    # The test server trusts local connections: the password and the key's password are carried
    # but unused, which is all this test needs to see where they travel.
    secret_url = DatabaseURL(
        url.drivername,
        url.username or "postgres",
        SECRET,
        url.host,
        url.port,
        url.database,
        (("sslmode", "disable"), ("sslpassword", SECRET + "-ssl")),
    )
    settings = db_settings.with_url(secret_url)
    result = backup_database(settings, tmp_path / "backup.dump")
    assert result.bytes > 0
    cmdline = (log / "cmdline").read_text()
    assert "--dbname=" in cmdline and "sslmode=disable" in cmdline
    assert "S3cret" not in cmdline
    # sslpassword has no libpq environment variable: it went through a private service file,
    # removed afterwards.
    assert (log / "service_mode").read_text().strip() == "600"
    assert f"sslpassword={SECRET}-ssl" in (log / "service").read_text()
    assert not Path((log / "service_path").read_text().strip()).exists()
