"""Snapshot rows, when a recorder takes them, and their verification.

`snapshot.turn` is the number of turns the state includes, so the turns after a snapshot are
exactly those with `seq >= snapshot.turn`. The stored hash is the full sha256 of the state's
canonical JSON (`canonical_json`); a snapshot whose state no longer hashes to it is corrupted.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.db.json import canonical_json, state_hash
from arenadb.errors import ConflictError, InvalidDataError
from arenadb.models import SNAPSHOT_KINDS, GameSnapshot

log = logging.getLogger("arenadb.recording")


def snapshot_row(
    game_id: int, turns: int, kind: str, state: Mapping[str, Any], jsonb_prefix: str, at: Any
) -> tuple[tuple, str]:
    """The game_snapshots row of `state` after `turns` turns (created `at`, in the driver's
    format), and the state's sha256."""
    text = canonical_json(state)
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    return (game_id, turns, kind, jsonb_prefix + text, digest, len(data), at), digest


class SnapshotSchedule:
    """When a recorder's next periodic snapshot is due, and the snapshots its game has.

    A periodic snapshot is due when the turn count reaches a multiple of `every` (0: never); a
    turn recorded without a state leaves it due, and the next turn with one takes it. Kept as
    `next_due`, the turn count from which one is due, so that `record_turn` compares one integer
    per turn. A game has at most one snapshot of each kind after a given number of turns.
    """

    def __init__(
        self,
        game_id: int,
        every: int,
        jsonb_prefix: str,
        *,
        turns: int,
        taken: Iterable[tuple[int, str]] = (),
    ) -> None:
        """`turns`: the turns recorded so far; `taken`: (turns, kind) of the stored snapshots."""
        self.game_id = game_id
        self.every = every
        self.next_due = self._due_after(turns)
        self._jsonb_prefix = jsonb_prefix
        self._taken = set(taken)

    def take(self, turns: int, kind: str, state: Mapping[str, Any], at: Any) -> tuple[tuple, str]:
        """The row of a `kind` snapshot of `state` after `turns` turns, and its sha256; refused
        for an unknown kind or a second snapshot of a kind after the same turns."""
        if kind not in SNAPSHOT_KINDS:
            raise InvalidDataError(f"snapshot kind must be one of {SNAPSHOT_KINDS}")
        if (turns, kind) in self._taken:
            raise ConflictError(
                f"game {self.game_id} already has a {kind} snapshot after {turns} turns"
            )
        row, digest = snapshot_row(self.game_id, turns, kind, state, self._jsonb_prefix, at)
        self._taken.add((turns, kind))
        if kind == "periodic":
            self.next_due = self._due_after(turns)
        return row, digest

    def _due_after(self, turns: int) -> int:
        """The first multiple of `every` after `turns`."""
        return (turns // self.every + 1) * self.every if self.every > 0 else sys.maxsize


def last_verified_snapshot(session: Session, game_id: int) -> tuple[GameSnapshot | None, list[str]]:
    """The newest non-final snapshot of a game whose state hashes to its stored sha256, and a
    warning (also logged) for each newer one that did not; None when none verifies."""
    warnings: list[str] = []
    # Newest first, one state at a time: a long game may hold many large snapshots.
    candidates = session.execute(
        sa.select(GameSnapshot.id, GameSnapshot.turn)
        .where(GameSnapshot.game_id == game_id, GameSnapshot.kind != "final")
        .order_by(GameSnapshot.turn.desc(), GameSnapshot.id.desc())
    ).all()
    for snapshot_id, _turn in candidates:
        snap = session.get(GameSnapshot, snapshot_id)
        assert snap is not None
        try:
            actual = state_hash(snap.state)
        except InvalidDataError as exc:
            actual = f"unreadable ({exc})"
        if actual == snap.sha256:
            return snap, warnings
        message = (
            f"game {game_id}: snapshot {snap.id} (after {snap.turn} turns) is corrupted: "
            f"stored sha256 {snap.sha256}, state hashes to {actual}"
        )
        log.warning(message)
        warnings.append(message)
        session.expunge(snap)
    return None, warnings
