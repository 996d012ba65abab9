"""The Starlette application of `arenadb serve`: read-only engine, pages, headers, token check.

    from arenadb.web.app import create_app
    app = create_app(settings)                  # serve it with uvicorn, or test it with TestClient
    app = create_app(settings, token="s3cret")  # every page then needs the token

Safety by construction: the engine is read-only (see `arenadb.db.engine.create_engine`), there
is no endpoint that takes SQL, every page is rendered by Jinja2 with autoescaping, and every
response carries a Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from arenadb.config import Settings, mask_text
from arenadb.errors import (
    AmbiguousError,
    ArenaDBError,
    DatabaseMissingError,
    DatabaseUnavailableError,
    InvalidDataError,
    NotFoundError,
)
from arenadb.web import auth
from arenadb.web.data import PageCache

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def templates() -> Environment:
    """Jinja2 with autoescaping on for every template (LLM outputs are attacker-controlled)."""
    from arenadb.web import formats

    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(formats.FILTERS)
    return env


class WebState:
    """What every request handler reaches through `request.app.state.web`."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        token: str | None,
        allowed_hosts: frozenset[str] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.token = token
        self.allowed_hosts = allowed_hosts
        self.cache = PageCache(engine)
        self.env = templates()

    def render(
        self, request: Request, name: str, status_code: int = 200, **context: Any
    ) -> Response:
        html = self.env.get_template(name).render(
            request_path=request.url.path, token_required=self.token is not None, **context
        )
        return HTMLResponse(html, status_code=status_code)

    def mask(self, text: str) -> str:
        return mask_text(text, self.settings.secrets())


def json_response(value: Any, status: int = 200) -> Response:
    """The CLI's `--json` text (same dumps options), as application/json."""
    body = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    return Response(body, status_code=status, media_type="application/json")


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


STATUS = [
    (NotFoundError, 404),
    (AmbiguousError, 400),
    (InvalidDataError, 400),
    (DatabaseMissingError, 503),
    (DatabaseUnavailableError, 503),
]


def _error_page(request: Request, exc: Exception) -> Response:
    """A library error as a page (or JSON) with its status; the message masked."""
    web: WebState = request.app.state.web
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), 500)
    message = web.mask(" ".join(str(exc).split()) or type(exc).__name__)
    if request.url.path.endswith(".json"):
        return json_response({"error": message}, status)
    return web.render(request, "error.html", status, status=status, message=message)


def _internal_error(request: Request, exc: Exception) -> Response:
    """Anything else: a driver error translated by the library, or a generic 500 that shows no
    detail (it could hold a URL or a secret)."""
    from arenadb.db.errors import translate_error

    web: WebState = request.app.state.web
    translated = translate_error(exc, web.settings)
    if translated is not None:
        return _error_page(request, translated)
    message = f"internal error ({type(exc).__name__})"
    if request.url.path.endswith(".json"):
        return json_response({"error": message}, 500)
    return web.render(request, "error.html", 500, status=500, message=message)


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error_page(request, NotFoundError(f"no page at {request.url.path}"))


def create_app(
    settings: Settings, *, token: str | None = None, allowed_hosts: Iterable[str] | None = None
) -> Starlette:
    """The read-only web app over `settings`' database (`token`: required on every page;
    `allowed_hosts`: the only names accepted in the Host header, None for any)."""
    from arenadb.db import create_engine
    from arenadb.web.pages import routes

    engine = create_engine(settings, read_only=True)
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


def route_pair(
    path: str, view: Callable[[Request, WebState], tuple[Any, str, dict[str, Any]]]
) -> list[Route]:
    """`path` (HTML) and `path.json` (its JSON twin) from one view returning
    (JSON value, template, template context)."""

    def respond(request: Request, as_json: bool) -> Response:
        web: WebState = request.app.state.web
        try:
            value, template, context = view(request, web)
        except ArenaDBError as exc:
            return _error_page(request, exc)
        except Exception as exc:
            return _internal_error(request, exc)
        if as_json:
            return json_response(value)
        return web.render(request, template, **context)

    def html(request: Request) -> Response:
        return respond(request, as_json=False)

    def twin(request: Request) -> Response:
        return respond(request, as_json=True)

    json_path = "/index.json" if path == "/" else f"{path}.json"
    return [Route(json_path, twin, methods=["GET"]), Route(path, html, methods=["GET"])]
