"""Email templates as a message renderer uses them: looked up in the layered folders, MJML
compiled to HTML+Jinja once per template version, rendered with errors naming file and line."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import jinja2

from newsletter.errors import RenderError
from newsletter.render.environment import make_environment, template_dirs, template_sources
from newsletter.render.mjml import Compiled, Location, assemble, compile_mjml


class Templates:
    """The templates of ``user_dir`` over the package defaults, or exactly ``files`` (name ->
    source) when given, in one Jinja environment."""

    def __init__(self, user_dir: Path | None, files: dict[str, str] | None = None) -> None:
        self.dirs = [] if files is not None else template_dirs(user_dir)
        self.files = files
        self.env = make_environment(self.dirs, files)
        self._compiled: dict[str, Compiled] = {}  # by the file name its Jinja code carries
        self._labels: dict[str, str] = {}  # string templates: file name -> what errors call it

    def reload(self) -> None:
        """A fresh Jinja environment, so that every template is read again when next used."""
        self.env = make_environment(self.dirs, self.files)

    def sources(self) -> dict[str, str]:
        """Every template name and its source, as the lookup finds them now."""
        return dict(self.files) if self.files is not None else template_sources(self.dirs)

    def source(self, name: str) -> tuple[str, str]:
        """The source of template ``name`` and the file it came from."""
        try:
            source, filename, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        except jinja2.TemplateNotFound:
            where = ", ".join(str(d) for d in self.dirs) or "(no template folder)"
            raise RenderError(f"template '{name}' not found in {where}") from None
        return source, filename or name

    def mjml(self, name: str) -> jinja2.Template:
        """``name`` and its ``mj-include`` files compiled to HTML with the Jinja tags kept."""
        assembly = assemble(name, self.source)
        try:
            self.env.parse(assembly.source)
        except jinja2.TemplateSyntaxError as exc:
            raise _error(assembly.where(exc.lineno or 0), exc.message or str(exc)) from None
        compiled = compile_mjml(assembly, name)
        filename = f"<compiled {name}>"
        try:
            code = self.env.compile(compiled.html, name=name, filename=filename)
        except jinja2.TemplateSyntaxError as exc:
            raise _error(compiled.where(exc.lineno or 0), exc.message or str(exc)) from None
        self._compiled[filename] = compiled
        return self.env.template_class.from_code(self.env, code, self.env.make_globals(None))

    def compiled(self, name: str) -> Compiled:
        """The compiled MJML behind the last ``mjml(name)``; its ``key`` names the version."""
        return self._compiled[f"<compiled {name}>"]

    def text(self, name: str) -> jinja2.Template:
        """A plain template file (``.txt`` ones are not autoescaped)."""
        self.source(name)  # a clear "not found" error first
        try:
            return self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise _error((exc.filename or name, exc.lineno), exc.message or str(exc)) from None

    def string(self, source: str, name: str, where: str) -> jinja2.Template:
        """``source`` (a config value, say) as a template without autoescaping, called
        ``name``; its errors name ``where`` instead of a file and line."""
        plain = self.env.overlay(autoescape=False)
        try:
            code = plain.compile(source, name=name, filename=name)
        except jinja2.TemplateSyntaxError as exc:
            raise _error((where, 0), exc.message or str(exc)) from None
        self._labels[name] = where
        return plain.template_class.from_code(plain, code, plain.make_globals(None))

    def render(self, template: jinja2.Template, context: dict[str, Any]) -> str:
        """``template`` filled in; any failure is a RenderError naming the file and line."""
        try:
            return template.render(context)
        except Exception as exc:  # any template failure must name the file and line
            raise _error(self._locate(exc, template.name or ""), _describe(exc)) from exc

    def _locate(self, exc: BaseException, name: str) -> Location:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            compiled = self._compiled.get(frame.filename)
            if compiled is not None:
                return compiled.where(frame.lineno or 0)
            if frame.filename in self._labels:
                return (self._labels[frame.filename], 0)
            if frame.filename.endswith((".txt", ".mjml", ".html")):
                return (frame.filename, frame.lineno or 0)
        return (name, 0)


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, jinja2.TemplateError):
        return str(message)
    return f"{type(exc).__name__}: {message}"


def _error(loc: tuple[str, Any], message: str) -> RenderError:
    file, line = loc
    where = f"{file}:{line}" if line else file
    return RenderError(f"{where}: {message}")
