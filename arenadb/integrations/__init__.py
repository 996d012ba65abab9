"""Plug-ins over the public recorder for the arenas and providers researchers use.

- `arenadb.integrations.usage`: tokens, finish reason and ids from provider responses.
- `arenadb.integrations.textarena`: record TextArena games without glue (`pip install
  arenadb[textarena]`).
"""
