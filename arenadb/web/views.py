"""What the pages share: the templates, the per-app state, the JSON twin's response, the
error pages, and `route_pair` (a view served as HTML at PATH and as JSON at PATH.json).

Templates are Jinja2 with autoescaping on for every one of them: LLM outputs, aliases and
game-type names are attacker-controlled.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from arenadb.config import Settings, mask_text
from arenadb.errors import (
    AmbiguousError,
    ArenaDBError,
    DatabaseMissingError,
    DatabaseUnavailableError,
    InvalidDataError,
    NotFoundError,
)
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


STATUS = [
    (NotFoundError, 404),
    (AmbiguousError, 400),
    (InvalidDataError, 400),
    (DatabaseMissingError, 503),
    (DatabaseUnavailableError, 503),
]


def error_page(request: Request, exc: Exception) -> Response:
    """A library error as a page (or JSON) with its status; the message masked."""
    web: WebState = request.app.state.web
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), 500)
    message = web.mask(" ".join(str(exc).split()) or type(exc).__name__)
    if request.url.path.endswith(".json"):
        return json_response({"error": message}, status)
    return web.render(request, "error.html", status, status=status, message=message)


def internal_error(request: Request, exc: Exception) -> Response:
    """Anything else: a driver error translated by the library, or a generic 500 that shows no
    detail (it could hold a URL or a secret)."""
    from arenadb.db.errors import translate_error

    web: WebState = request.app.state.web
    translated = translate_error(exc, web.settings)
    if translated is not None:
        return error_page(request, translated)
    message = f"internal error ({type(exc).__name__})"
    if request.url.path.endswith(".json"):
        return json_response({"error": message}, 500)
    return web.render(request, "error.html", 500, status=500, message=message)


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
            return error_page(request, exc)
        except Exception as exc:
            return internal_error(request, exc)
        if as_json:
            return json_response(value)
        return web.render(request, template, **context)

    def html(request: Request) -> Response:
        return respond(request, as_json=False)

    def twin(request: Request) -> Response:
        return respond(request, as_json=True)

    json_path = "/index.json" if path == "/" else f"{path}.json"
    return [Route(json_path, twin, methods=["GET"]), Route(path, html, methods=["GET"])]
