"""Page rendering for the subscriber site: Jinja templates, security headers, CSRF signed_links.

CSRF uses a signed double submit: a random cookie, and a hidden field holding an HMAC-signed
token whose subject is that cookie's value; a post is accepted only when the two agree.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from newsletter import signed_links
from newsletter.errors import TokenError
from newsletter.models import Paper
from newsletter.paper_links import safe_url, search_url

TEMPLATES = Path(__file__).resolve().parent / "templates" / "site"
CSRF_COOKIE = "nl_csrf"
CSRF = "csrf"
CSRF_TTL = timedelta(hours=12)
HEADERS = {
    # The pages carry signed tokens in their URLs: never leak them in a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    # CSP frame-ancestors says the same to current browsers; this, to older ones.
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
# Sent when base_url is https: browsers then refuse plain http to the site for a year.
HSTS = {"Strict-Transport-Security": "max-age=31536000"}
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def paper_url(paper: Paper) -> str:
    """Where a page links a paper: its own link, else a search for its title."""
    return safe_url(paper.link) or search_url(paper.title)


_env.filters["paper_url"] = paper_url


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``site/<name>.html`` with the security headers every page carries."""
    html = _env.get_template(f"{name}.html").render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def error_page(status: int, title: str, message: str) -> HTMLResponse:
    """A clear page for a bad link, a bad form or a limit; nothing was changed."""
    return page("error", status, title=title, message=message)


def plain(text: str, status: int = 200, media_type: str = "text/plain") -> Response:
    return Response(text, status_code=status, media_type=media_type, headers=HEADERS)


class CsrfError(TokenError):
    """A form post without a genuine, fresh CSRF token for this browser."""


class Csrf:
    """Issue and check the form tokens; ``secure`` cookies when the site is served over HTTPS."""

    def __init__(self, secret: str, secure: bool, public_origin: str = "") -> None:
        self.secret = secret
        self.secure = secure
        self.public_origin = public_origin  # scheme://host[:port] of newsletter.base_url

    def cookie_value(self, request: Request) -> tuple[str, bool]:
        """The browser's CSRF cookie, or a new one (True when it must be set)."""
        value = request.cookies.get(CSRF_COOKIE, "")
        if 20 <= len(value) <= 100:
            return value, False
        return secrets.token_urlsafe(24), True

    def origins(self, request: Request) -> set[str]:
        """Where this site's own forms post from: its public address, and the address the
        request came to (behind a proxy they differ)."""
        own = f"{request.url.scheme}://{request.url.netloc}"
        return {own, self.public_origin}

    def token(self, cookie: str, now: datetime) -> str:
        return signed_links.sign(self.secret, CSRF, cookie, now=now, ttl=CSRF_TTL)

    def check(self, request: Request, given: str, now: datetime) -> None:
        """CsrfError unless ``given`` was issued for this browser's cookie and is fresh."""
        cookie = request.cookies.get(CSRF_COOKIE, "")
        # Browsers send "null" for pages that set Referrer-Policy: no-referrer (ours do); then
        # the cookie alone decides, as it does when no Origin is sent at all.
        origin = request.headers.get("origin", "null")
        if origin != "null" and origin not in self.origins(request):
            raise CsrfError(f"the form was posted from another site ({origin})")
        try:
            claims = signed_links.verify(self.secret, CSRF, given, now=now)
        except TokenError as exc:
            raise CsrfError(f"the form's security token is not valid ({exc})") from None
        if not cookie or not hmac.compare_digest(claims.subject, cookie):
            raise CsrfError("the form does not belong to this browser session (cookie missing)")

    def form_page(
        self, request: Request, name: str, now: datetime, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """A page holding a form: its CSRF field filled in, its cookie set when new."""
        cookie, fresh = self.cookie_value(request)
        response = page(name, status, csrf=self.token(cookie, now), **context)
        if fresh:
            response.set_cookie(
                CSRF_COOKIE,
                cookie,
                max_age=int(CSRF_TTL.total_seconds()),
                httponly=True,
                samesite="lax",
                secure=self.secure,
                path="/",
            )
        return response
