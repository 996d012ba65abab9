"""`arenadb models stats`: what each LLM model cost, how fast and how reliable it was;
`arenadb models rollup rebuild`: recompute the usage rollup those figures come from."""

from __future__ import annotations

from typing import Annotated

import typer

from arenadb.cli.common import app_context
from arenadb.cli.options import CsvOption, JsonOption
from arenadb.cli.render.output import info, output_format, print_json, render_rows, to_plain

app = typer.Typer(help="LLM models: usage, cost, latency, errors.", no_args_is_help=True)
rollup_app = typer.Typer(help="The per model, per day usage rollup.", no_args_is_help=True)
app.add_typer(rollup_app, name="rollup")

MODEL_COLUMNS = [
    "id",
    "model",
    "provider",
    "calls",
    "error_rate",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cost",
    "latency_p50_ms",
    "latency_p95_ms",
]

ExactOption = Annotated[
    bool,
    typer.Option(
        "--exact",
        help="Read every LLM call: exact percentiles, in a time that grows with the table.",
    ),
]


@app.command("stats")
def stats(
    ctx: typer.Context,
    exact: ExactOption = False,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Per model: calls, tokens, cost, latency p50/p95, error rate. From the usage rollup:
    totals exact, percentiles from a latency histogram within 9.1% (--exact: every call)."""
    from arenadb.db import engine_scope
    from arenadb.inspection.usage import ModelStats, models_stats

    fmt = output_format(ctx, json_output, csv_output)
    with engine_scope(app_context(ctx).settings()) as engine:
        models = models_stats(engine, exact=exact)
    if fmt != "table":
        render_rows(to_plain(models), MODEL_COLUMNS, fmt, csv_fields=ModelStats)
        return
    rows = [
        {
            **vars(m),
            "calls": f"{m.calls:,}",
            "error_rate": "" if m.error_rate is None else f"{m.error_rate:.1%}",
            "input_tokens": f"{m.input_tokens:,}",
            "output_tokens": f"{m.output_tokens:,}",
            "reasoning_tokens": f"{m.reasoning_tokens:,}",
            "cost": _cost(m.cost, m.cost_unknown),
            "latency_p50_ms": "" if m.latency_p50_ms is None else f"{m.latency_p50_ms:,.0f}",
            "latency_p95_ms": "" if m.latency_p95_ms is None else f"{m.latency_p95_ms:,.0f}",
        }
        for m in models
    ]
    headers = {
        "error_rate": "errors",
        "input_tokens": "in tok",
        "output_tokens": "out tok",
        "reasoning_tokens": "reason tok",
        "latency_p50_ms": "p50 ms",
        "latency_p95_ms": "p95 ms",
    }
    render_rows(rows, MODEL_COLUMNS, fmt, title="models", headers=headers)
    if not exact and models:
        error = models[0].latency_error
        info(f"p50/p95 from a latency histogram: within {error:.1%} (--exact reads every call)")


def _cost(cost: float | None, unknown: int) -> str:
    if cost is None:
        return "unknown" if unknown else ""
    return f"${cost:,.4f}" + (f" (+{unknown:,} unpriced)" if unknown else "")


@rollup_app.command("rebuild")
def rebuild(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Recompute the usage rollup from every LLM call (after calls were changed outside
    arenadb); arenadb keeps it exact on every write of its own."""
    from arenadb.db import engine_scope
    from arenadb.db.rollups import rebuild_rollup

    with engine_scope(app_context(ctx).settings()) as engine:
        result = rebuild_rollup(engine)
    if output_format(ctx, json_output) == "json":
        print_json({"status": "ok", **vars(result)})
        return
    info(
        f"usage rollup rebuilt: {result.rows:,} rows from {result.calls:,} LLM calls "
        f"in {result.seconds:.2f} s"
    )
