"""`arenadb models stats`: what each LLM model cost, how fast and how reliable it was;
`arenadb models rollup rebuild`: recompute the usage rollup those figures come from.
`arenadb models prices`: their dated prices."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from arenadb.cli.common import app_context
from arenadb.cli.options import CsvOption, JsonOption, number_option, time_option
from arenadb.cli.render.output import info, output_format, print_json, render_rows, to_plain
from arenadb.cli.render.tables import money, percent

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
            "error_rate": percent(m.error_rate),
            "input_tokens": f"{m.input_tokens:,}",
            "output_tokens": f"{m.output_tokens:,}",
            "reasoning_tokens": f"{m.reasoning_tokens:,}",
            "cost": money(m.cost, m.cost_complete),
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


prices_app = typer.Typer(
    help="Dated prices per million tokens: list them, or set one from a day on.",
    invoke_without_command=True,
)
app.add_typer(prices_app, name="prices")

PRICE_COLUMNS = [
    "model",
    "effective_from",
    "input",
    "output",
    "cache_read",
    "cache_write",
    "reasoning",
]


# Dollars per million tokens: more than this is a typo (the dearest models cost a few hundred).
PRICE_MAX = 1_000_000.0


def _price_option(flag: str, what: str) -> Any:
    return number_option(flag, low=0.0, high=PRICE_MAX, help=f"Dollars per million {what}.")


@prices_app.callback()
def prices(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Only this model (id or name).")
    ] = None,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Every model's prices by effective day (a call is priced at the price of its day);
    empty cells: no price for that kind of token (reasoning: billed as output)."""
    if ctx.invoked_subcommand is not None:
        return
    from arenadb.catalog.prices import PriceRow, list_prices
    from arenadb.db import engine_scope

    fmt = output_format(ctx, json_output, csv_output)
    with engine_scope(app_context(ctx).settings()) as engine:
        rows = list_prices(engine, model=model)
    render_rows(rows, PRICE_COLUMNS, fmt, title="model prices", csv_fields=PriceRow)


@prices_app.command("set")
def set_prices(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="The model (id or name).")],
    effective_from: Annotated[
        str,
        time_option("--from", help="First day (UTC) the prices apply: 2026-03-01, or an age: 7d."),
    ],
    input_price: Annotated[float | None, _price_option("--input", "input tokens")] = None,
    output_price: Annotated[float | None, _price_option("--output", "output tokens")] = None,
    cache_read: Annotated[
        float | None, _price_option("--cache-read", "input tokens read from a cache")
    ] = None,
    cache_write: Annotated[
        float | None, _price_option("--cache-write", "input tokens written to a cache")
    ] = None,
    reasoning: Annotated[
        float | None, _price_option("--reasoning", "reasoning tokens, where priced apart")
    ] = None,
) -> None:
    """Set MODEL's prices from a day on; kinds not given carry over from the price in force
    that day. Calls already recorded keep their cost."""
    from arenadb.catalog.prices import set_price
    from arenadb.db import engine_scope
    from arenadb.inspection.filters import parse_when

    given = (input_price, output_price, cache_read, cache_write, reasoning)
    if all(v is None for v in given):
        raise typer.BadParameter(
            "give at least one of --input, --output, --cache-read, --cache-write, --reasoning"
        )
    with engine_scope(app_context(ctx).settings()) as engine:
        row = set_price(
            engine,
            model,
            effective_from=parse_when(effective_from).date(),
            input=input_price,
            output=output_price,
            cache_read=cache_read,
            cache_write=cache_write,
            reasoning=reasoning,
        )
    typer.echo(f"prices of {row.model} from {row.effective_from.isoformat()} set", err=True)
