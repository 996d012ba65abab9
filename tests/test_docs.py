"""The docs are tested like code: the CLI reference is generated and current, every command is
documented, every Python snippet runs against a real database, and the README's quick start runs.

Snippets: every ```python block of README.md and docs/**/*.md runs, the blocks of one page in
order in one namespace (a page reads top to bottom), with ARENADB_DATABASE_URL naming a database
seeded with the `test` environment and a temporary working folder of its own. The pages share
one such database per backend (a PostgreSQL database costs seconds to drop: one per page would
add half a minute to every run), so a page must not depend on what another page wrote.
A block that is not meant to run is fenced ```python no-run. Shell blocks (```bash) of the
README, the getting-started page and the CLI guide run through the CLI on SQLite (the README's
on the default ./arenadb.db of an empty folder, the others on the demo database it seeds)
unless fenced ```bash no-run.
"""

from __future__ import annotations

import importlib
import re
import shlex
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.cli.reference import iter_commands, render_reference
from tests.conftest import BACKENDS, pg_server_url

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REFERENCE = DOCS / "cli-reference.md"
REGENERATE = "python -m arenadb.cli.reference > docs/cli-reference.md"
# Variables that would point the CLI somewhere else than the test's database.
DATABASE_VARIABLES = (
    "ARENADB_DATABASE_URL",
    "DATABASE_URL",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_PASSWORD",
    "DB_PATH",
)

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
runner = CliRunner()


@dataclass(frozen=True)
class Block:
    file: Path
    line: int
    language: str
    runs: bool
    code: str

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        words = match.group(1).split()
        if not words:
            continue
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(path, line, words[0], "no-run" not in words[1:], match.group(2)))
    return found


def python_blocks(path: Path) -> list[Block]:
    return [b for b in blocks(path) if b.language == "python"]


def _snippet_files() -> list[pytest.param]:
    params = []
    for path in doc_files():
        runnable = [b for b in python_blocks(path) if b.runs]
        if runnable:
            name = str(path.relative_to(ROOT))
            params.append(pytest.param(path, id=f"{name}[{len(runnable)} snippets]"))
    return params


# --- the CLI reference -------------------------------------------------------------------------


def test_cli_reference_is_current():
    assert REFERENCE.read_text(encoding="utf-8") == render_reference(), (
        f"docs/cli-reference.md is stale: run `{REGENERATE}`"
    )


def test_cli_reference_does_not_depend_on_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "37")
    monkeypatch.setenv("TERMINAL_WIDTH", "37")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert render_reference() == REFERENCE.read_text(encoding="utf-8")


def test_every_command_and_option_has_help_text():
    commands = list(iter_commands())
    paths = {c.path for c in commands}
    # The walk reaches subcommands of groups, including the lazily loaded ones.
    assert {"arenadb db check", "arenadb migrate check", "arenadb agents list"} <= paths
    assert len(commands) > 40
    for entry in commands:
        assert (entry.command.help or "").strip(), f"{entry.path} has no help text"
        for param in entry.command.params:
            if param.param_type_name == "option" and not param.hidden:
                assert (getattr(param, "help", None) or "").strip(), (
                    f"{entry.path} {param.opts[0]} has no help text"
                )


def test_every_command_is_in_the_reference_and_the_guide():
    reference = REFERENCE.read_text(encoding="utf-8")
    guide = (DOCS / "cli-guide.md").read_text(encoding="utf-8")
    for entry in iter_commands():
        assert f"\n## {entry.path}\n" in reference, f"{entry.path} missing from the reference"
        if entry.path != "arenadb":
            assert f"`{entry.path}" in guide, f"docs/cli-guide.md does not mention {entry.path}"


def test_docs_links_point_at_files_that_exist():
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for path in doc_files():
        for target in link.findall(path.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (path.parent / target).exists(), f"{path.relative_to(ROOT)}: broken {target}"


def _resolves(dotted: str) -> bool:
    """Whether `dotted` names a module or an attribute of one, without a deprecation warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            return _lookup(dotted)
        except DeprecationWarning:
            return False


def _lookup(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        try:
            for name in parts[cut:]:
                target = getattr(target, name)
        except AttributeError:
            return False
        return True
    return False


def test_import_paths_in_the_docs_exist():
    # Code spans naming `arenadb.something` (or the test support package) must import: the
    # layout moves, and a page naming a path that no longer exists is worse than none.
    dotted = re.compile(r"`((?:arenadb|tests\.support)(?:\.[A-Za-z_]\w*)+)")
    seen = set()
    for path in doc_files():
        for name in dotted.findall(path.read_text(encoding="utf-8")):
            seen.add(name)
            assert _resolves(name), f"{path.relative_to(ROOT)} names {name}, which does not exist"
    assert len(seen) > 20


def test_changelog_new_paths_exist():
    # Every row of the "Moved import paths" table: old path | new path. The new one must import.
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    dotted = re.compile(r"`((?:arenadb|tests\.support)(?:\.[A-Za-z_]\w*)+)")
    rows = [line for line in changelog.splitlines() if line.startswith("| `arenadb.")]
    assert len(rows) > 30
    for row in rows:
        new = row.split(" | ")[1]
        names = dotted.findall(new)
        assert names, row
        for name in names:
            assert _resolves(name), f"CHANGELOG.md: {name} does not exist"


def test_python_api_lists_the_whole_public_surface():
    import arenadb

    page = (DOCS / "python-api.md").read_text(encoding="utf-8")
    surface = page[page.index("## The public surface") : page.index("## Connect")]
    for name in arenadb.__all__:
        assert f"`{name}`" in surface, f"docs/python-api.md does not list arenadb.{name}"


def test_readme_stays_a_front_door():
    assert len((ROOT / "README.md").read_bytes()) < 12 * 1024


# --- Python snippets ---------------------------------------------------------------------------


def test_every_python_block_is_runnable_or_marked():
    ran = marked = 0
    for path in doc_files():
        for block in python_blocks(path):
            compile(block.code, block.where, "exec")  # even a no-run block must be Python
            if block.runs:
                ran += 1
            else:
                marked += 1
    print(f"{ran} Python snippets run in test_python_snippets_run, {marked} marked no-run")
    assert ran >= 10, "the docs lost their runnable examples"


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    # Module-scoped here (conftest's is per test), so that one seeded database serves every page.
    if request.param == "postgresql" and pg_server_url() is None:
        pytest.skip("ARENADB_TEST_POSTGRES_URL is not set: PostgreSQL tests need a server")
    return request.param


@pytest.fixture(scope="module")
def snippet_database(backend, _templates, tmp_path_factory) -> Iterator[str]:
    """The URL of a database of `backend` migrated to head and seeded with `test`."""
    from arenadb.db import drop_database
    from arenadb.seeding.seeder import seed_database

    if backend == "sqlite":
        settings = _templates.sqlite(tmp_path_factory.mktemp("snippets") / "arena.db")
    else:
        settings = _templates.postgresql()
    try:
        seed_database(settings, "test")
        yield settings.database_url
    finally:
        drop_database(settings, missing_ok=True)


@pytest.mark.parametrize("path", _snippet_files())
def test_python_snippets_run(path, snippet_database, tmp_path, monkeypatch):
    for name in DATABASE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARENADB_DATABASE_URL", snippet_database)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    ran = 0
    try:
        for block in python_blocks(path):
            if not block.runs:
                continue
            try:
                with warnings.catch_warnings():
                    # A page that uses a deprecated arenadb path teaches the old layout.
                    warnings.filterwarnings("error", "arenadb", DeprecationWarning)
                    exec(compile(block.code, block.where, "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"the snippet at {block.where} failed: {exc!r}") from exc
            ran += 1
    finally:
        _release_connections(namespace)
    assert ran > 0


def _release_connections(namespace: dict[str, object]) -> None:
    # Snippets leave engines open, as a script would; close them so the database can be dropped
    # at once instead of after PostgreSQL notices the idle sessions.
    from sqlalchemy.engine import Engine

    for value in namespace.values():
        if isinstance(value, Engine):
            value.dispose()


# --- shell snippets ----------------------------------------------------------------------------


def arenadb_commands(block: Block) -> list[list[str]]:
    """The `arenadb ...` commands of a shell block (a line may chain them with &&)."""
    commands = []
    for line in block.code.splitlines():
        line = line.split(" # ", 1)[0].strip()
        for part in line.split("&&"):
            part = part.strip()
            if part.startswith("arenadb "):
                assert not set("|<>;$`") & set(part), (
                    f"{block.where}: `{part}` needs a shell; fence the block ```bash no-run"
                )
                commands.append(shlex.split(part)[1:])
    return commands


def _clean_env() -> dict[str, str | None]:
    return dict.fromkeys(DATABASE_VARIABLES)


@dataclass(frozen=True)
class QuickStart:
    folder: Path
    results: list[tuple[list[str], int, str]]

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.folder / 'arenadb.db'}"


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory) -> QuickStart:
    """The README's shell commands, run in an empty folder with no database configured."""
    import os

    shell = [b for b in blocks(ROOT / "README.md") if b.language == "bash" and b.runs]
    folder = tmp_path_factory.mktemp("quick-start")
    results = []
    here = Path.cwd()
    os.chdir(folder)
    try:
        for args in [c for b in shell for c in arenadb_commands(b)]:
            result = runner.invoke(app, args, env=_clean_env())
            results.append((args, result.exit_code, result.output))
    finally:
        os.chdir(here)
    return QuickStart(folder, results)


def test_readme_quick_start_runs_on_the_default_sqlite_file(quick_start):
    commands = [args for args, _code, _output in quick_start.results]
    assert ["init", "--seed", "demo"] in commands and ["games", "list"] in commands
    for args, code, output in quick_start.results:
        assert code == 0, (args, output)
    assert (quick_start.folder / "arenadb.db").is_file()
    listing = runner.invoke(
        app,
        ["--json", "games", "list"],
        env={**_clean_env(), "DB_PATH": str(quick_start.folder / "arenadb.db")},
    )
    assert listing.exit_code == 0 and '"status": "completed"' in listing.stdout


def test_readme_install_and_test_commands_are_the_ones_ci_runs():
    # .ci/run names the README's commands in its log lines: `install (README: ...)`.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    promised = re.findall(r'README: ((?:[^()"]|\\")+)\)', ci)
    promised = [p.replace('\\"', '"') for p in promised]
    assert 'pip install -e ".[dev]"' in promised and "pytest" in promised
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shell = "\n".join(b.code for b in blocks(ROOT / "README.md") if b.language == "bash")
    for command in promised:
        assert command in readme
    assert 'pip install -e ".[dev]"' in shell and re.search(r"(^|\s)pytest(\s|$)", shell)


@pytest.mark.parametrize("page", ["cli-guide.md", "getting-started.md"])
def test_docs_shell_examples_run(page, quick_start, tmp_path, monkeypatch):
    shell = [b for b in blocks(DOCS / page) if b.language == "bash" and b.runs]
    commands = [c for b in shell for c in arenadb_commands(b)]
    assert len(commands) >= 5
    monkeypatch.chdir(tmp_path)
    env = {**_clean_env(), "ARENADB_DATABASE_URL": quick_start.database_url}
    for args in commands:
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, (args, result.output)
    print(f"{len(commands)} commands of docs/{page} ran")
