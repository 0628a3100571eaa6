"""The preferences page shows what a language model looks for on the reader's behalf, and a
reader drops a phrase (or brings it back) in one click; matching then leaves it out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter.app.accounts import Site
from newsletter.app.model_answers import expansions
from newsletter.app.model_doors import ModelRun
from newsletter.config import Config
from newsletter.llm.contract import Request
from newsletter.models import Subscriber
from newsletter.signed_links import preferences_url
from newsletter.store.profiles import get_subscriber, upsert_subscriber
from newsletter.web.app import create_app
from tests.llm_fake import LlmFake

from .conftest import NOW, SECRET, csrf_of, link_path

PHRASES = {"phrases": ["neuromorphic hardware", "surrogate gradients"], "exclude_phrases": []}


def answer(request: Request) -> dict[str, object] | None:
    return PHRASES if request.use == "reader_profile" else None


def test_a_reader_sees_the_phrases_and_drops_one(
    config: Config, engine: Engine, site: Site, tmp_path: Path
) -> None:
    sub = Subscriber(email="ada@example.org", topics=("spiking neural networks",), origin="web")
    with engine.begin() as conn:
        upsert_subscriber(conn, sub, NOW, status="active")
    with LlmFake(answer) as fake:
        model = replace(config, llm=fake.settings())
        run = ModelRun.start(model, engine)
        assert run is not None and run.expand([sub]) == 1
        run.record()
    site = Site(model, engine, site.mailer, clock=site.clock, send_inline=True)
    url = link_path(preferences_url("http://testserver", SECRET, sub.email, now=NOW))
    with TestClient(create_app(site), follow_redirects=False) as client:
        page = client.get(url).text
        assert "Also looked for" in page and "neuromorphic hardware" in page
        token = url.split("token=", 1)[1]
        done = client.post("/preferences/phrase", data={
            "csrf": csrf_of(page), "token": token, "phrase": "neuromorphic hardware",
            "keep": "0"})
        assert done.status_code == 200 and "<s>neuromorphic hardware</s>" in done.text
        with engine.connect() as conn:
            stored = get_subscriber(conn, sub.email)
            assert stored is not None
            assert stored.subscriber.dropped_phrases == ("neuromorphic hardware",)
            assert expansions(model, conn, [stored.subscriber])[sub.email].phrases == (
                "surrogate gradients",)
        back = client.post("/preferences/phrase", data={
            "csrf": csrf_of(done.text), "token": token, "phrase": "neuromorphic hardware",
            "keep": "1"})
        assert "<s>" not in back.text
    with engine.connect() as conn:
        stored = get_subscriber(conn, sub.email)
        assert stored is not None and stored.subscriber.dropped_phrases == ()


def test_saving_the_form_keeps_what_the_form_does_not_show(
    client: TestClient, engine: Engine
) -> None:
    sub = Subscriber(email="ada@example.org", topics=("spiking neural networks",),
                     min_upvotes=5, dropped_phrases=("loihi",), papers=("2606.00001",),
                     origin="web")
    with engine.begin() as conn:
        upsert_subscriber(conn, sub, NOW, status="active")
    url = link_path(preferences_url("http://testserver", SECRET, sub.email, now=NOW))
    page = client.get(url).text
    form = {"csrf": csrf_of(page), "token": url.split("token=", 1)[1],
            "topics": "spiking neural networks\nneuromorphic computing", "timezone": "UTC",
            "send_at": "07:00", "frequency": "daily", "max_papers": "10"}
    assert client.post("/preferences", data=form).status_code == 200
    with engine.connect() as conn:
        stored = get_subscriber(conn, sub.email)
    assert stored is not None
    saved = stored.subscriber
    assert saved.topics == ("spiking neural networks", "neuromorphic computing")
    assert (saved.min_upvotes, saved.dropped_phrases, saved.papers) == (5, ("loihi",),
                                                                        ("2606.00001",))
