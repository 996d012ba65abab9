"""Plug-ins over the public recorder: provider usage parsing (and the TextArena adapter)."""
