"""The ``Renderer``: templates loaded and compiled once, then one cheap Jinja pass per issue."""

from __future__ import annotations

import hashlib
import json
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jinja2

from newsletter.config import EmailSettings, NewsletterSettings
from newsletter.errors import RenderError
from newsletter.models import Issue, IssueLinks
from newsletter.render.context import Context, build_context
from newsletter.render.environment import make_environment, template_dirs, template_sources
from newsletter.render.mjml import Assembly, Compiled, Location, assemble, compile_mjml
from newsletter.render.text import one_line

HTML_TEMPLATE = "email.mjml"
TEXT_TEMPLATE = "email.txt"
SUBJECT_TEMPLATE = "subject.txt"
COMPILED = "<compiled email.mjml>"
CONFIG_SUBJECT = "<config email.subject>"


@dataclass(frozen=True, slots=True)
class RenderedIssue:
    """One subscriber's issue, ready to be put into a MIME message."""

    subject: str
    preheader: str
    html: str
    text: str


class Renderer:
    """Render issues with the layered templates: ``user_dir``, then the package defaults."""

    def __init__(
        self,
        newsletter: NewsletterSettings,
        email: EmailSettings,
        user_dir: Path | None = None,
        files: dict[str, str] | None = None,
    ) -> None:
        """Templates from ``user_dir`` over the defaults, or exactly ``files`` when given."""
        self.newsletter = newsletter
        self.email = email
        self.dirs = [] if files is not None else template_dirs(user_dir)
        self.env = make_environment(self.dirs, files)
        self.version = ""
        self.reload()

    @classmethod
    def pinned(cls, files: dict[str, str], settings: dict[str, Any]) -> Renderer:
        """The renderer of a pinned version: the ``files`` and ``settings`` of ``pin()``."""
        newsletter = NewsletterSettings(**settings["newsletter"])
        return cls(newsletter, EmailSettings(**settings["email"]), files=files)

    def pin(self) -> tuple[str, dict[str, str], dict[str, Any]]:
        """(version hash, template sources, render settings): everything that decides the
        output besides the issue, to render it again later exactly the same way."""
        files = self._files
        n = self.newsletter
        settings = {
            "newsletter": {"name": n.name, "base_url": n.base_url,
                           "postal_address": n.postal_address},
            "email": asdict(self.email),
        }
        blob = json.dumps([files, settings], sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:32], files, settings

    def reload(self) -> bool:
        """Read the templates again; recompiles MJML only when a source changed. True if so."""
        loader = self.env.loader
        self._files = (template_sources(self.dirs) if self.dirs
                       else dict(getattr(loader, "mapping", {})))
        compiled = compile_mjml(self._assembly(), HTML_TEMPLATE)
        self._compiled = compiled
        self._html = self._from_compiled(compiled)
        self._text = self._file_template(TEXT_TEMPLATE)
        self._subject = self._subject_template()
        text_source = self._source(TEXT_TEMPLATE)[0] + self._subject_source()
        version = hashlib.sha256((compiled.key + text_source).encode()).hexdigest()[:16]
        changed, self.version = version != self.version, version
        return changed

    def render(self, issue: Issue, links: IssueLinks) -> RenderedIssue | None:
        """The issue's subject, preheader, HTML and text; None on a quiet day set to skip."""
        if not issue.picks and self.email.quiet_day == "skip":
            return None
        ctx = build_context(issue, links, self.newsletter, self.email)
        subject = one_line(self._run(self._subject, ctx))
        ctx["subject"] = subject
        html = self._run(self._html, ctx)
        text = tidy(self._run(self._text, ctx))
        return RenderedIssue(subject=subject, preheader=ctx["preheader"], html=html, text=text)

    @property
    def template_files(self) -> list[Path]:
        """Every file that can change the output (for a preview that reloads on change)."""
        return sorted(p for d in self.dirs for p in d.iterdir() if p.is_file())

    def _source(self, name: str) -> tuple[str, str]:
        try:
            source, filename, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        except jinja2.TemplateNotFound:
            where = ", ".join(str(d) for d in self.dirs) or "(no template folder)"
            raise RenderError(f"template '{name}' not found in {where}") from None
        return source, filename or name

    def _assembly(self) -> Assembly:
        assembly = assemble(HTML_TEMPLATE, self._source)
        try:
            self.env.parse(assembly.source)
        except jinja2.TemplateSyntaxError as exc:
            raise _error(assembly.where(exc.lineno or 0), exc.message or str(exc)) from None
        return assembly

    def _from_compiled(self, compiled: Compiled) -> jinja2.Template:
        try:
            code = self.env.compile(compiled.html, name=HTML_TEMPLATE, filename=COMPILED)
        except jinja2.TemplateSyntaxError as exc:
            raise _error(compiled.where(exc.lineno or 0), exc.message or str(exc)) from None
        return self.env.template_class.from_code(self.env, code, self.env.make_globals(None))

    def _file_template(self, name: str) -> jinja2.Template:
        self._source(name)  # a clear "not found" error first
        try:
            return self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise _error((exc.filename or name, exc.lineno), exc.message or str(exc)) from None

    def _subject_source(self) -> str:
        return self.email.subject or self._source(SUBJECT_TEMPLATE)[0]

    def _subject_template(self) -> jinja2.Template:
        if not self.email.subject:
            return self._file_template(SUBJECT_TEMPLATE)
        plain = self.env.overlay(autoescape=False)
        try:
            code = plain.compile(self.email.subject, name=CONFIG_SUBJECT, filename=CONFIG_SUBJECT)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"config key 'email.subject': {exc.message}") from None
        return plain.template_class.from_code(plain, code, plain.make_globals(None))

    def _run(self, template: jinja2.Template, ctx: Context) -> str:
        try:
            return template.render(ctx)
        except Exception as exc:  # any template failure must name the file and line
            raise _error(self._locate(exc), _describe(exc)) from exc

    def _locate(self, exc: BaseException) -> Location:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename == COMPILED:
                return self._compiled.where(frame.lineno or 0)
            if frame.filename == CONFIG_SUBJECT:
                return ("config key 'email.subject'", 0)
            if frame.filename.endswith((".txt", ".mjml", ".html")):
                return (frame.filename, frame.lineno or 0)
        return (HTML_TEMPLATE, 0)


def tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    if " \n" in text or "\t\n" in text:  # the checks are cheap, the rewrite is not
        text = "\n".join(line.rstrip() for line in text.split("\n"))
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip() + "\n"


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, jinja2.TemplateError):
        return str(message)
    return f"{type(exc).__name__}: {message}"


def _error(loc: tuple[str, Any], message: str) -> RenderError:
    file, line = loc
    where = f"{file}:{line}" if line else file
    return RenderError(f"{where}: {message}")
