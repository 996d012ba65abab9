"""A real PostgreSQL primary and hot standby on loopback, made for one test and removed after.

initdb + pg_basebackup -R in a temporary folder, on free ports, as the `postgres` user when the
tests run as root (the server refuses to run as root). Nothing of the machine's own server is
touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def pg_bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    bindir: Path
    base: Path
    primary_port: int
    standby_port: int

    def url(self, port: int, database: str = "arena") -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def standby_url(self) -> str:
        return self.url(self.standby_port)

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stderr or done.stdout}")

    def stop_standby(self) -> None:
        self.run("pg_ctl", "-D", str(self.base / "standby"), "-m", "immediate", "-w", "stop")


@contextmanager
def primary_and_standby() -> Iterator[Cluster]:
    bindir = pg_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb) on this machine")
    base = Path(tempfile.mkdtemp(prefix="arenadb-replica-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    cluster = Cluster(bindir, base, _free_port(), _free_port())
    primary, standby = base / "primary", base / "standby"
    started: list[Path] = []
    try:
        cluster.run("initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "--no-sync")
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {cluster.primary_port}\n"
                f"unix_socket_directories = '{base}'\nwal_level = replica\n"
                "max_wal_senders = 4\nfsync = off\nshared_buffers = 16MB\n"
            )
        cluster.run("pg_ctl", "-D", str(primary), "-l", str(base / "primary.log"), "-w", "start")
        started.append(primary)
        cluster.run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.primary_port),
            "-U",
            "postgres",
            "-D",
            str(standby),
            "-R",
            "-X",
            "stream",
            "--no-sync",
        )
        with open(standby / "postgresql.conf", "a") as conf:
            # Replay waits for a running query instead of cancelling it ("conflict with
            # recovery"): the tests query the standby while the primary writes.
            conf.write(
                f"port = {cluster.standby_port}\nhot_standby = on\n"
                "max_standby_streaming_delay = -1\nhot_standby_feedback = on\n"
            )
        cluster.run("pg_ctl", "-D", str(standby), "-l", str(base / "standby.log"), "-w", "start")
        started.append(standby)
        yield cluster
    finally:
        for folder in reversed(started):
            with contextlib.suppress(RuntimeError):  # already stopped (a test stopped it)
                cluster.run("pg_ctl", "-D", str(folder), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
