"""The Starlette application of `arenadb serve`: read-only engine, pages, headers, token check.

    from arenadb.web.app import create_app
    app = create_app(settings)                  # serve it with uvicorn, or test it with TestClient
    app = create_app(settings, token="s3cret")  # every page then needs the token

Safety by construction: the engine is read-only (see `arenadb.db.engine.create_engine`), there
is no endpoint that takes SQL, every page is rendered by Jinja2 with autoescaping, and every
response carries a Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from arenadb.config import Settings
from arenadb.errors import NotFoundError
from arenadb.web import auth
from arenadb.web.views import HERE, SECURITY_HEADERS, WebState, error_page, json_response


class SecurityMiddleware(BaseHTTPMiddleware):
    """The token check (when a token is set) and the security headers on every response."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        web: WebState = request.app.state.web
        if web.allowed_hosts is not None and _host(request) not in web.allowed_hosts:
            # A page on another site that rebinds its own name to 127.0.0.1 would otherwise
            # read the arena through the visitor's browser (DNS rebinding).
            response = json_response({"error": "unknown host"}, 400)
            response.headers.update(SECURITY_HEADERS)
            return response
        guarded = web.token is not None and not auth.is_open(request.url.path)
        if guarded and not auth.authorized(request, web.token or ""):
            response = _unauthorized(request, web)
            response.headers.update(SECURITY_HEADERS)
            return response
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response


def _host(request: Request) -> str:
    """The Host header's name, without the port (IPv6 brackets removed)."""
    return (urlsplit("//" + request.headers.get("host", "")).hostname or "").lower()


def _unauthorized(request: Request, web: WebState) -> Response:
    if request.url.path.endswith(".json") or "text/html" not in request.headers.get("accept", ""):
        response = json_response({"error": "a token is required"}, 401)
    else:
        response = web.render(
            request, "login.html", 401, next=request.url.path, message="a token is required"
        )
    response.headers["www-authenticate"] = 'Bearer realm="arenadb"'
    return response


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_page(request, NotFoundError(f"no page at {request.url.path}"))


def create_app(
    settings: Settings, *, token: str | None = None, allowed_hosts: Iterable[str] | None = None
) -> Starlette:
    """The read-only web app over `settings`' database (`token`: required on every page;
    `allowed_hosts`: the only names accepted in the Host header, None for any)."""
    from arenadb.db import create_engine
    from arenadb.web.pages import routes

    engine = create_engine(settings, read_only=True)
    if engine.dialect.name == "postgresql":
        # BEGIN READ ONLY for every request's transaction, on top of the session default.
        engine = engine.execution_options(postgresql_readonly=True)
    hosts = (
        None if allowed_hosts is None else frozenset(h.strip("[]").lower() for h in allowed_hosts)
    )
    web = WebState(settings, engine, token, hosts)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            engine.dispose()

    app = Starlette(
        routes=[
            *routes(),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=[Middleware(SecurityMiddleware)],
        exception_handlers={404: _not_found},
        lifespan=lifespan,
    )
    app.state.web = web
    return app
