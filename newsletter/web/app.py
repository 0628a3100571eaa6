"""The subscriber web app (Starlette): sign-up with double opt-in, confirm, preferences,
one-click unsubscribe (RFC 8058), feedback, and the read-only web copy, archive and feed of
a reader's issues. Server-rendered; works without JavaScript.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsletter import addresses, signed_links
from newsletter.app import promises
from newsletter.app.accounts import Site, StoredSubscriber, UsedLink, kept_by_file
from newsletter.errors import TokenError
from newsletter.models import Subscriber
from newsletter.profile import WEEKDAYS
from newsletter.reader_profile import FormErrors, validate
from newsletter.web.archive_pages import ArchivePages, kept_private
from newsletter.web.forms import Form, FormRefused, form_values, profile_data, read_form
from newsletter.web.pages import HEADERS, HSTS, Csrf, CsrfError, error_page, page, plain
from newsletter.web.work import TooSlow, in_worker
from newsletter.wording import duration

Handler = Callable[[Request], Awaitable[Response]]
ZONES = sorted(z for z in available_timezones() if "/" in z or z == "UTC")
TZ_SCRIPT = """// Pre-fill the time zone from the browser, unless the reader already chose one.
var tz = document.getElementById("timezone");
try {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (tz && zone && (tz.value === "" || tz.value === "UTC") && !tz.dataset.chosen) tz.value = zone;
} catch (e) {}
"""
FEEDBACK_SCRIPT = """// A person's browser records the vote the link was opened for; scanners that
// only fetch the page record nothing. Without scripts, the page's button does it.
var vote = document.getElementById("vote");
if (vote && vote.dataset.auto === "1") {
  [["auto", "1"], ["j", vote.dataset.judgment]].forEach(function (pair) {
    var field = document.createElement("input");
    field.type = "hidden";
    field.name = pair[0];
    field.value = pair[1];
    vote.appendChild(field);
  });
  document.getElementById("vote-status").textContent = "Recording your feedback\u2026";
  vote.submit();
}
"""
log = logging.getLogger("newsletter.web")


def guarded(handler: Handler) -> Handler:
    """Turn refused tokens and oversized forms into clear error pages; nothing is changed."""

    @wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except CsrfError as exc:
            return error_page(403, "Form expired", f"{exc}; reload the page and try again.")
        except UsedLink as exc:
            return error_page(410, "Link already used", f"{exc}; your subscription is active.")
        except TokenError as exc:
            return error_page(400, "This link does not work", f"{exc}.")
        except FormRefused as exc:
            return error_page(exc.status, exc.title, f"{exc}.")
        except TooSlow as exc:
            return error_page(400, "Form too slow to read", f"{exc}.")

    return run


def signup_profile(form: Form, max_topics: int) -> Subscriber:
    """The profile a sign-up form asks for (``FormErrors`` when refused): CPU work, for a
    worker thread."""
    posted = profile_data(form, form.get("email").strip(), max_topics)
    return validate(posted.data, posted.refused)


class Pages:
    """The request handlers, bound to one ``Site``."""

    def __init__(self, site: Site) -> None:
        self.site = site
        base = urlsplit(site.config.newsletter.base_url)
        self.csrf = Csrf(site.secret, base.scheme == "https", f"{base.scheme}://{base.netloc}")

    def form(self, request: Request, name: str, status: int = 200, **context: object) -> Response:
        extra = {"zones": ZONES, "weekdays": WEEKDAYS, "newsletter": self.site.config.newsletter}
        return self.csrf.form_page(request, name, self.site.clock(), status, **extra, **context)

    async def posted(self, request: Request) -> Form:
        """The posted form after its CSRF check (CsrfError when forged or stale)."""
        form = await read_form(request.stream(), request.headers.get("content-type", ""))
        self.csrf.check(request, form.get("csrf"), self.site.clock())
        return form

    async def home(self, request: Request) -> Response:
        offered = await run_in_threadpool(self.site.offered)
        return self.form(
            request, "subscribe", values=form_values(None), errors={}, offered=offered
        )

    async def subscribe(self, request: Request) -> Response:
        form = await self.posted(request)
        web, client = self.site.config.web, request.client.host if request.client else "-"
        if not self.site.limiter.allow(
            f"client:{client}", web.signups_per_client_hour, timedelta(hours=1)
        ):
            return error_page(429, "Too many sign-ups", "Please try again in an hour.")
        try:
            sub = await in_worker(signup_profile, form, web.max_topics)
        except FormErrors as exc:
            return self.form(
                request, "subscribe", 400, values=form_values(None, form), errors=exc.errors,
                offered=await run_in_threadpool(self.site.offered),
            )
        outcome = await run_in_threadpool(self.site.signup, sub, client)
        log.info("sign-up from %s: %s", client, outcome)
        # The same page whatever happened: it must not tell whether the address is known.
        return page(
            "check_inbox",
            email=sub.email,
            valid_for=duration(timedelta(hours=web.confirm_hours)),
            newsletter=self.site.config.newsletter,
        )

    async def confirm_page(self, request: Request) -> Response:
        token = request.query_params.get("token", "")
        sub = await run_in_threadpool(self.site.check_confirm, token)
        kept = await run_in_threadpool(self.site.kept_in_file, sub.email)
        return self.form(
            request, "confirm", sub=sub, token=token, when=promises.when(sub),
            about=promises.about(sub), kept=kept,
        )

    async def confirm(self, request: Request) -> Response:
        form = await self.posted(request)
        sub, kept = await run_in_threadpool(self.site.confirm, form.get("token"))
        picks = await run_in_threadpool(self.site.preview, sub)
        now, site = self.site.clock(), self.site
        prefs = signed_links.preferences_url(
            site.config.newsletter.base_url, site.secret, addresses.key(sub.email), now=now
        )
        first = promises.first_issue(sub, now, site.config.schedule.tick_minutes)
        return page(
            "confirmed", sub=sub, picks=picks, preferences=prefs, first=first, kept=kept,
            quiet=site.config.email.quiet_day == "skip", newsletter=site.config.newsletter,
        )

    async def preferences_page(self, request: Request) -> Response:
        return await self.preferences_view(request, request.query_params.get("token", ""))

    async def preferences_view(self, request: Request, token: str) -> Response:
        email = self.site.who(signed_links.PREFERENCES, token)
        stored = await run_in_threadpool(self.site.stored, email)
        if stored and stored.status != "unsubscribed" and kept_by_file(stored):
            # the operator keeps the profile; the feedback is the reader's to see and undo
            judged = await run_in_threadpool(self.site.given_feedback, email)
            return self.form(request, "managed", email=email, judged=judged, token=token)
        refusal = self.refuse_preferences(stored, email)
        if refusal is not None:
            return refusal
        assert stored is not None  # refused above
        judged = await run_in_threadpool(self.site.given_feedback, email)
        liked = await run_in_threadpool(self.site.liked, stored.subscriber)
        values = form_values(stored.subscriber)
        phrases = await run_in_threadpool(self.site.looked_for, stored.subscriber)
        return self.form(
            request,
            "preferences",
            values=replace(values, texts={**values.texts, "library": "\n".join(liked.lines)}),
            token=token,
            errors={},
            email=stored.subscriber.email,
            judged=judged,
            liked=liked.sentence(),
            phrases=phrases,
            unsubscribe=self.site.unsubscribe_link(email),
            offered=await run_in_threadpool(self.site.offered),
        )

    def refuse_preferences(self, stored: StoredSubscriber | None, email: str) -> Response | None:
        """A page instead of the form: not subscribed (any more), or managed by the operator."""
        if stored is None or stored.status == "unsubscribed":
            return page(
                "not_subscribed", status=404, email=email, newsletter=self.site.config.newsletter
            )
        if kept_by_file(stored):
            return page("managed", email=email, newsletter=self.site.config.newsletter)
        return None

    async def reader_to_edit(self, token: str) -> tuple[str, StoredSubscriber | Response]:
        """The address a preferences token names, and its stored reader, or the page that
        refuses an edit (not subscribed, or kept by the operator's file)."""
        email = self.site.who(signed_links.PREFERENCES, token)
        stored = await run_in_threadpool(self.site.stored, email)
        refusal = self.refuse_preferences(stored, email)
        if refusal is not None:
            return email, refusal
        assert stored is not None  # refused above
        return email, stored

    async def preferences(self, request: Request) -> Response:
        form = await self.posted(request)
        token = form.get("token")
        email, stored = await self.reader_to_edit(token)
        if isinstance(stored, Response):
            return stored
        posted = await in_worker(
            profile_data, form, stored.subscriber.email, self.site.config.web.max_topics
        )
        paused = form.get("paused") == "on"
        try:
            sub = await run_in_threadpool(self.site.save_preferences, stored, posted, paused)
        except FormErrors as exc:
            return self.form(
                request,
                "preferences",
                400,
                values=form_values(None, form),
                token=token,
                errors=exc.errors,
                email=email,
                judged=await run_in_threadpool(self.site.given_feedback, email),
                liked="",
                phrases=await run_in_threadpool(self.site.looked_for, stored.subscriber),
                unsubscribe=self.site.unsubscribe_link(email),
                offered=await run_in_threadpool(self.site.offered),
            )
        widened = await run_in_threadpool(self.site.widened, sub)
        liked = await run_in_threadpool(self.site.liked, sub)
        return page(
            "saved", sub=sub, paused=paused, widened=widened, when=promises.when(sub),
            about=promises.about(sub), liked=liked.sentence(),
            newsletter=self.site.config.newsletter,
        )

    async def unsubscribe_page(self, request: Request) -> Response:
        token = request.query_params.get("token", "")
        email = self.site.who(signed_links.UNSUBSCRIBE, token)  # GET checks, never unsubscribes
        return page("unsubscribe", email=email, token=token, newsletter=self.site.config.newsletter)

    async def unsubscribe(self, request: Request) -> Response:
        # RFC 8058 one-click: no cookie, no CSRF field; the signed token is the authority.
        form = await read_form(request.stream())
        token = request.query_params.get("token") or form.get("token")
        email = await run_in_threadpool(self.site.unsubscribe, token)
        return page("unsubscribed", email=email, newsletter=self.site.config.newsletter)

    async def feedback_page(self, request: Request) -> Response:
        """GET (or HEAD, as mail scanners send) shows the paper and a button, and records no
        vote; the page's script posts the vote by itself (see ``app.feedback``)."""
        token = request.path_params.get("code") or request.query_params.get("token", "")
        judgment, paper = await run_in_threadpool(self.site.open_feedback, token)
        return self.form(
            request, "feedback_confirm", token=token, judgment=judgment, paper=paper, held=False
        )

    async def feedback(self, request: Request) -> Response:
        form = await self.posted(request)
        if form.get("j") not in ("1", "-1", "0"):  # the page's buttons send nothing else
            return error_page(400, "Nothing recorded", "Choose more or less like this paper.")
        judgment, token, by_script = int(form.get("j")), form.get("token"), form.get("auto") == "1"
        recorded, paper, prefs = await run_in_threadpool(
            self.site.feedback, token, judgment, by_script
        )
        if not recorded:  # a burst of opened links: a person presses the button instead
            return self.form(
                request, "feedback_confirm", token=token, judgment=judgment, paper=paper,
                held=True,
            )
        return self.form(
            request, "feedback", token=token, judgment=judgment, paper=paper, preferences=prefs
        )

    async def undo_feedback(self, request: Request) -> Response:
        form = await self.posted(request)
        token = form.get("token")
        email = self.site.who(signed_links.PREFERENCES, token)
        await run_in_threadpool(self.site.undo_feedback, email, form.get("paper"))
        return await self.preferences_view(request, token)

    async def keep_phrase(self, request: Request) -> Response:
        """Drop one of the phrases the model looks for on the reader's behalf (or bring it
        back), from the preferences page."""
        form = await self.posted(request)
        token = form.get("token")
        email, stored = await self.reader_to_edit(token)
        if isinstance(stored, Response):
            return stored
        keep = form.get("keep") == "1"
        await run_in_threadpool(self.site.keep_phrase, email, form.get("phrase")[:200], keep)
        return await self.preferences_view(request, token)

    async def script(self, request: Request) -> Response:
        return plain(TZ_SCRIPT, media_type="text/javascript")

    async def feedback_script(self, request: Request) -> Response:
        return plain(FEEDBACK_SCRIPT, media_type="text/javascript")

    async def health(self, request: Request) -> Response:
        return plain("ok\n")


def create_app(site: Site) -> Starlette:
    """The ASGI app for the subscriber pages."""
    p = Pages(site)
    routes = [
        Route("/", guarded(p.home), methods=["GET"]),
        Route("/subscribe", guarded(p.subscribe), methods=["POST"]),
        Route("/confirm", guarded(p.confirm_page), methods=["GET"]),
        Route("/confirm", guarded(p.confirm), methods=["POST"]),
        Route("/preferences", guarded(p.preferences_page), methods=["GET"]),
        Route("/preferences", guarded(p.preferences), methods=["POST"]),
        Route("/unsubscribe", guarded(p.unsubscribe_page), methods=["GET"]),
        Route("/unsubscribe", guarded(p.unsubscribe), methods=["POST"]),
        Route("/feedback", guarded(p.feedback_page), methods=["GET"]),
        Route("/feedback", guarded(p.feedback), methods=["POST"]),
        Route("/feedback/undo", guarded(p.undo_feedback), methods=["POST"]),
        Route("/preferences/phrase", guarded(p.keep_phrase), methods=["POST"]),
        Route("/f/{code}", guarded(p.feedback_page), methods=["GET"]),  # short links
        *(Route(path, kept_private(guarded(handler)), methods=["GET"])
          for path, handler in ArchivePages(site).routes()),
        Route("/tz.js", p.script, methods=["GET"]),
        Route("/feedback.js", p.feedback_script, methods=["GET"]),
        Route("/healthz", p.health, methods=["GET"]),
    ]
    https = urlsplit(site.config.newsletter.base_url).scheme == "https"
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders, https=https)])
    # "/confirm/" would redirect to a URL built from the request's Host header: never.
    app.router.redirect_slashes = False
    return app


class SecurityHeaders:
    """Adds the pages' security headers to every response, the framework's 404 and 405 too,
    and HSTS when the site's ``base_url`` is https."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.headers = HEADERS | (HSTS if https else {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)
