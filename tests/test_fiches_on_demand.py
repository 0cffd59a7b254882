"""Fiches on demand: the map page carries positions only; a click asks the server for the fiche,
under the page's own visibility rule (reseaux.annuaire.fiche_service, routes in reseaux.serveur.web).

First the service alone (tokens, expiry, search), then through a real server: a visitor's page
is opened in Chromium, its token read from the map, and every row that token can reach is
fetched over HTTP — none is a member's fiche; a forged token and a row outside the view are
refused in French.
"""

from __future__ import annotations

import csv
import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from reseaux.acces.access import visible_actors
from reseaux.annuaire.fiche_service import MAX_ROWS, FicheService, fold
from reseaux.app_data import load_actors, visible_view
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
    assert all(
        all(
            w
            in fold(
                frame["nom"].iloc[r]
                + " "
                + frame["structure"].iloc[r]
                + " "
                + frame["adresse"].iloc[r]
                + " "
                + frame["code_postal"].iloc[r]
                + " "
                + frame["commune"].iloc[r]
            )
            for w in words
        )
        for r in found["rows"]
    )
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
        path = re.search(r'rx\.httpFiches\("([^"]+)"\)', source).group(1)
        assert not re.search(r"rx\.blobFiches\(\"", source)  # the page itself carries no fiche
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


#: Written by hand, not taken from the app: a date as the lists write it.
_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def _spelt(iso: str) -> str:
    year, month, day = (int(part) for part in iso.split("-"))
    return f"{'1er' if day == 1 else day} {_MONTHS[month - 1]} {year}"


def test_a_fiche_says_its_update_date_as_the_lists_do(demo, referential):
    """Fiches said « 2023-03-14 » where lists say « 14 mars 2023 »."""
    service = FicheService()
    visitor = visible_view(demo, "visiteur", "public").directory.actors
    token = service.register("s", visitor, referential, ttl_s=60)
    answer = service.fiches(token, list(range(len(visitor))))
    at = [label for _kind, label in answer["fields"]].index("Mise à jour")
    with open(ROOT / "data" / "actors.csv", encoding="utf-8") as file:
        written = {row["nom"]: row["date_maj"] for row in csv.DictReader(file)}
    assert {f[0]: f[at] for f in answer["fiches"]} == {name: _spelt(written[name]) for name in visitor["nom"]}


def test_the_map_fiche_spells_its_date(page, tmp_path):
    _, env = data_folder(tmp_path)
    with ServedApp(env) as app:
        page.goto(app.url)
        frame = map_frame(page)
        pin = frame.locator(".rx-pin").first
        pin.wait_for(timeout=60_000)
        pin.dispatch_event("click")  # a click on the marker itself, wherever the map has panned
        fiche = frame.locator(".rx-fiche").last
        expect(fiche).to_contain_text("Mise à jour")
        with open(ROOT / "data" / "actors.csv", encoding="utf-8") as file:
            written = {row["nom"]: row["date_maj"] for row in csv.DictReader(file)}
        name = fiche.locator(".rx-fiche-title").inner_text()
        expect(fiche).to_contain_text(_spelt(written[name]))
        assert not re.search(r"\d{4}-\d\d-\d\d", fiche.inner_text())
