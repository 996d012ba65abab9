"""The one progress protocol of long library operations."""

from collections.abc import Callable

# (what, done, total): long operations report progress through this; the CLI draws it on stderr.
Progress = Callable[[str, int, int], None]
