"""`arenadb models stats`: what each LLM model cost, how fast and how reliable it was."""

from __future__ import annotations

import typer

from arenadb.cli.common import app_context
from arenadb.cli.options import CsvOption, JsonOption
from arenadb.cli.render.output import output_format, render_rows, to_plain

app = typer.Typer(help="LLM models: usage, cost, latency, errors.", no_args_is_help=True)

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


@app.command("stats")
def stats(
    ctx: typer.Context, json_output: JsonOption = False, csv_output: CsvOption = False
) -> None:
    """Per model: calls, input/output/reasoning tokens, cost, latency p50/p95, error rate."""
    from arenadb.db import engine_scope
    from arenadb.inspection.usage import ModelStats, models_stats

    fmt = output_format(ctx, json_output, csv_output)
    with engine_scope(app_context(ctx).settings()) as engine:
        models = models_stats(engine)
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
            "cost": f"${m.cost:,.4f}",
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
