"""Which modules a fresh `arenadb` process imports to run one command (start-up checks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

_CODE = """
import contextlib, io, json, sys
from arenadb.cli import app
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        app(sys.argv[2:], prog_name="arenadb")
    except SystemExit as exit_:
        code = exit_.code
watch = json.loads(sys.argv[1])
print(json.dumps({"exit": code, "imported": [m for m in watch if m in sys.modules]}))
"""


def imported_by(database_url: str, argv: list[str], watch: list[str]) -> list[str]:
    """The modules of `watch` that `arenadb <argv>` on `database_url` imported (it must succeed)."""
    proc = subprocess.run(
        [sys.executable, "-c", _CODE, json.dumps(watch), *argv],
        env={**os.environ, "ARENADB_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["exit"] == 0, (argv, result)
    return list(result["imported"])
