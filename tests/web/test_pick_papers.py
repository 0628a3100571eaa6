""""Pick papers you would read" without a browser: the papers offered (one per cluster of
the stored papers, the same on every view), picks stored as liked papers, a sign-up with
picks and no topics, and a pick that is not a paper refused in one line."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter import library_files
from newsletter.app.accounts import Site
from newsletter.app.first_picks import offered
from newsletter.config import MatchSettings
from newsletter.delivery.memory import MemoryMailer
from newsletter.match import Matcher
from newsletter.models import Paper, normalize_title
from newsletter.store.papers import upsert_papers
from newsletter.store.profiles import get_subscriber

from .conftest import NOW, PAPERS, csrf_of, subscribe, subscribe_and_confirm
from .test_account import edited, prefs_page

ABOUT = {
    "exoplanets": "Exoplanet masses, radii, interiors and atmospheres of planets around stars.",
    "proteins": "Protein folding: predicting the structure of proteins from their sequence.",
    "traffic": "Traffic forecasting on road networks with graph neural networks.",
}
THEMES = {
    "exoplanets": ["Mass-radius relationships for solid exoplanets",
                   "Atmospheres of rocky exoplanets observed by JWST",
                   "Interior models of solid exoplanets"],
    "proteins": ["Protein folding with transformers",
                 "Protein structure prediction benchmarks for folding",
                 "Folding proteins with diffusion models"],
    "traffic": ["Graph neural networks for traffic forecasting",
                "Traffic forecasting with spatio-temporal graphs",
                "Forecasting road traffic from sensors with graph networks"],
}


def store(engine: Engine, titles: list[str], when: object = NOW) -> list[Paper]:
    about = {t: ABOUT[theme] for theme, ts in THEMES.items() for t in ts}
    papers = [Paper(title=t, abstract=about.get(t, f"We study {t.lower()}."),
                    arxiv_id=f"2605.{i:05d}")
              for i, t in enumerate(titles)]
    with engine.begin() as conn:
        upsert_papers(conn, papers, "test", when)  # type: ignore[arg-type]
    return papers


def liked(engine: Engine, email: str) -> set[str]:
    with engine.connect() as conn:
        stored = get_subscriber(conn, email)
    assert stored is not None
    return set(library_files.expand(stored.subscriber.library))


def test_one_paper_per_cluster_the_same_every_time(engine: Engine) -> None:
    store(engine, [t for ts in THEMES.values() for t in ts])
    old = store(engine, ["Spiking neural networks of long ago"], NOW - timedelta(days=90))
    matcher = Matcher(MatchSettings(semantic=False))
    first = offered(engine, matcher, NOW, n=3 + 1)  # three themes and the fixture's papers
    assert [o.title for o in first] == [o.title for o in offered(engine, matcher, NOW, n=4)]
    shown = {o.title for o in first}
    for theme in THEMES.values():
        assert len(shown & set(theme)) == 1, (theme, shown)
    assert old[0].title not in shown  # recent papers only
    for o in first:
        assert library_files.read(o.value.encode(), "pick").keys  # a pick reads as a paper


def test_sign_up_with_picks_and_no_topics(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    page = client.get("/")
    assert page.text.count('class="pick"') == len(PAPERS)
    assert "Pick papers you would read" in page.text
    value = f"{PAPERS[2].title} (arXiv:{PAPERS[2].arxiv_id})"
    assert f'value="{value}"' in page.text
    confirmed = subscribe_and_confirm(client, mailer, topics="", **{"pick-0": value})
    assert confirmed.status_code == 200
    assert f"arxiv:{PAPERS[2].arxiv_id}" in liked(engine, "ada@example.org")


def test_nothing_given_is_still_refused(client: TestClient) -> None:
    page = subscribe(client, topics="")
    assert page.status_code == 400
    assert 'class="pick"' in page.text  # the papers are offered again


def test_a_pick_kept_when_the_form_comes_back(client: TestClient) -> None:
    value = f"{PAPERS[0].title} (arXiv:{PAPERS[0].arxiv_id})"
    page = subscribe(client, email="not an address", **{"pick-0": value})
    assert page.status_code == 400
    assert f'value="{value}" checked' in page.text


def test_preferences_add_picks_to_liked_papers(
    client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site
) -> None:
    subscribe_and_confirm(client, mailer)
    before = liked(engine, "ada@example.org")
    assert site.offered() == site.offered()
    html, token = prefs_page(client)
    assert html.count('class="pick"') == len(PAPERS)
    value = f"{PAPERS[1].title} (arXiv:{PAPERS[1].arxiv_id})"
    saved = client.post("/preferences", data=edited(csrf_of(html), token, **{"pick-2": value}))
    assert saved.status_code == 200, saved.text
    assert liked(engine, "ada@example.org") - before == {
        f"arxiv:{PAPERS[1].arxiv_id}", f"title:{normalize_title(PAPERS[1].title)}"
    }
