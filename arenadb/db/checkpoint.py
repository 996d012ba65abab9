"""Checkpoint a SQLite WAL database from a background thread, off the writer's hot path.

In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them back into the
database file and fsyncs both. By default SQLite runs that checkpoint inside whichever commit
pushes the WAL past 1,000 pages (4 MB), so a recorder writing a batch every few milliseconds
stalls on two fsyncs every few batches (37 checkpoints for the 100 MB of benchmarks/record.py).

Here the copying moves to a second connection on its own thread, which runs
`PRAGMA wal_checkpoint(PASSIVE)` shortly after commits: a PASSIVE checkpoint never blocks a
writer or a reader and never waits for a lock, so its reads, writes and fsyncs overlap the
recorder's work on the next batch.

A checkpoint that runs beside a busy writer never quite catches up, and SQLite only rewinds the
WAL to its start when a checkpoint has copied every frame. So the writing connection keeps an
automatic checkpoint, at `WRITER_AUTOCHECKPOINT_PAGES` (16 MB) instead of 1,000 pages: by the
time it runs, the background thread has copied nearly all of the WAL, the commit that triggers
it copies the rest, and the WAL starts over. The WAL file stays under about 20 MB.

Measured with benchmarks/record.py on SQLite (2 cores): the recording API went from about 2.4 s
to 2.0 s of wall-clock time for 200 games, with the same CPU time.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("arenadb.checkpoint")

# SQLite's own default, restored on a connection handed back to the pool.
DEFAULT_AUTOCHECKPOINT_PAGES = 1000
# The writing connection's own (rare) checkpoint, which lets the WAL start over.
WRITER_AUTOCHECKPOINT_PAGES = 4096


class WalCheckpointer:
    """A daemon thread that checkpoints the WAL of the SQLite file at `path` after `poke()`.

    The thread and its connection start on the first `poke()` and end after `idle_seconds`
    without one (an Arena nobody closes leaves no thread behind for long); `close()` stops them.
    Commits poked within `interval` seconds share one checkpoint. Errors (a locked or vanished
    file) are logged and the next poke tries again: a missed checkpoint only leaves more for the
    next one.
    """

    def __init__(self, path: str, *, interval: float = 0.05, idle_seconds: float = 30.0) -> None:
        self.path = path
        self.interval = interval
        self.idle_seconds = idle_seconds
        self.checkpoints = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

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
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
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
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:
                    log.debug("background checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()
