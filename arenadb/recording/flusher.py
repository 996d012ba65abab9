"""One background thread per Arena that writes recorders' batches once they are due.

A recorder writes its buffer when the next turn starts and the last write is older than
`flush_seconds`; a turn buffered before a slow LLM call would wait for that call. The flusher
makes the bound hold without a next call: it looks at its recorders every half `flush_seconds`
(or sooner, when a buffer falls due sooner), writes the due ones with
`GameRecorder.flush_if_due()`, and sleeps again. It is never woken by recording: a wake per
batch measured as a tenth of the recording speed on SQLite (the woken thread takes the GIL
from the runner), two polls a second cost nothing.

Why one thread per Arena rather than a timer per recorder: an arena runner may hold hundreds of
recorders (one per game in flight); one thread and one wait cost the same for any number, and
every batch still goes through the Arena's single `BatchConnection` (one batch at a time).
A recorder's buffer and its writes share one lock (`GameBuffer.lock`), so the flusher never
writes a half-recorded turn, and the runner's thread and the flusher never both write it.

A background write that fails (the database went away) is logged and retried when due again;
the rows stay buffered, and the runner's own next write or `finish()` raises the error.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Protocol


class Flushable(Protocol):
    """What the flusher uses of a recorder (`arenadb.recording.recorder.GameRecorder`); a
    protocol, so that the context, which holds the flusher, never imports the recorder."""

    game_id: int

    @property
    def flush_seconds(self) -> float: ...  # read only: the flusher never sets it

    def flush_due_in(self) -> float | None: ...

    def flush_if_due(self) -> object: ...

    def postpone_flush(self) -> None: ...


log = logging.getLogger("arenadb.recording")


class Flusher:
    """Writes due batches of the recorders registered with it, from one daemon thread."""

    def __init__(self) -> None:
        self._recorders: weakref.WeakSet[Flushable] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._idle = False

    def register(self, recorder: Flushable) -> None:
        with self._lock:
            self._recorders.add(recorder)
            if self._idle:  # waiting without a timeout: nothing was registered
                self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="arenadb-flusher", daemon=True
                )
                self._thread.start()

    def unregister(self, recorder: Flushable) -> None:
        with self._lock:
            self._recorders.discard(recorder)

    def stop(self) -> None:
        """Stop the thread (`Arena.close()`); registering a recorder starts it again."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stopping = True
            self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            # Cleared before the scan: a wake during it keeps the next wait short.
            self._wake.clear()
            with self._lock:
                if self._stopping:
                    return
                recorders = list(self._recorders)
            timeout: float | None = None
            for recorder in recorders:
                poll = max(recorder.flush_seconds / 2, 0.01)
                timeout = poll if timeout is None else min(timeout, poll)
                due_in = recorder.flush_due_in()
                if due_in is not None and due_in <= 0:
                    try:
                        recorder.flush_if_due()
                    except Exception as exc:
                        log.warning(
                            "background write of game %s failed (retried when due): %s",
                            recorder.game_id,
                            exc,
                        )
                        recorder.postpone_flush()
                    due_in = recorder.flush_due_in()
                if due_in is not None and timeout is not None:
                    timeout = min(timeout, due_in)
            del recorders
            with self._lock:
                self._idle = timeout is None and not self._recorders
                if self._idle is False and timeout is None:
                    timeout = 0.01  # registered during the scan: look again soon
            self._wake.wait(None if timeout is None else max(timeout, 0.001))
