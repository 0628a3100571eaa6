"""Layered template lookup, the compile-once cache and errors that name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import EmailSettings
from newsletter.errors import RenderError
from newsletter.render import Renderer, mjml
from newsletter.render.environment import default_dirs, safe_url, template_dirs

from .render_samples import NEWSLETTER, make_issue, make_links

CARD = """<mj-wrapper padding="6px 12px">
  <mj-section>
    <mj-column>
      <mj-text>CUSTOM CARD {{ card.title }}</mj-text>
    </mj-column>
  </mj-section>
</mj-wrapper>
"""


def render(user_dir: Path | None) -> str:
    renderer = Renderer(NEWSLETTER, EmailSettings(), user_dir)
    issue = make_issue(2)
    out = renderer.render(issue, make_links(issue))
    assert out is not None
    return out.html + out.text


def test_package_defaults_are_found() -> None:
    dirs = default_dirs()
    assert dirs and all((d / "email.mjml").is_file() for d in dirs)
    assert template_dirs(None) == [d.resolve() for d in dirs]


def test_a_user_file_overrides_only_that_template(tmp_path: Path) -> None:
    (tmp_path / "card.mjml").write_text(CARD)
    (tmp_path / "email.txt").write_text("TEXT {{ count }} {{ links.unsubscribe }}\n")
    out = render(tmp_path)
    assert "CUSTOM CARD Neural decoding of imagined speech, part 1" in out
    assert "TEXT 2 https://digest.example.org/unsubscribe?t=abc&u=1" in out
    assert "Update your preferences" in out  # footer still from the defaults
    assert template_dirs(tmp_path)[0] == tmp_path.resolve()


def test_a_missing_user_folder_falls_back_to_the_defaults(tmp_path: Path) -> None:
    assert "Neural decoding" in render(tmp_path / "nope")


def test_mjml_compiles_once_per_template_version(tmp_path: Path) -> None:
    mjml.clear_cache()
    first = Renderer(NEWSLETTER, EmailSettings(), None)
    second = Renderer(NEWSLETTER, EmailSettings(), tmp_path)
    assert first.templates.compiled("email.mjml") is second.templates.compiled("email.mjml")
    assert len(mjml._CACHE) == 1
    assert second.reload() is False
    (tmp_path / "card.mjml").write_text(CARD)
    assert second.reload() is True
    compiled = second.templates.compiled("email.mjml")
    assert compiled is not first.templates.compiled("email.mjml") and len(mjml._CACHE) == 2


def test_jinja_syntax_error_names_the_user_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "card.mjml").write_text(CARD.replace("{{ card.title }}", "{{ card.title }"))
    with pytest.raises(RenderError, match=r"card\.mjml:4: unexpected '}'"):
        Renderer(NEWSLETTER, EmailSettings(), tmp_path)


def test_runtime_error_in_mjml_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "card.mjml").write_text(CARD.replace("card.title", "card.titel"))
    renderer = Renderer(NEWSLETTER, EmailSettings(), tmp_path)
    issue = make_issue(1)
    with pytest.raises(RenderError, match=r"card\.mjml:4: .*titel"):
        renderer.render(issue, make_links(issue))


def test_runtime_error_in_the_text_template_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "email.txt").write_text("line one\n{{ count + 'x' }}\n")
    renderer = Renderer(NEWSLETTER, EmailSettings(), tmp_path)
    issue = make_issue(1)
    with pytest.raises(RenderError, match=r"email\.txt:2: TypeError"):
        renderer.render(issue, make_links(issue))


def test_syntax_error_in_the_subject_template_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "subject.txt").write_text("ok\n{% if %}\n")
    with pytest.raises(RenderError, match=r"subject\.txt:2: "):
        Renderer(NEWSLETTER, EmailSettings(), tmp_path)


def test_missing_include_is_named(tmp_path: Path) -> None:
    (tmp_path / "header.mjml").write_text('<mj-include path="nowhere.mjml" />\n')
    with pytest.raises(RenderError, match=r"template 'nowhere\.mjml' not found in "):
        Renderer(NEWSLETTER, EmailSettings(), tmp_path)


def test_include_cycle_is_reported(tmp_path: Path) -> None:
    (tmp_path / "header.mjml").write_text('<mj-include path="header.mjml" />\n')
    with pytest.raises(RenderError, match=r"header\.mjml: mj-include nested more than"):
        Renderer(NEWSLETTER, EmailSettings(), tmp_path)


def test_mjml_that_does_not_parse_names_the_template(tmp_path: Path) -> None:
    (tmp_path / "card.mjml").write_text(CARD.replace("CUSTOM CARD", "a < b"))
    with pytest.raises(RenderError, match=r"card\.mjml: MJML does not compile"):
        Renderer(NEWSLETTER, EmailSettings(), tmp_path)


def test_bad_configured_subject_names_the_config_key() -> None:
    with pytest.raises(RenderError, match=r"config key 'email\.subject'"):
        Renderer(NEWSLETTER, EmailSettings(subject="{% if %}"), None)
    renderer = Renderer(NEWSLETTER, EmailSettings(subject="{{ nope }}"), None)
    issue = make_issue(1)
    with pytest.raises(RenderError, match=r"^config key 'email\.subject': 'nope' is undefined"):
        renderer.render(issue, make_links(issue))


def test_reload_reads_the_text_and_subject_templates_again(tmp_path: Path) -> None:
    (tmp_path / "email.txt").write_text("OLD {{ count }}\n")
    renderer = Renderer(NEWSLETTER, EmailSettings(), tmp_path)
    (tmp_path / "email.txt").write_text("NEW {{ count }}\n")
    (tmp_path / "subject.txt").write_text("NEW SUBJECT\n")
    assert renderer.reload() is True
    issue = make_issue(1)
    out = renderer.render(issue, make_links(issue))
    assert out is not None and out.text == "NEW 1\n" and out.subject == "NEW SUBJECT"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://example.org/a?b=1&c=2", True),
        ("mailto:x@example.org", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,hi", False),
        ("", False),
    ],
)
def test_safe_url(url: str, kept: bool) -> None:
    assert safe_url(url) == (url if kept else "")


def test_text_output_is_tidied(tmp_path: Path) -> None:
    (tmp_path / "email.txt").write_text("\n\nA  \t\n\n\n\n\nB {{ count }}   \n\n")
    renderer = Renderer(NEWSLETTER, EmailSettings(), tmp_path)
    issue = make_issue(1)
    out = renderer.render(issue, make_links(issue))
    assert out is not None and out.text == "A\n\nB 1\n"
