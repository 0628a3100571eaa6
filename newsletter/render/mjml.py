"""Compile an MJML+Jinja template to HTML+Jinja once per template version (cached by source).

Includes are spliced in here (MRML's own ``mj-include`` loses the body width), and every Jinja
tag gets a location marker so that an error in the compiled HTML still names file and line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mjml import mjml2html

from newsletter.errors import RenderError

Location = tuple[str, int]  # (template file, line)
Loader = Callable[[str], tuple[str, str]]  # template name -> (source, file name)

_INCLUDE = re.compile(r"<mj-include\s+path=\"([^\"]+)\"\s*/>")
_TAG_OR_COMMENT = re.compile(r"\{#.*?#\}|\{[{%]-?", re.DOTALL)
_MARKER = re.compile(r"\{#(-?)@(\d+)#\}")
_MRML_POSITION = re.compile(r"position (\d+):(\d+)")
MAX_DEPTH = 8
CACHE_SIZE = 16


@dataclass(frozen=True)
class Assembly:
    """One template with its includes spliced in and its Jinja tags marked."""

    source: str
    lines: tuple[Location, ...]  # line i of ``source`` came from lines[i]
    markers: tuple[Location, ...]  # marker n sits before a tag at markers[n]

    @property
    def key(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()

    def where(self, line: int) -> Location:
        """The template file and line behind line ``line`` (1-based) of ``source``."""
        return self.lines[min(max(line, 1), len(self.lines)) - 1]


@dataclass(frozen=True)
class Compiled:
    """HTML with Jinja tags left in, plus a table from its Jinja lines back to the sources."""

    html: str
    name: str
    key: str
    line_table: tuple[tuple[int, Location], ...] = field(repr=False)

    def where(self, line: int) -> Location:
        """The source location of the Jinja tag on ``line`` of :attr:`html`."""
        best: Location = (self.name, 0)
        for start, loc in self.line_table:
            if start > line:
                break
            best = loc
        return best


class _Assembler:
    def __init__(self, load: Loader) -> None:
        self.load = load
        self.markers: list[Location] = []

    def run(self, name: str, depth: int = 0) -> list[tuple[str, Location]]:
        if depth > MAX_DEPTH:
            raise RenderError(f"{name}: mj-include nested more than {MAX_DEPTH} deep (a cycle?)")
        source, filename = self.load(name)
        out: list[tuple[str, Location]] = []
        for number, line in enumerate(source.split("\n"), start=1):
            marked = self._mark(line, (filename, number))
            parts = _INCLUDE.split(marked)
            for i, part in enumerate(parts):
                if i % 2:
                    out.extend(self.run(part, depth + 1))
                elif part.strip() or len(parts) == 1:
                    out.append((part, (filename, number)))
        return out

    def _mark(self, line: str, loc: Location) -> str:
        def add(match: re.Match[str]) -> str:
            text = match.group(0)
            if text.startswith("{#"):
                return text
            self.markers.append(loc)
            dash = "-" if text.endswith("-") else ""
            return f"{{#{dash}@{len(self.markers) - 1}#}}{text}"

        return _TAG_OR_COMMENT.sub(add, line)


def assemble(name: str, load: Loader) -> Assembly:
    """Read ``name`` and its ``<mj-include path="..."/>`` files through ``load``."""
    assembler = _Assembler(load)
    pairs = assembler.run(name)
    return Assembly(
        source="\n".join(text for text, _ in pairs),
        lines=tuple(loc for _, loc in pairs),
        markers=tuple(assembler.markers),
    )


_CACHE: dict[str, Compiled] = {}


def compile_mjml(assembly: Assembly, name: str) -> Compiled:
    """MJML -> HTML for ``assembly``; cached by its source, so each version compiles once."""
    key = assembly.key
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    try:
        html = mjml2html(assembly.source, disable_comments=True, fonts={})
    except (ValueError, RuntimeError) as exc:
        raise RenderError(_mrml_problem(str(exc), assembly, name)) from None
    compiled = _with_line_table(html, assembly, name, key)
    if len(_CACHE) >= CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = compiled
    return compiled


def _mrml_problem(message: str, assembly: Assembly, name: str) -> str:
    match = _MRML_POSITION.search(message)
    if match is None:
        return f"{_blame(assembly) or name}: MJML does not compile: {message}"
    offset = int(match.group(1))  # MRML reports a span of character offsets
    file, line = assembly.where(assembly.source.count("\n", 0, offset) + 1)
    return f"{file}:{line}: MJML does not compile: {message}"


def _blame(assembly: Assembly) -> str:
    """The first included file that does not compile on its own (MRML gave no position)."""
    parts: dict[str, list[str]] = {}
    for text, (file, _) in zip(assembly.source.split("\n"), assembly.lines, strict=True):
        parts.setdefault(file, []).append(text)
    for file, lines in list(parts.items())[1:]:
        try:
            mjml2html("<mjml><mj-body>" + "\n".join(lines) + "</mj-body></mjml>")
        except (ValueError, RuntimeError):
            return file
    return ""


def _with_line_table(html: str, assembly: Assembly, name: str, key: str) -> Compiled:
    """Turn each marker into a Jinja comment holding one newline and note where it came from.

    The comments vanish when rendering, but they advance Jinja's line counter, so the line
    number of a runtime error identifies the marker, hence the source file and line.
    """
    table: list[tuple[int, Location]] = []
    pieces: list[str] = []
    line, last = 1, 0
    for match in _MARKER.finditer(html):
        line += html.count("\n", last, match.start()) + 1
        pieces.append(html[last : match.start()])
        pieces.append(f"{{#{match.group(1)}\n#}}")
        table.append((line, assembly.markers[int(match.group(2))]))
        last = match.end()
    pieces.append(html[last:])
    return Compiled(html="".join(pieces), name=name, key=key, line_table=tuple(table))


def clear_cache() -> None:
    """Forget every compiled template (tests and the preview server's reload use it)."""
    _CACHE.clear()
