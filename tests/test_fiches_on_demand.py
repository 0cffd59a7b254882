"""Fiches on demand: the map page carries positions only; a click asks the server for the fiche,
under the page's own visibility rule (reseaux.fiche_service, routes in reseaux.web).

First the service alone (tokens, expiry, search), then through a real server: a visitor's page
is opened in Chromium, its token read from the map, and every row that token can reach is
fetched over HTTP — none is a member's fiche; a forged token and a row outside the view are
refused in French.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from reseaux.access import visible_actors
from reseaux.app_data import load_actors, visible_view
from reseaux.fiche_service import MAX_ROWS, FicheService, fold
from tests.browser import data_folder, settle
from tests.conftest import ROOT, ServedApp, evaluate_in_map, map_frame


@pytest.fixture(scope="module")
def demo(referential):
    return load_actors(ROOT / "data" / "actors.csv", referential)


def private_names(demo) -> set[str]:
    everyone = demo.directory.actors
    public = visible_actors(everyone, "visiteur", "public")
    return set(everyone["nom"]) - set(public["nom"])


def test_a_token_answers_only_with_the_view_it_was_registered_with(demo, referential):
    service = FicheService()
    visitor = visible_view(demo, "visiteur", "public").directory.actors
    token = service.register("visitor's session", visitor, referential, ttl_s=60)
    names = [f[0] for f in service.fiches(token, list(range(len(visitor))))["fiches"]]
    assert names == visitor["nom"].tolist()
    assert private_names(demo) and not private_names(demo) & set(names)
    with pytest.raises(IndexError):  # the rows of the whole directory are out of a visitor's reach
        service.fiches(token, [len(visitor)])
    with pytest.raises(IndexError):
        service.fiches(token, list(range(MAX_ROWS + 1)))
    assert service.fiches("forged-token", [0]) is None
    member = service.register("member's session", demo.directory.actors, referential, ttl_s=60)
    assert member != token and len(service.fiches(member, [len(visitor)])["fiches"]) == 1


def test_a_token_is_kept_across_runs_replaced_when_the_view_changes_and_expires(demo, referential):
    service = FicheService()
    visitor = visible_view(demo, "visiteur", "public").directory.actors
    first = service.register("s", visitor, referential, ttl_s=60, now=0)
    assert service.register("s", visitor, referential, ttl_s=60, now=30) == first  # the map is kept
    assert service.fiches(first, [0], now=80) is not None  # 30 + 60: still alive
    signed_in = service.register("s", demo.directory.actors, referential, ttl_s=60, now=85)
    assert signed_in != first and service.fiches(first, [0], now=86) is None  # signed in: old view gone
    assert service.fiches(signed_in, [0], now=85 + 61) is None  # inactive longer than the timeout


def test_search_folds_accents_and_needs_every_word(demo, referential):
    service = FicheService()
    frame = demo.directory.actors
    token = service.register("s", frame, referential, ttl_s=60)
    target = frame[frame["nom"].str.contains("é")].iloc[0]
    words = fold(target["nom"]).split()
    found = service.search(token, " ".join(reversed(words)).upper())
    assert frame.index.get_loc(target.name) in found["rows"] and not found["more"]
    assert all(all(w in fold(frame["nom"].iloc[r] + " " + frame["structure"].iloc[r] + " " + frame["adresse"].iloc[r]
                                + " " + frame["code_postal"].iloc[r] + " " + frame["commune"].iloc[r])
                   for w in words) for r in found["rows"])
    assert service.search(token, "zzzz introuvable") == {"rows": [], "more": False}
    assert service.search(token, "   ") == {"rows": [], "more": False}


def _get(url: str) -> tuple[int, str, object]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8"), error.headers


@pytest.mark.browser
def test_a_visitors_page_can_fetch_no_members_fiche(page, tmp_path, demo):
    _, env = data_folder(tmp_path)
    with ServedApp(env) as app:
        page.goto(app.url)
        frame = map_frame(page)
        frame.locator(".rx-pin, .rx-cluster").first.wait_for(timeout=60_000)
        settle(page)
        source = evaluate_in_map(page, "() => document.documentElement.innerHTML")
        path = re.search(r'rxHttpFiches\("([^"]+)"\)', source).group(1)
        assert not re.search(r"rxBlobFiches\(\"", source)  # the page itself carries no fiche
        visitor = visible_actors(demo.directory.actors, "visiteur", "public")
        rows = ",".join(str(i) for i in range(len(visitor)))
        status, body, headers = _get(f"{app.url}{path}/fiches?lignes={rows}")
        assert status == 200 and headers["Cache-Control"] == "no-store"
        names = {fiche[0] for fiche in json.loads(body)["fiches"]}
        assert names == set(visitor["nom"])
        assert not names & private_names(demo)
        status, body, _ = _get(f"{app.url}{path}/fiches?lignes={len(visitor)}")
        assert status == 400 and "hors de l'annuaire affiché" in body
        status, body, _ = _get(f"{app.url}{path}/fiches?lignes=abc")
        assert status == 400 and "invalide" in body
        status, body, _ = _get(f"{app.url}/_reseaux/carte/{'x' * 24}/fiches?lignes=0")
        assert status == 404 and "rechargez" in body
        status, body, _ = _get(f"{app.url}{path}/recherche?q=" + urllib.request.quote(visitor["nom"].iloc[0]))
        assert status == 200 and 0 in json.loads(body)["rows"]
