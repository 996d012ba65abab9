"""Checkpoint a SQLite WAL database from a background thread, off the writer's hot path.

In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them back into the
database file and fsyncs both. By default SQLite runs that checkpoint inside whichever commit
pushes the WAL past 1,000 pages (4 MB), so a recorder writing a batch every few milliseconds
stalls on two fsyncs every few batches (37 checkpoints for the 100 MB of benchmarks/record.py).

Here the copying moves to a second connection on its own thread, which runs
`PRAGMA wal_checkpoint(PASSIVE)` shortly after commits, between two transactions of the writer:
its reads, writes and fsyncs overlap the recorder's work on the next batch (the rows it builds),
not the writer's SQLite work. A checkpoint never starts while the writer is inside a transaction
(`writing()`: the thread waits for its end); a transaction that begins during a checkpoint goes
on, the writer never waits for the thread. On a 2-core machine that leaves one core to the
writer's caller (an event loop) whenever arenadb's threads do SQLite work.

The bound on the WAL file, by construction: **`WAL_LIMIT_BYTES` (16 MiB) plus the largest single
transaction**, as long as no other connection keeps a read transaction open on an old snapshot
(SQLite cannot start a WAL over while a reader still needs its frames; nothing bounds the WAL
then, with or without arenadb).

Why it needs the writer's help: a checkpoint that runs beside a busy writer never quite catches
up, and SQLite only starts the WAL over (at the next write transaction) when a checkpoint has
copied every frame; the file then keeps its high-water size unless `journal_size_limit` says
otherwise. The first version left the last frames to the writer's automatic checkpoint, but
SQLite skips a checkpoint that finds another one running (SQLITE_BUSY, no wait), so whether the
WAL ever started over depended on thread timing: under load it grew with everything written.
Now:
- every connection sets `journal_size_limit` to `WAL_LIMIT_BYTES`, so the first commit after the
  WAL starts over truncates the file to that size;
- the writer runs no automatic checkpoint; after each commit it looks at the WAL's size
  (`after_commit`, one `stat`) and, when the file has grown past the limit, checkpoints on its own
  connection *while holding the lock the background thread checkpoints under*. Between two of its
  own transactions, with the background thread waiting, nothing can stop that checkpoint from
  copying every frame (no other reader assumed), so its next transaction starts the WAL over.
  That happens about once per 16 MiB written, and copies only what the thread has not.

Measured with benchmarks/record.py on SQLite (2 cores): the recording API went from about 2.4 s
to 2.0 s of wall-clock time for 200 games, with the same CPU time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

from arenadb.db.sqlite_files import connect_existing_sqlite

log = logging.getLogger("arenadb.checkpoint")

# SQLite's own default, restored on a connection handed back to the pool.
DEFAULT_AUTOCHECKPOINT_PAGES = 1000
# The WAL file's size once it starts over (`journal_size_limit`), and the size past which the
# writer checkpoints it to make it start over.
WAL_LIMIT_BYTES = 16 * 1024 * 1024


class WalCheckpointer:
    """A daemon thread that checkpoints the WAL of the SQLite file at `path` after `poke()`.

    The thread and its connection start on the first `poke()` and end after `idle_seconds`
    without one (an Arena nobody closes leaves no thread behind for long); `close()` stops them.
    Commits poked within `interval` seconds share one checkpoint. Errors (a locked or vanished
    file) are logged and the next poke tries again: a missed checkpoint only leaves more for the
    next one. The writing connection calls `after_commit(raw)` instead of `poke()`, which also
    keeps the WAL under `limit_bytes` (see the module docstring).
    """

    def __init__(
        self,
        path: str,
        *,
        interval: float = 0.05,
        idle_seconds: float = 30.0,
        limit_bytes: int = WAL_LIMIT_BYTES,
    ) -> None:
        self.path = path
        self.wal_path = f"{path}-wal"
        self.interval = interval
        self.idle_seconds = idle_seconds
        self.limit_bytes = limit_bytes
        self.checkpoints = 0
        self.writer_checkpoints = 0
        # Held by whichever connection checkpoints, so that the writer's never meets the
        # thread's (SQLite would skip it).
        self._checkpoint_lock = threading.Lock()
        # Clear while the writer is inside a transaction: the thread starts no checkpoint then.
        self._writer_idle = threading.Event()
        self._writer_idle.set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Around each transaction of the writing connection: the background thread starts no
        checkpoint inside it (it waits for its end), the writer never waits for the thread."""
        self._writer_idle.clear()
        try:
            yield
        finally:
            self._writer_idle.set()

    def after_commit(self, writer: Any) -> None:
        """Call after each commit of the writing (sqlite3) connection `writer`."""
        try:
            size = os.stat(self.wal_path).st_size
        except OSError:
            size = 0
        if size > self.limit_bytes:
            with self._checkpoint_lock:
                try:
                    writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.writer_checkpoints += 1
                except sqlite3.Error as exc:
                    log.debug("writer checkpoint of %s failed: %s", self.path, exc)
        self.poke()

    def poke(self) -> None:
        """Ask for a checkpoint soon (a commit has just appended to the WAL)."""
        # Wake first: a thread about to leave for idleness sees it and stays (see _run).
        self._wake.set()
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name="arenadb-wal-checkpoint", daemon=True
                    )
                    self._thread.start()

    def close(self) -> None:
        """Stop the thread (after the checkpoint under way, if any) and close its connection."""
        with self._start_lock:
            self._stop.set()
            self._wake.set()
            self._writer_idle.set()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        try:
            # mode=rw: a database removed under the arena is not created again, empty.
            conn = connect_existing_sqlite(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            log.warning("no background checkpoints for %s: %s", self.path, exc)
            return
        try:
            while True:
                if not self._wake.wait(self.idle_seconds):
                    with self._start_lock:
                        if not self._wake.is_set():
                            self._thread = None  # the next poke starts a new thread
                            return
                    continue
                # Let the commits of the next `interval` seconds join this checkpoint.
                if self._stop.wait(self.interval):
                    return
                self._wake.clear()
                # Not beside a batch being written: the two would take both cores of a small
                # machine from the writer's caller (an event loop). A batch that begins while
                # the checkpoint runs goes on: the writer is never held up.
                self._writer_idle.wait()
                if self._stop.is_set():
                    return
                with self._checkpoint_lock:
                    try:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                        self.checkpoints += 1
                    except sqlite3.Error as exc:
                        log.debug("background checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()
