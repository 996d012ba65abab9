"""The token check of `arenadb serve --token`: a bearer header, or a login form's cookie.

The cookie holds an HMAC of the token, not the token itself; every comparison is constant-time
(`hmac.compare_digest`). The token is never echoed in a page, a header or an error.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

COOKIE = "arenadb_session"
OPEN_PATHS = ("/login", "/favicon.ico", "/static/")


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"arenadb-web-session", hashlib.sha256).hexdigest()


def authorized(request: Request, token: str) -> bool:
    """The request carries `Authorization: Bearer TOKEN` or the login cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    cookie = request.cookies.get(COOKIE, "")
    return hmac.compare_digest(cookie.encode(), session_value(token).encode())


def is_open(path: str) -> bool:
    return path in OPEN_PATHS[:2] or path.startswith(OPEN_PATHS[2])


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path of this site only (no `//host` or scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def read_login_form(request: Request) -> tuple[str, str]:
    """(token, next) from the urlencoded login form (no multipart parser needed)."""
    body = (await request.body())[:8192].decode("utf-8", "replace")
    fields = parse_qs(body, keep_blank_values=True)
    return (fields.get("token") or [""])[0], (fields.get("next") or ["/"])[0]


def logged_in(token: str, target: str) -> Response:
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict", path="/")
    return response


def logged_out() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
