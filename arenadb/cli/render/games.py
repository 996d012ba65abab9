"""Rich views of games for people: list rows, the `game info` page and the replay transcript.

Imported only inside command functions (it pulls in Rich and the ops' dataclasses).
Text that came from the database (actions, observations, aliases) goes into `rich.text.Text`,
never into markup strings, so a `[bold]` inside an LLM's answer is shown, not interpreted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from arenadb.cli.render.json import to_plain
from arenadb.cli.render.tables import make_console, money
from arenadb.inspection.game_detail import GameDetail
from arenadb.inspection.game_parts import SeatInfo, TurnInfo
from arenadb.inspection.games import GameSummary
from arenadb.inspection.replay import GameReplay

INVALID_STYLE = "bold red"


def _console() -> Console:
    console: Console = make_console()
    return console


def format_duration(seconds: float | None) -> str:
    """`1h 02m`, `12m 03s`, `45s`; empty when unknown."""
    if seconds is None:
        return ""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def format_result(outcome: str | None, winning_side: str | None) -> str:
    """`win: mafia`, `draw`, `no contest`, or empty while a game has no outcome."""
    if outcome is None:
        return ""
    if outcome == "win" and winning_side:
        return f"win: {winning_side}"
    return outcome.replace("_", " ")


def _number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return ""
    return f"{value:,.{digits}f}"


def _money(value: float | None, complete: bool = True) -> str:
    return money(value, complete)


def _compact(info: dict[str, Any] | None) -> str:
    if not info:
        return ""
    return ", ".join(f"{k}={json.dumps(to_plain(v), ensure_ascii=False)}" for k, v in info.items())


def game_summary_rows(games: Iterable[GameSummary]) -> list[dict[str, Any]]:
    """Display rows (already formatted) for the `games list` table."""
    return [
        {
            "id": g.id,
            "type": g.type,
            "status": g.status,
            "started": format_time(g.started_at),
            "duration": format_duration(g.duration_s),
            "seats": g.seats,
            "turns": g.turns,
            "result": format_result(g.outcome, g.winning_side),
            "winner": g.winner or "",
            "crashed": "CRASHED" if g.crashed else "",
        }
        for g in games
    ]


def game_detail_object(detail: GameDetail) -> dict[str, Any]:
    """The JSON/CSV object of `game info` (the turn list only when it was asked for)."""
    data = to_plain(detail)
    if detail.turn_list is None:
        data.pop("turn_list")
    return data


def _seats_table(seats: list[SeatInfo], *, usage: bool) -> Table:
    table = Table(title="seats", header_style="bold", title_justify="left")
    columns = ["seat", "agent", "model", "side", "role", "reward", "rank", "eliminated"]
    columns += ["rating Δ", "invalid"]
    if usage:
        columns += ["calls", "tokens in/out", "cost", "info"]
    for name in columns:
        left = name in ("agent", "model", "side", "role", "info")
        table.add_column(name, justify="left" if left else "right", overflow="fold")
    for s in seats:
        delta = "" if s.rating_change is None else f"{s.rating_change:+.2f}"
        cells: list[Any] = [
            str(s.seat),
            Text(s.agent or f"agent {s.agent_id}"),
            Text(s.model or ""),
            Text(s.side or ""),
            Text(s.role or ""),
            _number(s.reward, 2),
            _number(s.rank),
            "" if s.eliminated_turn is None else f"turn {s.eliminated_turn}",
            delta,
            Text(str(s.invalid_moves), style=INVALID_STYLE if s.invalid_moves else ""),
        ]
        if usage:
            cells += [
                _number(s.llm_calls),
                f"{s.input_tokens:,}/{s.output_tokens:,}",
                _money(s.cost, s.cost_complete),
                Text(_compact(s.info), style="dim"),
            ]
        table.add_row(*cells)
    return table


def print_game_detail(detail: GameDetail) -> None:
    """The `game info` page: facts, seats, usage, snapshots, crash data, turns."""
    console = _console()
    facts = Table(
        title=f"game {detail.id}  {detail.uuid}",
        title_justify="left",
        show_header=False,
        box=None,
        pad_edge=False,
    )
    facts.add_column(style="bold")
    facts.add_column()

    def fact(name: str, value: Any, style: str = "") -> None:
        facts.add_row(name, value if isinstance(value, Text) else Text(str(value), style=style))

    fact("type", detail.type + (f" ({detail.type_name})" if detail.type_name else ""))
    fact("status", detail.status, "red" if detail.status == "failed" else "")
    fact("started", format_time(detail.started_at) + (" UTC" if detail.started_at else ""))
    fact("finished", format_time(detail.finished_at) + (" UTC" if detail.finished_at else ""))
    fact("duration", format_duration(detail.duration_s))
    fact("result", format_result(detail.outcome, detail.winning_side))
    if detail.end_reason:
        fact("end reason", detail.end_reason)
    fact("rated", "yes" if detail.rated else "no")
    if detail.seed is not None:
        fact("seed", detail.seed)
    fact(
        "turns",
        f"{detail.turns:,}"
        + (f" ({detail.invalid_turns} invalid)" if detail.invalid_turns else ""),
        INVALID_STYLE if detail.invalid_turns else "",
    )
    fact(
        "llm calls",
        f"{detail.llm_calls:,}" + (f" ({detail.llm_errors} failed)" if detail.llm_errors else ""),
    )
    fact(
        "tokens",
        f"{detail.input_tokens:,} in, {detail.output_tokens:,} out, "
        f"{detail.reasoning_tokens:,} reasoning"
        + (f", {detail.cache_read_tokens:,} cache read" if detail.cache_read_tokens else ""),
    )
    fact("cost", _money(detail.cost, detail.cost_complete))
    if detail.latency_p50_ms is not None:
        fact(
            "llm latency",
            f"p50 {detail.latency_p50_ms:,.0f} ms, p95 {detail.latency_p95_ms or 0:,.0f} ms",
        )
    if detail.crashed or detail.error:
        crashed = "yes (environment)" if detail.crashed else "no"
        fact("crashed", crashed, "bold red" if detail.crashed else "")
        if detail.error:
            fact("error", detail.error, "red")
    if detail.last_llm_error:
        fact("last llm error", detail.last_llm_error, "red")
    parts: list[Any] = [facts, Text()]
    if detail.seats:
        parts.append(_seats_table(detail.seats, usage=True))
    if detail.snapshots:
        snaps = Table(title="snapshots", header_style="bold", title_justify="left")
        for name in ("turn", "kind", "size", "sha256", "created"):
            snaps.add_column(name)
        for snap in detail.snapshots:
            snaps.add_row(
                str(snap.turn),
                snap.kind,
                f"{snap.size_bytes:,} B",
                snap.sha256[:12],
                format_time(snap.created_at),
            )
        parts.append(snaps)
    if detail.turn_list is not None:
        parts.append(_turns_table(detail.turn_list))
    console.print(Group(*parts))


def _turns_table(turns: list[TurnInfo]) -> Table:
    table = Table(title="turns", header_style="bold", title_justify="left")
    for name in ("seq", "turn", "phase", "seat", "agent", "action", "valid", "latency"):
        table.add_column(name, overflow="fold")
    for t in turns:
        invalid = t.valid is False
        table.add_row(
            str(t.seq),
            str(t.turn_number),
            Text(t.phase or ""),
            "" if t.seat is None else str(t.seat),
            Text(t.agent or ("environment" if t.seat is None else "")),
            Text(t.action or "", style=INVALID_STYLE if invalid else ""),
            Text("INVALID", style=INVALID_STYLE) if invalid else ("" if t.valid is None else "ok"),
            "" if t.latency_ms is None else f"{t.latency_ms:,} ms",
        )
    return table


REPLAY_CSV = [
    "game_id",
    "seq",
    "turn_number",
    "phase",
    "seat",
    "agent",
    "action",
    "valid",
    "latency_ms",
    "visibility",
    "recipients",
    "invalid_reason",
    "observation",
    "actions",
]


def replay_turn_rows(game: GameReplay) -> list[dict[str, Any]]:
    """One CSV row per turn of a replay."""
    return [
        {
            "game_id": game.id,
            "seq": t.seq,
            "turn_number": t.turn_number,
            "phase": t.phase,
            "seat": t.seat,
            "agent": t.agent,
            "action": t.action,
            "valid": t.valid,
            "latency_ms": t.latency_ms,
            "visibility": t.visibility,
            "recipients": t.recipients,
            "invalid_reason": t.invalid_reason,
            "observation": t.observation,
            "actions": t.actions or None,
        }
        for t in game.turns
    ]


def _replay_lines(game: GameReplay, *, observations: bool) -> list[Any]:
    seats = {s.seat: s for s in game.seats}
    header = Text()
    header.append(f"game {game.id}", style="bold")
    header.append(f"  {game.type}  {game.status}  {format_time(game.started_at)}")
    result = format_result(game.outcome, game.winning_side)
    if result:
        header.append(f"  {result}", style="bold green")
    if game.as_seat is not None:
        header.append(f"  as seen by seat {game.as_seat}", style="bold yellow")
    lines: list[Any] = [header, _seats_table(game.seats, usage=False)]
    current: tuple[int, str | None] | None = None
    for turn in game.turns:
        if (turn.turn_number, turn.phase) != current:
            current = (turn.turn_number, turn.phase)
            title = f"turn {turn.turn_number}" + (f" · {turn.phase}" if turn.phase else "")
            lines.append(Text(f"── {title} ", style="bold cyan"))
        line = Text("  ")
        if turn.seat is None:
            line.append("environment", style="dim italic")
        else:
            seat = seats.get(turn.seat)
            line.append(f"[{turn.seat}] ", style="bold")
            line.append(turn.agent or f"seat {turn.seat}", style="bold")
            who = ", ".join(x for x in (seat.side, seat.role) if x) if seat else ""
            if who:
                line.append(f" ({who})", style="dim")
        line.append(": ")
        invalid = turn.valid is False
        shown = turn.observation if turn.seat is None and not turn.action else turn.action
        line.append(shown or "(no action)", style=INVALID_STYLE if invalid else "")
        if invalid:
            line.append("  ✗ INVALID", style="bold white on red")
            if turn.invalid_reason:
                line.append(f" {turn.invalid_reason}", style=INVALID_STYLE)
        if turn.visibility == "private":
            line.append(f"  (to {', '.join(map(str, turn.recipients or []))})", style="dim")
        elif turn.visibility == "system":
            line.append("  (system)", style="dim")
        lines.append(line)
        for action in turn.actions:
            detail = Text("      · ", style="dim")
            detail.append(str(action["type"]), style="italic")
            if action.get("payload") is not None:
                payload = json.dumps(to_plain(action["payload"]), ensure_ascii=False)
                detail.append(f" {payload}", style="dim")
            if action.get("valid") is False:
                detail.append("  ✗ invalid", style=INVALID_STYLE)
            lines.append(detail)
        if observations and turn.observation and shown is not turn.observation:
            lines.append(Text("      " + turn.observation.replace("\n", "\n      "), style="dim"))
    if game.end_reason or game.error:
        lines.append(Text("── end ", style="bold cyan"))
        if game.end_reason:
            lines.append(Text(f"  {game.end_reason}"))
        if game.error:
            lines.append(
                Text(f"  {'CRASHED: ' if game.crashed else ''}{game.error}", style="bold red")
            )
    return lines


def should_page(console: Console, lines: int, *, enabled: bool = True) -> bool:
    """Page only for a person: stdout is a terminal and the text is longer than the screen."""
    return enabled and console.is_terminal and lines > console.height


def print_replay(game: GameReplay, *, observations: bool, pager: bool) -> None:
    """Print the transcript; page it through $PAGER when it is long and stdout is a terminal."""
    console = _console()
    lines = _replay_lines(game, observations=observations)
    if should_page(console, len(lines), enabled=pager):
        # less shows colours only with -R; keep the user's own LESS if there is one.
        os.environ.setdefault("LESS", "-R")
        with console.pager(styles=True):
            console.print(Group(*lines))
        return
    console.print(Group(*lines))
