"""Browser journeys on PostgreSQL: two app servers on one database (RESEAUX_DATABASE_URL), as a
network outgrowing one machine runs them.

The database is filled from the demo file; the right answers are read from that file with the
csv module and from the database with SQL, never through the app's own reading code.
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
from urllib.parse import urlsplit

import pandas as pd
import psycopg
import pytest
from playwright.sync_api import expect

from reseaux.stockage.postgres import PostgresDirectoryStore
from tests import browser as ui
from tests import test_browser_a11y as a11y
from tests.conftest import SCREENSHOTS, close_pools_of, evaluate_in_map, map_frame, visible_demo, wait_in_map
from tests.test_journey_coordinator import open_fiche
from tests.test_journey_presenter import download

pytestmark = pytest.mark.browser

NEW_PHONE = "02 61 91 77 77"
ACTOR = "demo-002"
#: The map's frame (streamlit-folium's iframe).
MAP = "iframe[title='streamlit_folium.st_folium']"
#: The pins and the cluster counts the map draws (see test_journey_carte).
DRAWN = """(n) => document.querySelectorAll('.rx-pin').length
    + [...document.querySelectorAll('.rx-cluster span')].reduce((s, e) => s + (+e.textContent), 0) === n"""


def stored_phone(url: str, actor_id: str) -> list[str]:
    """The phone of ``actor_id`` in the database's current rows, read with SQL."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT cells->>'telephone' FROM reseaux.directory_rows WHERE actor_id = %s AND valid_to IS NULL",
            (actor_id,),
        ).fetchall()
    return [phone for (phone,) in rows]


def test_two_servers_share_one_database_map_edit_and_versions(browser, tmp_path, database_url, referential):
    folder, env = browser_folder(tmp_path, database_url)
    with open(folder / "actors.csv", encoding="utf-8") as handle:
        before = {row["id"]: row for row in csv.DictReader(handle)}
    placed_public = [r for r in visible_demo(referential).to_dict("records") if r.get("latitude")]
    (folder / "actors.csv").unlink()  # the file is gone: everything comes from the database
    assert stored_phone(database_url, ACTOR) == [before[ACTOR]["telephone"]] != [NEW_PHONE]

    one = browser_context(browser)
    two = browser_context(browser)
    try:
        with browser_app(env) as first, browser_app(env) as second:
            # A visitor of the second server sees the public directory drawn on the map.
            visitor = two.new_page()
            visitor.goto(second.url)
            ui.settle(visitor)
            wait_in_map(visitor, DRAWN, len(placed_public), timeout=60_000)
            ui.no_error(visitor)

            # A coordinator of the first server changes a phone number and saves.
            page = one.new_page()
            ui.open_annuaire(page, first, "coord")
            page.get_by_text("Aucune modification en attente").wait_for()
            open_fiche(page, ACTOR)
            phone = page.get_by_label("Téléphone", exact=True)
            assert phone.input_value() == before[ACTOR]["telephone"]
            phone.fill(NEW_PHONE)
            page.get_by_role("button", name="Valider la fiche").click()
            page.get_by_text("1 modification en attente").wait_for()
            page.get_by_role("button", name="Enregistrer", exact=True).click()
            page.get_by_text("notée au journal au nom de coord").wait_for()
            assert stored_phone(database_url, ACTOR) == [NEW_PHONE]
            journal = PostgresDirectoryStore(database_url).read_journal()
            assert [(e["qui"], e["id"]) for e in journal if e["action"] == "modification"] == [("coord", ACTOR)]
            page.screenshot(path=str(SCREENSHOTS / "postgresql-enregistre.png"), full_page=True)

            # The second server shows it at the next visit of another coordinator.
            other = two.new_page()
            ui.open_annuaire(other, second, "admin")
            other.get_by_text("Aucune modification en attente").wait_for()
            open_fiche(other, ACTOR)
            expect(other.get_by_label("Téléphone", exact=True)).to_have_value(NEW_PHONE)

            # Its « Sauvegardes et journal » tab lists the database's former version; restoring it
            # brings the old phone back, on both servers.
            other.get_by_role("tab", name="Sauvegardes et journal").click()
            other.get_by_role("button", name="Restaurer cette sauvegarde").wait_for()
            found: list[str] = []  # axe-core on the database's versions, at 1440 and 390 wide
            a11y.check(other, a11y.AXE.read_text(encoding="utf-8"), "Annuaire, versions de la base", found)
            assert not found, a11y.report(found)
            other.get_by_role("button", name="Restaurer cette sauvegarde").click()
            other.get_by_text("restaurée").first.wait_for(timeout=60_000)
            assert stored_phone(database_url, ACTOR) == [before[ACTOR]["telephone"]]
            ui.no_error(other)
            page.reload()
            ui.settle(page)
            if not page.get_by_text("Connecté·e : coord").is_visible():
                if page.get_by_role("dialog").is_visible():
                    page.keyboard.press("Escape")
                ui.sign_in(page, "coord")
                ui.open_nav_page(page, "Annuaire")
            page.get_by_text("Aucune modification en attente").wait_for()
            open_fiche(page, ACTOR)
            expect(page.get_by_label("Téléphone", exact=True)).to_have_value(before[ACTOR]["telephone"])
            ui.no_error(page)
    finally:
        one.close()
        two.close()


#: Where the professional searches from, south of Rouen: for a visitor and for a member, the three
#: nearest IVG partners stand apart by 9 % of their distance or more (so the truth below, on the
#: ellipsoid, and the app's, in Lambert-93, cannot order them differently), the member's two first
#: being fiches for members only.
SEARCHED_FROM = (49.40, 1.08)


def nearest_ivg(path, *, members: bool) -> list[tuple[float, str, str]]:
    """(metres, name, visibility) of the IVG partners within 10 km of :data:`SEARCHED_FROM`, nearest
    first: the demo file read with the csv module, distances on the ellipsoid (pyproj's Geod)."""
    from pyproj import Geod

    lat, lon = SEARCHED_FROM
    found = []
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if (
                "ivg" in row["thematiques"].split("|")
                and row["latitude"]
                and (members or row["visibilite"] == "public")
            ):
                _, _, metres = Geod(ellps="GRS80").inv(lon, lat, float(row["longitude"]), float(row["latitude"]))
                if metres <= 10_000:
                    found.append((metres, row["nom"], row["visibilite"]))
    return sorted(found)


def readings_done(url: str) -> bool:
    """Whether every current row of the database has its reading (SQL, not the app's code)."""
    with psycopg.connect(url) as connection:
        if connection.execute("SELECT to_regclass('reseaux.directory_readings')").fetchone()[0] is None:
            return False  # never asked: the table is made by the first question
        stamped = connection.execute("SELECT count(*) FROM reseaux.directory_readings").fetchone()[0]
        unread = connection.execute(
            "SELECT count(*) FROM reseaux.directory_rows WHERE valid_to IS NULL AND usable IS NULL"
        ).fetchone()[0]
    return stamped == 1 and unread == 0


def test_trouver_asks_the_database_as_each_person_sees_the_directory(browser, tmp_path, database_url):
    """« Trouver un partenaire » on PostgreSQL: the page has the database read each fiche (in the
    background, the first time), then asks it the nearest partners — a visitor's among the public
    fiches, a member's among all — and the cards say the truth computed from the file."""
    folder, env = browser_folder(tmp_path, database_url)
    visitor_truth = nearest_ivg(folder / "actors.csv", members=False)
    member_truth = nearest_ivg(folder / "actors.csv", members=True)
    for truth in (visitor_truth, member_truth):
        assert len(truth) >= 10 and all(truth[i + 1][0] > truth[i][0] * 1.09 for i in range(3))
    assert [v for _, _, v in member_truth[:2]] == ["membres", "membres"]
    assert not readings_done(database_url)  # nothing read yet: the page starts it
    lat, lon = SEARCHED_FROM
    context = browser_context(browser)
    try:
        with browser_app(env) as app:
            page = context.new_page()
            page.goto(f"{app.url}/trouver?lat={lat}&lon={lon}&theme=ivg&rayon=10")
            page.get_by_text("10 partenaires les plus proches").wait_for(timeout=90_000)
            deadline = time.monotonic() + 60
            while not readings_done(database_url):  # the page's thread reads the 185 fiches
                assert time.monotonic() < deadline, "la page n'a pas fait lire les fiches par la base"
                time.sleep(0.2)
            # The next search is asked of the database: another radius, then back.
            page.goto(f"{app.url}/trouver?lat={lat}&lon={lon}&theme=ivg&rayon=5")
            page.goto(f"{app.url}/trouver?lat={lat}&lon={lon}&theme=ivg&rayon=10")
            for number, (_, name, _) in enumerate(visitor_truth[:3], start=1):
                page.get_by_text(f"{number}. {name}").first.wait_for(timeout=60_000)
            for _, name, visibility in member_truth[:10]:
                if visibility == "membres":
                    expect(page.get_by_text(name)).to_have_count(0)  # not for a visitor
            ui.no_error(page)
            found: list[str] = []  # axe-core on the results the database gave, at 1440 and 390 wide
            a11y.check(page, a11y.AXE.read_text(encoding="utf-8"), "Trouver, réponses de la base", found)
            assert not found, a11y.report(found)
            page.set_viewport_size({"width": 1440, "height": 900})
            ui.sign_in(page, "membre")
            for number, (_, name, _) in enumerate(member_truth[:3], start=1):
                page.get_by_text(f"{number}. {name}").first.wait_for(timeout=60_000)
            ui.no_error(page)
            page.screenshot(path=str(SCREENSHOTS / "postgresql-trouver-membre.png"), full_page=True)

            # A second server, started now on the read database, serves « Trouver » without ever
            # reading the directory: the cards, the outreach actions and the languages are the
            # database's. Its parse cache (where every reading of the directory is kept) stays
            # empty until its map is opened.
            (tmp_path / "deux").mkdir()
            other_folder, other_env = ui.data_folder(tmp_path / "deux")
            other_env["RESEAUX_DATABASE_URL"] = database_url
            parsed = other_folder / ".cache" / "annuaire"
            with browser_app(other_env) as second:
                visitor = browser_context(browser)
                try:
                    page = visitor.new_page()
                    page.goto(f"{second.url}/trouver?lat={lat}&lon={lon}&theme=ivg&rayon=10")
                    for number, (_, name, _) in enumerate(visitor_truth[:3], start=1):
                        page.get_by_text(f"{number}. {name}").first.wait_for(timeout=60_000)
                    page.goto(f"{second.url}/trouver?lat={ROUEN[0]}&lon={ROUEN[1]}&rayon=2")
                    outreach = page.get_by_text("Une action d'aller-vers passe dans ce quartier")
                    expect(outreach).to_be_visible(timeout=60_000)
                    for name in outreach_in(folder / "actors.csv", "76540"):
                        expect(outreach).to_contain_text(name)
                    # A language chosen among those the database offers: its speakers, nearest first.
                    page.goto(f"{second.url}/trouver?lat={lat}&lon={lon}&rayon=10")
                    page.get_by_text("partenaires les plus proches").first.wait_for(timeout=60_000)
                    ui.choose(page, "Langues parlées", "wolof")
                    speakers = nearest_speaking(folder / "actors.csv", "wolof")
                    assert 1 <= len(speakers) < 10
                    page.get_by_text(f"{len(speakers)} partenaire").first.wait_for(timeout=60_000)
                    for number, name in enumerate(speakers, start=1):
                        page.get_by_text(f"{number}. {name}").first.wait_for(timeout=60_000)
                    ui.no_error(page)
                    assert not list(parsed.glob("*.pickle")), "le serveur a lu l'annuaire pour « Trouver »"

                    # Its map too: the count, the pins and a fiche opened are the database's answers,
                    # as the file says them.
                    ui.open_nav_page(page, "Carte du réseau")
                    public = public_rows(folder / "actors.csv")
                    placed = [row for row in public.values() if row["latitude"]]
                    wait_in_map(page, DRAWN, len(placed), timeout=90_000)
                    page.get_by_text(f"{len(public)} acteurs sur {len(public)}").wait_for(timeout=60_000)
                    frame = page.locator(MAP).last.element_handle().content_frame()
                    ui.click_pin_in_view(frame)
                    fiche = frame.locator(".rx-fiche").first.inner_text()
                    shown = [row for row in placed if row["nom"] in fiche]
                    assert len(shown) >= 1 and any(row["telephone"] in fiche for row in shown), fiche
                    ui.no_error(page)
                    page.screenshot(path=str(SCREENSHOTS / "postgresql-carte-visiteur.png"), full_page=True)
                    # The map's token, issued by this server for a visitor, is answered by the first
                    # one as well (it rebuilds the same view from the database): its search box
                    # finds the file's public fiches, their fiches are served, a members' row is not.
                    source = evaluate_in_map(page, "() => document.documentElement.innerHTML")
                    path = re.search(r'rx\.httpFiches\("([^"]+)"\)', source).group(1)
                    status, body = ui.http_get(f"{app.url}{path}/recherche?q=planning")
                    assert status == 200, body
                    keys = json.loads(body)["rows"]
                    truth = sorted(
                        row["nom"]
                        for row in public.values()
                        if "planning" in f"{row['nom']} {row['structure']} {row['adresse']}".lower()
                    )
                    assert len(truth) >= 2
                    status, body = ui.http_get(f"{app.url}{path}/fiches?lignes=" + ",".join(map(str, keys)))
                    assert status == 200, body
                    assert sorted(fiche[0] for fiche in json.loads(body)["fiches"]) == truth
                    with psycopg.connect(database_url) as connection:
                        (members,) = connection.execute(
                            "SELECT row_key FROM reseaux.directory_rows WHERE valid_to IS NULL "
                            "AND cells->>'visibilite' = 'membres' LIMIT 1"
                        ).fetchone()
                    assert ui.http_get(f"{app.url}{path}/fiches?lignes={members}")[0] == 400
                    assert ui.http_get(f"{app.url}{path}/fiches?lignes={keys[0]}")[0] == 200
                    assert not list(parsed.glob("*.pickle")), "le serveur a lu l'annuaire pour la carte"
                    # And « Couverture », counted from the same index (its tables are compared with
                    # the directory in memory's in tests/test_map_answers.py).
                    ui.open_nav_page(page, "Couverture")
                    page.get_by_role("heading", name="Tableau par périmètre").wait_for(timeout=90_000)
                    ui.no_error(page)
                    assert not list(parsed.glob("*.pickle")), "le serveur a lu l'annuaire pour « Couverture »"
                    page.screenshot(path=str(SCREENSHOTS / "postgresql-couverture-visiteur.png"), full_page=True)
                    # « Présentation » as well: the current view's count and its export, read at
                    # the click from the database, are the public fiches of the file.
                    ui.open_nav_page(page, "Présentation")
                    page.get_by_role("heading", name="Présentation et exports").wait_for(timeout=90_000)
                    page.get_by_text(f"{len(public)} acteurs ·").first.wait_for(timeout=60_000)
                    exported = pd.read_csv(
                        download(page, "Acteurs (CSV)", tmp_path, "presentation.csv"),
                        sep=";",
                        encoding="utf-8-sig",
                        dtype=str,
                    )
                    assert sorted(exported["Nom"]) == sorted(row["nom"] for row in public.values())
                    ui.no_error(page)
                    assert not list(parsed.glob("*.pickle")), "le serveur a lu l'annuaire pour « Présentation »"
                    found: list[str] = []  # axe-core on the pages the database answered, at 1440 and 390 wide
                    for name, where in (("Présentation", "Présentation"), ("Couverture", "Couverture")):
                        ui.open_nav_page(page, name)
                        page.get_by_role("heading", name=where).first.wait_for(timeout=90_000)
                        a11y.check(page, a11y.AXE.read_text(encoding="utf-8"), f"{where}, réponses de la base", found)
                    page.set_viewport_size({"width": 1440, "height": 900})

                    # A member: the Carte filtered on IVG counts every fiche of the theme, members'
                    # ones too, and its list's download holds the public ones only (a member does
                    # not take members' fiches away) — both as the file says them.
                    ui.sign_in(page, "membre")
                    page.goto(f"{second.url}/?theme=ivg")
                    with open(folder / "actors.csv", encoding="utf-8") as handle:
                        ivg = [row for row in csv.DictReader(handle) if "ivg" in row["thematiques"].split("|")]
                    ivg_public = [row["nom"] for row in ivg if row["visibilite"] == "public"]
                    assert len(ivg) > len(ivg_public) > 10
                    page.get_by_text(f"{len(ivg)} acteurs sur 185").wait_for(timeout=90_000)
                    wait_in_map(page, DRAWN, sum(1 for row in ivg if row["latitude"]), timeout=90_000)
                    listed = pd.read_csv(
                        download(page, "Télécharger la liste (CSV pour Excel)", tmp_path, "carte.csv"),
                        sep=";",
                        encoding="utf-8-sig",
                        dtype=str,
                    )
                    assert sorted(listed["Nom"]) == sorted(ivg_public)
                    a11y.check(
                        page, a11y.AXE.read_text(encoding="utf-8"), "Carte d'un membre, réponses de la base", found
                    )
                    assert not found, a11y.report(found)
                    ui.no_error(page)
                    assert not list(parsed.glob("*.pickle")), "le serveur a lu l'annuaire pour la carte d'un membre"
                    # « Qualité de l'annuaire » too, for the coordination: its counts are the file's.
                    page.set_viewport_size({"width": 1440, "height": 900})
                    ui.sign_out(page)
                    ui.sign_in(page, "coord")
                    ui.open_nav_page(page, "Qualité de l'annuaire")
                    page.get_by_role("heading", name="Qualité de l'annuaire").wait_for(timeout=90_000)
                    with open(folder / "actors.csv", encoding="utf-8") as handle:
                        rows = list(csv.DictReader(handle))
                    unplaced = sum(1 for row in rows if not row["latitude"])
                    assert len(rows) < 1000  # written without a thousands' space
                    for label, count in (
                        ("Acteurs chargés", len(rows)),
                        ("Lignes écartées", 0),
                        ("Sans position", unplaced),
                    ):
                        shown = page.get_by_test_id("stMetric").filter(has_text=label)
                        expect(shown).to_have_text(re.compile(rf"{label}\s*{count}\s*$"))
                    ui.no_error(page)
                    assert not list(parsed.glob("*.pickle")), "le serveur a lu l'annuaire pour « Qualité »"
                    # « Données personnelles »: the fiche an erasure asks for, found by its name
                    # in the database (a members' fiche of the file).
                    ui.open_nav_page(page, "Données personnelles")
                    page.get_by_role("heading", name="Supprimer définitivement une fiche").wait_for(timeout=90_000)
                    member = next(row for row in rows if row["visibilite"] == "membres")
                    page.get_by_label("Chercher la fiche : nom, structure, adresse ou identifiant").fill(member["nom"])
                    page.keyboard.press("Enter")
                    ui.type_in(page, "Fiche", "")
                    expect(page.get_by_role("option", name=f"{member['nom']} ({member['id']})")).to_have_count(1)
                    page.keyboard.press("Escape")
                    ui.no_error(page)
                    assert not list(parsed.glob("*.pickle")), "le serveur a lu l'annuaire pour « Données personnelles »"
                    # The check can see a reading: the Annuaire's whole-directory exports read it.
                    ui.open_nav_page(page, "Annuaire")
                    page.get_by_role("tab", name="Exporter").click()
                    page.get_by_role("button", name="Préparer les exports").click()
                    expect(page.get_by_role("button", name="CSV (Excel, ;)")).to_be_visible(timeout=90_000)
                    assert list(parsed.glob("*.pickle"))
                finally:
                    visitor.close()
    finally:
        context.close()


#: The centre of Rouen (commune 76540), in no QPV: the outreach actions passing there name Rouen.
ROUEN = (49.4431, 1.0993)


def outreach_in(path, commune: str) -> list[str]:
    """The public outreach actions whose zone names ``commune``: the demo file read with the csv module."""
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    found = [
        row["nom"]
        for row in rows
        if row["type"] == "aller_vers"
        and row["visibilite"] == "public"
        and commune in row["zone_intervention"].split("|")
    ]
    assert len(found) >= 2
    return found


def nearest_speaking(path, language: str) -> list[str]:
    """The names of the public fiches speaking ``language`` within 10 km of :data:`SEARCHED_FROM`,
    nearest first: the demo file read with the csv module, distances on the ellipsoid."""
    from pyproj import Geod

    lat, lon = SEARCHED_FROM
    found = []
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            spoken = [part.strip() for part in row["langues"].split("|")]
            if row["visibilite"] == "public" and row["latitude"] and language in spoken:
                _, _, metres = Geod(ellps="GRS80").inv(lon, lat, float(row["longitude"]), float(row["latitude"]))
                if metres <= 10_000:
                    found.append((metres, row["nom"]))
    return [name for _, name in sorted(found)]


def public_rows(path) -> dict[str, dict]:
    """The public fiches of the demo file (the csv module), by id: what a visitor's map counts."""
    with open(path, encoding="utf-8") as handle:
        return {row["id"]: row for row in csv.DictReader(handle) if row["visibilite"] == "public"}


def visitor_actors(path) -> list[str]:
    """The placed public fiches of the demo file (the csv module): what a visitor's map draws."""
    with open(path, encoding="utf-8") as handle:
        return [row["id"] for row in csv.DictReader(handle) if row["visibilite"] == "public" and row["latitude"]]


def test_a_database_that_does_not_answer_is_said_in_french(browser, tmp_path):
    """A server whose database is down: a French sentence naming the setting, no stack trace."""
    _folder, env = browser_folder(tmp_path, "postgresql://reseaux@127.0.0.1:9/reseaux")
    context = browser_context(browser)
    try:
        with browser_app(env) as app:
            page = context.new_page()
            page.goto(app.url)
            expect(page.get_by_text("Impossible de charger les données")).to_be_visible(timeout=90_000)
            expect(page.get_by_text("RESEAUX_DATABASE_URL")).to_be_visible()
            expect(page.get_by_text("Traceback")).to_have_count(0)
            page.screenshot(path=str(SCREENSHOTS / "postgresql-injoignable.png"), full_page=True)
    finally:
        context.close()


# -- helpers --


def test_a_layer_added_through_one_server_is_drawn_by_the_other(browser, tmp_path, database_url):
    """Two servers, each with its own copy of the geo folder as two machines have: a coordinator
    adds a layer through the first; a visitor of the second, whose map was open before, finds it
    at her next click, on the map. The truth: the file written here (two
    perimeters once repaired, see tests/test_add_layer.py) and the database read with SQL."""
    from tests.test_add_layer import perimeters

    folder, env = browser_folder(tmp_path, database_url)
    (tmp_path / "deux").mkdir()
    other_folder, other_env = ui.data_folder(tmp_path / "deux")
    other_env["RESEAUX_DATABASE_URL"] = database_url
    deployed = ui.fingerprint(folder / "geo"), ui.fingerprint(other_folder / "geo")
    source = perimeters(tmp_path / "secteurs-test.geojson")
    one, two = browser_context(browser), browser_context(browser)
    try:
        with browser_app(env) as first, browser_app(other_env) as second:
            visitor = two.new_page()
            visitor.goto(second.url)
            ui.settle(visitor)
            wait_in_map(visitor, "() => document.querySelectorAll('.rx-pin, .rx-cluster').length > 0", timeout=60_000)

            page = one.new_page()
            page.goto(first.url)
            ui.settle(page)
            ui.sign_in(page, "coord")
            ui.open_nav_page(page, "Sources et crédits")
            page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(source))
            page.get_by_role("button", name="Ajouter la couche").wait_for(timeout=30_000)
            ui.choose(page, "Champ du code de chaque périmètre", "CODE_P")
            ui.choose(page, "Champ du nom", "NOM_P")
            page.get_by_label("Libellé affiché").fill("Secteurs test")
            page.get_by_label("Licence").fill("Licence Ouverte 2.0")
            page.get_by_role("button", name="Ajouter la couche").click()
            page.get_by_text("Couche « Secteurs test » ajoutée : 2 périmètres").wait_for(timeout=30_000)
            ui.no_error(page)
            with psycopg.connect(database_url) as connection:
                kept = connection.execute(
                    "SELECT collection, name FROM reseaux.documents WHERE collection IN ('couches', "
                    "'registre_couches') ORDER BY collection"
                ).fetchall()
            assert kept == [("couches", "secteurs_test.geojson"), ("registre_couches", "")]
            assert (ui.fingerprint(folder / "geo"), ui.fingerprint(other_folder / "geo")) == deployed

            ui.open_nav_page(visitor, "Sources et crédits")  # her next click, elsewhere
            ui.open_nav_page(visitor, "Carte du réseau")
            ui.choose(visitor, "Périmètres affichés", "Périmètres ajoutés — Secteurs test")
            map_frame(visitor).locator(".rx-legend").get_by_text("Secteurs test").wait_for(timeout=30_000)
            ui.no_error(visitor)
            visitor.screenshot(path=str(SCREENSHOTS / "postgresql-couche-ajoutee.png"), full_page=True)
    finally:
        one.close()
        two.close()


def browser_folder(tmp_path, url: str):
    """The test's data folder (layers, scenes) with the directory and the test accounts in the
    database ``url`` (filled from the demo file when the database answers): with
    RESEAUX_DATABASE_URL set, the app reads both from there."""
    from reseaux.acces.accounts import AccountStore
    from tests.conftest import PASSWORD, ROLES_FOR_TESTS

    folder, env = ui.data_folder(tmp_path)
    env["RESEAUX_DATABASE_URL"] = url
    if not url.endswith(":9/reseaux"):
        PostgresDirectoryStore(url).replace((folder / "actors.csv").read_bytes(), "essai", "migration")
        before = os.environ.get("RESEAUX_DATABASE_URL")
        os.environ["RESEAUX_DATABASE_URL"] = url
        try:
            accounts = AccountStore(folder / "comptes.json")
            for name, role in ROLES_FOR_TESTS.items():
                accounts.add(name, PASSWORD, role, f"{name}@example.org")
        finally:
            if before is None:
                os.environ.pop("RESEAUX_DATABASE_URL")
            else:
                os.environ["RESEAUX_DATABASE_URL"] = before
    return folder, env


def browser_context(chromium):
    return chromium.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")


def browser_app(env):
    return ui.LoggedApp(env)


def test_a_database_cut_midway_keeps_the_session_and_the_pending_edit(browser, tmp_path, database_url):
    """The network to the database is cut while a coordinator works: her next click is refused
    with a French sentence (nothing shown that could not be checked), her sign-in and her pending
    edit are kept; when the database answers again she goes on and saves."""
    from tests.tcp_relay import TcpRelay

    server = urlsplit(database_url)
    relay = TcpRelay((server.hostname, server.port))
    _folder, env = browser_folder(tmp_path, relay.url(database_url))
    context = browser_context(browser)
    try:
        with browser_app(env) as app:
            page = context.new_page()
            ui.open_annuaire(page, app, "coord")
            page.get_by_text("Aucune modification en attente").wait_for()
            open_fiche(page, ACTOR)
            page.get_by_label("Téléphone", exact=True).fill(NEW_PHONE)
            page.get_by_role("button", name="Valider la fiche").click()
            page.get_by_text("1 modification en attente").wait_for()

            relay.cut()
            page.get_by_role("tab", name="Sauvegardes et journal").click()
            expect(page.get_by_text("ne répond pas").first).to_be_visible(timeout=60_000)
            expect(page.get_by_text("Traceback")).to_have_count(0)
            page.screenshot(path=str(SCREENSHOTS / "postgresql-coupee.png"), full_page=True)
            found: list[str] = []
            a11y.check(page, a11y.AXE.read_text(encoding="utf-8"), "base coupée", found)
            assert not found, a11y.report(found)

            relay.mend()  # she clicks the page again, as the message says
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Annuaire", exact=True).click()
            expect(page.get_by_text("Connecté·e : coord")).to_be_visible(timeout=60_000)
            expect(page.get_by_text("1 modification en attente")).to_be_visible(timeout=60_000)
            page.get_by_role("button", name="Enregistrer", exact=True).click()
            page.get_by_text("notée au journal au nom de coord").wait_for(timeout=60_000)
            assert stored_phone(database_url, ACTOR) == [NEW_PHONE]
            ui.no_error(page)
    finally:
        context.close()
        close_pools_of(relay.url(database_url))
        relay.close()
