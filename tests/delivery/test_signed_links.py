"""Signed link tokens: round trip, tamper, wrong purpose, expiry, wrong secret."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from newsletter import signed_links
from newsletter.errors import ConfigError, TokenError

from .conftest import NOW, SECRET


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_round_trip_keeps_claims() -> None:
    t = signed_links.sign(SECRET, "feedback", "a@b.org", now=NOW, ttl=timedelta(days=1),
                    data={"paper": "arxiv:2401.00001", "j": "1"})
    claims = signed_links.verify(SECRET, "feedback", t, now=NOW + timedelta(hours=23))
    assert (claims.subject, claims.purpose) == ("a@b.org", "feedback")
    assert claims.data == {"paper": "arxiv:2401.00001", "j": "1"}
    assert set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_expired_token_is_refused() -> None:
    t = signed_links.sign(SECRET, "unsubscribe", "a@b.org", now=NOW, ttl=timedelta(days=1))
    with pytest.raises(TokenError, match="expired"):
        signed_links.verify(SECRET, "unsubscribe", t, now=NOW + timedelta(days=1, seconds=1))


def test_token_for_one_purpose_fails_for_another() -> None:
    t = signed_links.sign(SECRET, "feedback", "a@b.org", now=NOW, ttl=timedelta(days=1))
    with pytest.raises(TokenError, match="signature"):
        signed_links.verify(SECRET, "unsubscribe", t, now=NOW)


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),
    lambda t: "x" + t,
    lambda t: t.split(".")[0],
    lambda t: "",
    lambda t: t.replace(".", ".é"),
])
def test_tampered_token_is_refused(mangle: object) -> None:
    t = signed_links.sign(SECRET, "unsubscribe", "a@b.org", now=NOW, ttl=timedelta(days=1))
    with pytest.raises(TokenError):
        signed_links.verify(SECRET, "unsubscribe", mangle(t), now=NOW)  # type: ignore[operator]


def test_other_secret_is_refused_and_empty_secret_is_a_config_error() -> None:
    t = signed_links.sign(SECRET, "unsubscribe", "a@b.org", now=NOW, ttl=timedelta(days=1))
    with pytest.raises(TokenError):
        signed_links.verify("another-secret", "unsubscribe", t, now=NOW)
    with pytest.raises(ConfigError, match="NEWSLETTER_SECRET_KEY"):
        signed_links.sign("", "unsubscribe", "a@b.org", now=NOW, ttl=timedelta(days=1))


def test_urls_carry_verifiable_tokens() -> None:
    url = signed_links.unsubscribe_url("https://news.example.org/", SECRET, "a@b.org", now=NOW)
    assert url.startswith("https://news.example.org/unsubscribe?token=")
    assert signed_links.verify(SECRET, "unsubscribe", _token(url), now=NOW).subject == "a@b.org"
    pref = signed_links.preferences_url("https://x.org", SECRET, "a@b.org", now=NOW)
    assert signed_links.verify(SECRET, "preferences", _token(pref), now=NOW).subject == "a@b.org"
    fb = signed_links.feedback_url("https://x.org", SECRET, "a@b.org", "title:a b", -1, now=NOW)
    claims = signed_links.verify(SECRET, "feedback", _token(fb), now=NOW)
    assert claims.data == {"paper": "title:a b", "j": "-1"}
