"""What the CLI and library users call. Functions take Settings (or an engine/session) and
return data; they never print."""

from collections.abc import Callable

# (what, done, total): long operations report progress through this; the CLI draws it on stderr.
Progress = Callable[[str, int, int], None]
