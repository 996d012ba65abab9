"""How fast `arenadb --help` and `arenadb config show` start, against a bare Typer app.

The baseline is a three-command Typer app measured in the same run on the same interpreter, so
the ratio means something on a noisy machine. Goal: `arenadb --help` at most 1.3x the baseline.

    python benchmarks/cli_startup.py [--runs 21]

Last line: `help_vs_bare_typer=X config_show_vs_bare_typer=Y`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_APP = """
import typer

app = typer.Typer()


@app.command()
def one() -> None:
    "First."


@app.command()
def two() -> None:
    "Second."


@app.command()
def three() -> None:
    "Third."


app()
"""


def _time(command: list[str], cwd: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bare = Path(folder) / "bare.py"
        bare.write_text(BARE_APP)
        commands = {
            "bare typer --help": [sys.executable, str(bare), "--help"],
            "arenadb --help": [sys.executable, "-m", "arenadb", "--help"],
            "arenadb config show": [sys.executable, "-m", "arenadb", "config", "show"],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for command in commands.values():  # warm the OS cache and .pyc files
            _time(command, folder)
        for _ in range(args.runs):  # interleaved, so drift hits every command alike
            for name, command in commands.items():
                samples[name].append(_time(command, folder))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["bare typer --help"]
    for name, value in medians.items():
        print(f"{name:<22} median {value * 1000:7.1f} ms   {value / base:5.2f}x")
    print(
        f"help_vs_bare_typer={medians['arenadb --help'] / base:.2f} "
        f"config_show_vs_bare_typer={medians['arenadb config show'] / base:.2f}"
    )


if __name__ == "__main__":
    main()
