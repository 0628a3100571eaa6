"""A typical issue, as the full MIME message, scores well below SpamAssassin's thresholds."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime

from newsletter.config import EmailSettings
from newsletter.models import OutgoingEmail
from newsletter.render import Renderer

from .render_samples import NEWSLETTER, make_issue, make_links, sectioned_issue

SENDER = "Paper Digest <digest@digest.example.org>"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def mime_bytes(subject: str, text: str, html: str, unsubscribe: str) -> bytes:
    """The message the delivery module would send (with list and one-click headers)."""
    from newsletter.delivery.message import list_headers, list_id, mime_bytes

    headers = list_headers(
        list_id_value=list_id("Paper Digest", SENDER), unsubscribe_url=unsubscribe
    )
    email = OutgoingEmail(
        message_id="<1b4e28ba2fa1@digest.example.org>",
        sender=SENDER,
        to="Ada <ada@example.org>",
        subject=subject,
        text=text,
        html=html,
        headers=headers,
    )
    return mime_bytes(email, date=NOW)


def spam_score(spamassassin: str, message: bytes) -> tuple[float, str]:
    done = subprocess.run(
        [spamassassin, "-t", "-L", "--cf=use_bayes 0"],
        input=message,
        capture_output=True,
        timeout=120,
        check=False,
    )
    report = done.stdout.decode("utf-8", "replace")
    match = re.search(r"X-Spam-Status: \w+, score=(-?[\d.]+)", report)
    assert match, f"no X-Spam-Status in spamassassin output: {done.stderr[-500:]!r}"
    return float(match.group(1)), report


def test_typical_issue_scores_below_one(spamassassin: str, render_issue: object) -> None:
    issue = make_issue(6)
    out = render_issue(6)  # type: ignore[operator]
    links = make_links(issue)
    score, report = spam_score(
        spamassassin, mime_bytes(out.subject, out.text, out.html, links.unsubscribe)
    )
    details = report.split("Content analysis details:", 1)[-1][:2000]
    assert score < 1.0, f"spam score {score}:\n{details}"


def test_quiet_day_note_scores_below_one(spamassassin: str) -> None:
    issue = make_issue(0)
    links = make_links(issue)
    out = Renderer(NEWSLETTER, EmailSettings(quiet_day="send"), None).render(issue, links)
    assert out is not None
    score, report = spam_score(
        spamassassin, mime_bytes(out.subject, out.text, out.html, links.unsubscribe)
    )
    assert score < 1.0, report.split("Content analysis details:", 1)[-1][:2000]


def test_an_issue_in_sections_scores_below_one(spamassassin: str) -> None:
    issue = sectioned_issue(10)
    links = make_links(issue)
    out = Renderer(NEWSLETTER, EmailSettings(), None).render(issue, links)
    assert out is not None and 'id="section-1"' in out.html
    score, report = spam_score(
        spamassassin, mime_bytes(out.subject, out.text, out.html, links.unsubscribe)
    )
    assert score < 1.0, report.split("Content analysis details:", 1)[-1][:2000]
