"""Safe writes of output files: the one way every command writes a file (STYLE.md rule 16).

An output is a new regular file unless `force` allows replacing an existing regular file. It is
never one of the database files being read (compared by device and inode, and by resolved
path for those not there yet), never a device, a directory or a symbolic link (the link is not
followed, even with `force`). The content goes to a uniquely named temporary in the target's
folder, renamed into place at the end; on failure only that temporary is removed, so a
`X.partial` that someone else owns is never touched.

    with safe_output(path, force=force, protected=sqlite_files(url)) as temporary:
        write(temporary)
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from arenadb.errors import InvalidArgumentError, RefusedError

SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def sqlite_files(database: str | os.PathLike[str] | None) -> list[Path]:
    """A SQLite database file and its companions (what an output must never replace)."""
    if database is None or str(database) in ("", ":memory:"):
        return []
    return [Path(f"{database}{suffix}") for suffix in SQLITE_COMPANIONS]


def check_output(path: Path, *, force: bool = False, protected: Iterable[Path] = ()) -> None:
    """Raise unless `path` may be written as an output; see the module docstring."""
    folder = path.absolute().parent
    if not folder.is_dir():
        raise InvalidArgumentError(f"cannot write {path}: folder {folder} does not exist")
    try:
        info = path.lstat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InvalidArgumentError(f"cannot write {path}: {exc.strerror}") from None
    _check_not_protected(path, info, protected)
    if info is None:
        return
    if stat.S_ISLNK(info.st_mode):
        raise RefusedError(f"{path} is a symbolic link: refusing to replace it (name the file)")
    if stat.S_ISDIR(info.st_mode):
        raise InvalidArgumentError(f"{path} is a directory: name a file to write")
    if not stat.S_ISREG(info.st_mode):
        raise RefusedError(f"{path} is not a regular file (a device or pipe): refusing to write")
    if not force:
        raise RefusedError(
            f"{path} already exists; overwriting it was not asked for", parameter="force"
        )


def _check_not_protected(path: Path, info: os.stat_result | None, protected: Iterable[Path]):
    target = path.absolute().resolve()
    for other in protected:
        same = other.absolute().resolve() == target
        if not same and info is not None and other.exists():
            found = other.stat()
            same = (found.st_dev, found.st_ino) == (info.st_dev, info.st_ino)
        if same:
            raise RefusedError(f"{path} is the database being read ({other}): refusing to write")


@contextlib.contextmanager
def safe_output(
    path: str | os.PathLike[str], *, force: bool = False, protected: Iterable[Path] = ()
) -> Iterator[Path]:
    """Yield a fresh temporary next to `path`; move it into place when the block succeeds."""
    target = Path(path)
    protected = list(protected)
    check_output(target, force=force, protected=protected)
    try:
        fd, name = tempfile.mkstemp(
            dir=target.absolute().parent, prefix=f".{target.name}.", suffix=".partial"
        )
    except OSError as exc:
        raise InvalidArgumentError(f"cannot write {target}: {exc.strerror}") from None
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        _publish(temporary, target, force=force, protected=protected)
    finally:
        temporary.unlink(missing_ok=True)


def _publish(temporary: Path, target: Path, *, force: bool, protected: list[Path]) -> None:
    # mkstemp made it 0600; an output gets the permissions any new file would.
    umask = os.umask(0)
    os.umask(umask)
    temporary.chmod(0o666 & ~umask)
    check_output(target, force=force, protected=protected)  # again: the work took a while
    if force:
        os.replace(temporary, target)  # replaces a link itself, never what it points to
        return
    try:
        # A hard link fails if the name appeared meanwhile: never overwrites without force.
        os.link(temporary, target)
    except FileExistsError:
        raise RefusedError(
            f"{target} already exists; overwriting it was not asked for", parameter="force"
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        os.replace(temporary, target)  # a filesystem without hard links: checked just above


@contextlib.contextmanager
def safe_output_dir(
    path: str | os.PathLike[str], *, force: bool = False, marker: str
) -> Iterator[Path]:
    """Yield a fresh temporary folder next to `path`; move it into place when the block succeeds.

    `path` must not exist, or, with `force`, be a folder that an earlier run of the same writer
    made (it holds the file `marker`): any other folder, file or link is never replaced, so a
    mistyped `-o ~/data` cannot delete what is there.
    """
    target = Path(path)
    _check_output_dir(target, force=force, marker=marker)
    try:
        temporary = Path(
            tempfile.mkdtemp(
                dir=target.absolute().parent, prefix=f".{target.name}.", suffix=".partial"
            )
        )
    except OSError as exc:
        raise InvalidArgumentError(f"cannot write {target}: {exc.strerror}") from None
    try:
        yield temporary
        umask = os.umask(0)
        os.umask(umask)
        temporary.chmod(0o777 & ~umask)
        _check_output_dir(target, force=force, marker=marker)  # again: the work took a while
        if target.exists():
            # Swap, then remove the old dataset: the target is never missing a valid dataset.
            old = Path(
                tempfile.mkdtemp(
                    dir=target.absolute().parent, prefix=f".{target.name}.", suffix=".old"
                )
            )
            os.rename(target, old / "dataset")
            os.rename(temporary, target)
            shutil.rmtree(old)
        else:
            os.rename(temporary, target)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary)


def _beside(target: Path) -> str:
    return str(target.absolute().parent)


def _check_output_dir(target: Path, *, force: bool, marker: str) -> None:
    folder = target.absolute().parent
    if not folder.is_dir():
        raise InvalidArgumentError(f"cannot write {target}: folder {folder} does not exist")
    try:
        info = target.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InvalidArgumentError(f"cannot write {target}: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise RefusedError(f"{target} is a symbolic link: refusing to replace it")
    if not stat.S_ISDIR(info.st_mode):
        raise RefusedError(f"{target} exists and is not a folder: refusing to replace it")
    if not force:
        raise RefusedError(
            f"{target} already exists; overwriting it was not asked for", parameter="force"
        )
    if not (target / marker).is_file():
        raise RefusedError(
            f"{target} is not a dataset this command wrote (no {marker}): refusing to replace it"
        )
