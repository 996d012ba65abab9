"""Snapshot rows and their verification.

`snapshot.turn` is the number of turns the state includes, so the turns after a snapshot are
exactly those with `seq >= snapshot.turn`. The stored hash is the full sha256 of the state's
canonical JSON (`canonical_json`); a snapshot whose state no longer hashes to it is corrupted.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.db.json import canonical_json, state_hash
from arenadb.errors import InvalidDataError
from arenadb.models import GameSnapshot

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
