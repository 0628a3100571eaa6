"""Signed link tokens: round trip, tamper, wrong purpose, expiry, wrong secret."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from newsletter import tokens
from newsletter.errors import ConfigError, TokenError

from .conftest import NOW, SECRET


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_round_trip_keeps_claims() -> None:
    t = tokens.sign(SECRET, "feedback", "a@b.org", now=NOW, ttl=timedelta(days=1),
                    data={"paper": "arxiv:2401.00001", "j": "1"})
    claims = tokens.verify(SECRET, "feedback", t, now=NOW + timedelta(hours=23))
    assert (claims.subject, claims.purpose) == ("a@b.org", "feedback")
    assert claims.data == {"paper": "arxiv:2401.00001", "j": "1"}
    assert set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_expired_token_is_refused() -> None:
    t = tokens.sign(SECRET, "unsubscribe", "a@b.org", now=NOW, ttl=timedelta(days=1))
    with pytest.raises(TokenError, match="expired"):
        tokens.verify(SECRET, "unsubscribe", t, now=NOW + timedelta(days=1, seconds=1))


def test_token_for_one_purpose_fails_for_another() -> None:
    t = tokens.sign(SECRET, "feedback", "a@b.org", now=NOW, ttl=timedelta(days=1))
    with pytest.raises(TokenError, match="signature"):
        tokens.verify(SECRET, "unsubscribe", t, now=NOW)


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),
    lambda t: "x" + t,
    lambda t: t.split(".")[0],
    lambda t: "",
    lambda t: t.replace(".", ".é"),
])
def test_tampered_token_is_refused(mangle: object) -> None:
    t = tokens.sign(SECRET, "unsubscribe", "a@b.org", now=NOW, ttl=timedelta(days=1))
    with pytest.raises(TokenError):
        tokens.verify(SECRET, "unsubscribe", mangle(t), now=NOW)  # type: ignore[operator]


def test_other_secret_is_refused_and_empty_secret_is_a_config_error() -> None:
    t = tokens.sign(SECRET, "unsubscribe", "a@b.org", now=NOW, ttl=timedelta(days=1))
    with pytest.raises(TokenError):
        tokens.verify("another-secret", "unsubscribe", t, now=NOW)
    with pytest.raises(ConfigError, match="NEWSLETTER_SECRET_KEY"):
        tokens.sign("", "unsubscribe", "a@b.org", now=NOW, ttl=timedelta(days=1))


def test_urls_carry_verifiable_tokens() -> None:
    url = tokens.unsubscribe_url("https://news.example.org/", SECRET, "a@b.org", now=NOW)
    assert url.startswith("https://news.example.org/unsubscribe?token=")
    assert tokens.verify(SECRET, "unsubscribe", _token(url), now=NOW).subject == "a@b.org"
    pref = tokens.preferences_url("https://x.org", SECRET, "a@b.org", now=NOW)
    assert tokens.verify(SECRET, "preferences", _token(pref), now=NOW).subject == "a@b.org"
    fb = tokens.feedback_url("https://x.org", SECRET, "a@b.org", "title:a b", -1, now=NOW)
    claims = tokens.verify(SECRET, "feedback", _token(fb), now=NOW)
    assert claims.data == {"paper": "title:a b", "j": "-1"}
