"""Running the app: the bind rule (loopback, or a token) and uvicorn."""

from __future__ import annotations

import ipaddress
import sys
import threading
from typing import Any

from arenadb.config import Settings
from arenadb.errors import UsageError

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
LOOPBACK_HOSTS = {*LOOPBACK_NAMES, "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(host: str, token: str | None) -> None:
    """A non-loopback address shares the database with the network: only with a token."""
    if token is not None and not token.strip():
        raise UsageError("the token is empty", parameter="token")
    if not is_loopback(host) and token is None:
        raise UsageError(
            f"refusing to serve on {host} without a token: others could read the arena",
            parameter="token",
        )


def run(settings: Settings, *, host: str, port: int, token: str | None) -> None:
    """Serve until interrupted (uvicorn; one process)."""
    import uvicorn

    from arenadb.db import create_engine
    from arenadb.web.app import create_app

    # Fail before binding when the database cannot be opened (missing, unreachable).
    probe = create_engine(settings, read_only=True, pooled=False)
    try:
        with probe.connect():
            pass
    finally:
        probe.dispose()
    # Bound to loopback without a token: only the loopback names may be asked for.
    hosts = None if token is not None else {*LOOPBACK_HOSTS, host}
    app = create_app(settings, token=token, allowed_hosts=hosts)
    threading.Thread(target=warm_up, args=(app.state.web,), daemon=True).start()
    shown = f"[{host}]" if ":" in host else host
    print(
        f"arenadb serve: http://{shown}:{port}/ (read-only, {settings.masked_url})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def warm_up(web: Any) -> None:
    """Compute the slow pages' data (default boards, model usage) before the first visitor."""
    from arenadb.web import data

    try:
        data.boards(web.cache, web.engine, None, data.BoardQuery.parse({}))
        data.models(web.cache, web.engine)
    except Exception:  # the page itself will show the error, as one line
        pass
