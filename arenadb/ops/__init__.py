"""What the CLI and library users call. Functions take Settings (or an engine/session) and
return data; they never print."""
