"""Accidents and hostile addresses, played in Chromium: the page says what is wrong in
French and offers the way forward; never a traceback, never a server path.

- the directory file cut short on a crash (NUL bytes where its end was): every map page serves
  the newest readable backup and says so; a coordinator restores it from the Annuaire page;
- a perimeter file broken (truncated GeoJSON), then the layer registry cut mid-line while the
  server runs: the map pages keep serving, with a French message;
- addresses with out-of-range, malformed or huge parameters.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from reseaux.annuaire.store import DirectoryStore
from tests.browser import LoggedApp, data_folder, no_error, open_annuaire, open_nav_page, settle, sign_in
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

MAP_PAGES = ("/", "/trouver", "/couverture", "/presentation")


def _no_server_path(page) -> None:
    text = page.locator("body").inner_text()
    assert str(ROOT) not in text and "site-packages" not in text and '.py", line' not in text


def _open(page, url: str) -> None:
    page.goto(url)
    page.get_by_test_id("stApp").wait_for(timeout=60_000)
    settle(page)
    no_error(page)
    _no_server_path(page)


def test_a_directory_cut_short_says_so_everywhere_and_a_coordinator_restores_it(page, tmp_path):
    folder, env = data_folder(tmp_path)
    actors = folder / "actors.csv"
    store = DirectoryStore(actors)
    good = store.load()
    edited = good.table.copy()
    edited.loc[0, "telephone"] = "02 35 00 00 00"
    store.save(edited, good, "test")  # a real change: the good file becomes a backup, as after any save
    size = actors.stat().st_size
    actors.write_bytes(actors.read_bytes()[: size // 2] + b"\x00" * (size // 2))  # a crash: the end is zeros
    with LoggedApp(env) as app:
        for path in MAP_PAGES:  # each page serves the newest readable backup, and says so
            _open(page, app.url + path)
            banner = page.get_by_test_id("stAlert").filter(has_text="L'annuaire sur le disque est illisible")
            expect(banner, path).to_have_count(1)  # waits for the banner to be drawn
            assert (
                "n'est pas un texte CSV" in banner.inner_text() and "dernière sauvegarde lisible" in banner.inner_text()
            )
        page.goto(app.url + "/")
        page.frame_locator("iframe").first.locator(".leaflet-container").wait_for(timeout=60_000)

        sign_in(page, "coord")
        open_nav_page(page, "Annuaire")
        page.get_by_text("L'annuaire ne peut pas être lu").wait_for(timeout=60_000)
        no_error(page)
        page.get_by_role("button", name="Restaurer cette sauvegarde").click()
        page.get_by_text("restaurée à la place du fichier illisible").wait_for(timeout=60_000)
        settle(page)
        no_error(page)
        expect(page.get_by_role("tab", name="Fiches")).to_have_count(1)
        assert store.load().table.equals(good.table)  # the good version is back, the broken one kept aside
        assert any(b.read_bytes().endswith(b"\x00" * 64) for b in store.list_backups())

        open_nav_page(page, "Carte du réseau")
        page.frame_locator("iframe").first.locator(".leaflet-container").wait_for(timeout=60_000)
        no_error(page)


def test_a_broken_perimeter_file_then_a_cut_registry_keep_the_pages_serving(page, tmp_path):
    folder, env = data_folder(tmp_path)
    qpv = folder / "geo" / "qpv2024_metropole_rouen.geojson"
    assert qpv.exists()
    qpv.write_bytes(qpv.read_bytes()[:5000])  # a download cut short
    with LoggedApp(env) as app:
        for path in MAP_PAGES:
            _open(page, app.url + path)
        _open(page, app.url + "/?couches=qpv")
        banner = page.get_by_test_id("stAlert").filter(has_text="couche écartée")
        expect(banner).to_contain_text("QPV 2024 (Métropole)")
        _open(page, app.url + "/sources")  # where the banner sends: the reason, layer by layer
        page.get_by_text("Couches écartées").wait_for(timeout=30_000)

        registry = folder / "geo" / "layers.toml"
        text = registry.read_text(encoding="utf-8")
        registry.write_text(text[: len(text) // 2].rsplit("\n", 1)[0] + '\nfile = "', encoding="utf-8")
        for path in MAP_PAGES:
            _open(page, app.url + path)
            expect(page.get_by_text("layers.toml", exact=False).first).to_be_attached()


HOSTILE = [
    "/trouver?k=0&rayon=-5",
    "/trouver?rayon=1e400&lat=nan&lon=1.09",
    "/trouver?lat=95&lon=400&k=99999999999999999999",
    "/couverture?distance=999999&couche=%3Cscript%3E",
    "/?couches=" + ",".join(["qpv"] * 2000),
    "/?theme=" + "x" * 5000 + "&fond=%00&couleur=%3F",
    "/presentation?scene=inconnue&plein_ecran=1",
    "/annuaire?onglet=%27%3B--",
    "/page-qui-n-existe-pas",
]


def test_hostile_addresses_answer_in_french_without_a_trace(page, tmp_path):
    _, env = data_folder(tmp_path)
    with LoggedApp(env) as app:
        for path in HOSTILE:
            mark = app.mark()
            _open(page, app.url + path)
            assert not app.exception_since(mark), (path, app.exception_since(mark))


def test_a_save_on_a_full_disk_changes_nothing_says_so_then_goes_through(page, tmp_path):
    """The disk is full when the coordinator saves an import: the page says so in French, the
    directory and its journal are as before, the changes stay pending; once there is room, the
    same click saves them."""
    folder, env = data_folder(tmp_path)
    full = folder / "disque-plein"
    full.touch()
    actors, journal = folder / "actors.csv", folder / "journal.jsonl"
    before = actors.read_bytes(), journal.read_bytes() if journal.exists() else b""
    upload = tmp_path / "nouveaux.csv"
    upload.write_text(
        "nom,type,commune,latitude,longitude\nCentre Disque Plein (fictif),structure,Rouen,49.44,1.09\n",
        encoding="utf-8",
    )
    faults = {
        "RESEAUX_TEST_DISK_FULL": str(full),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "faults"), os.environ.get("PYTHONPATH", "")]),
    }
    with LoggedApp({**env, **faults}) as app:
        open_annuaire(page, app, "coord")
        page.get_by_role("tab", name="Importer").click()
        page.locator("input[type=file]").set_input_files(str(upload))
        page.get_by_text("1 ligne lue").wait_for(timeout=60_000)
        page.get_by_role("button", name="Ajouter à l'annuaire (à enregistrer ensuite)").click()
        page.get_by_text("1 modification en attente").wait_for(timeout=60_000)
        page.get_by_role("button", name="Enregistrer", exact=True).click()
        page.get_by_text("Enregistrement impossible : le disque est plein.").wait_for(timeout=60_000)
        settle(page)
        no_error(page)
        _no_server_path(page)
        assert (actors.read_bytes(), journal.read_bytes() if journal.exists() else b"") == before
        assert not list(folder.glob(".actors.csv.*.tmp"))
        expect(page.get_by_text("1 modification en attente")).to_have_count(1)

        full.unlink()  # room again
        page.get_by_role("button", name="Enregistrer", exact=True).click()
        page.get_by_text("Aucune modification en attente").wait_for(timeout=60_000)
        no_error(page)
        assert b"Centre Disque Plein (fictif)" in actors.read_bytes()
        assert b"Centre Disque Plein (fictif)" in journal.read_bytes()


def test_a_members_only_map_with_a_broken_accounts_file_says_so_at_sign_in(page, tmp_path):
    """RESEAUX_VISITORS=rien once failed the landing page (a duplicate widget key); a structurally
    wrong accounts file once showed a traceback at sign-in."""
    folder, env = data_folder(tmp_path)
    (folder / "comptes.json").write_text('{"comptes": {"coord": {"role": 3}}}', encoding="utf-8")
    with LoggedApp({**env, "RESEAUX_VISITORS": "rien"}) as app:
        _open(page, app.url + "/")
        page.get_by_text("accès réservé", exact=False).first.wait_for(timeout=30_000)
        expect(page.get_by_label("Identifiant")).to_have_count(1)  # one sign-in form, not two
        page.get_by_label("Identifiant").fill("coord")
        page.get_by_label("Mot de passe", exact=True).fill("un mot de passe")
        page.get_by_role("button", name="Se connecter", exact=True).click()
        page.get_by_text("Fichier des comptes comptes.json illisible ou mal formé").wait_for(timeout=30_000)
        settle(page)
        no_error(page)
        _no_server_path(page)
        for path in ("/trouver", "/couverture?distance=999999", "/annuaire"):
            _open(page, app.url + path)
