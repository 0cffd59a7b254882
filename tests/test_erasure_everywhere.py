"""GDPR erasure reaches everything the app keeps: the file, its backups, the
journal, the parsed-directory cache, the geocoding cache, the temporary files of a killed save,
the pages' memory and the map tokens handed out before the erasure.

A fictional person is added to a copy of the demo directory, seen by every part of the app, then
erased through the « Données personnelles » page; every file under the data folder is read back
(decompressed when it is) and the tokens asked, for her name, phone, e-mail and address."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pandas as pd
import pytest

from reseaux.annuaire.fiche_service import SERVICE
from reseaux.annuaire.store import DirectoryStore, encode_table
from reseaux.territoire.geocode_cache import GeoCache, address_key
from reseaux.territoire.geocoder_client import Match
from tests.conftest import ROOT, open_page, sign_in

PERSON = {
    "id": "zeph1",
    "nom": "Zéphyrine Effacementtest",
    "type": "professionnel",
    "profession": "sage-femme",
    "adresse": "3 allée des Effacetests",
    "code_postal": "76000",
    "commune": "Rouen",
    "code_insee": "76540",
    "latitude": "49.4431",
    "longitude": "1.0991",
    "telephone": "02 61 91 77 35",
    "email": "zephyrine.effacementtest@example.org",
    "date_maj": "2026-11-02",
    "fictif": "oui",
    "visibilite": "membres",
}
NEW_PHONE = "02 61 91 77 36"
#: What must be found nowhere once she is erased (bytes compared case-insensitively).
TRACES = [
    "Zéphyrine",
    "zephyrine",
    "Effacementtest",
    "0261917735",
    "0261917736",
    "02 61 91 77 35",
    "02 61 91 77 36",
    "effacetests",
    "zephyrine.effacementtest@example.org",
]


def _texts(path: Path) -> list[bytes]:
    """The file's bytes, and its content decompressed when it is compressed (gzip, bz2, xz, zip)."""
    data = path.read_bytes()
    out = [data]
    for magic, opener in ((b"\x1f\x8b", gzip.decompress), (b"BZh", bz2.decompress), (b"\xfd7zXZ", lzma.decompress)):
        if data.startswith(magic):
            out.append(opener(data))
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(BytesIO(data)) as archive:
            out += [archive.read(name) for name in archive.namelist()]
    return out


def _traces_in(folder: Path) -> dict[str, list[str]]:
    """File (relative to ``folder``) → the traces of her it holds, for every file under ``folder``."""
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        blobs = [blob.lower() for blob in _texts(path)]
        hits = [t for t in TRACES if any(t.lower().encode("utf-8") in blob for blob in blobs)]
        if hits:
            found[str(path.relative_to(folder))] = hits
    return found


def _demo_with_her(data: Path) -> DirectoryStore:
    """The demo directory copied to ``data``, with her added then her phone changed (two saves:
    a backup and journal lines hold her)."""
    data.mkdir()
    shutil.copy(ROOT / "data" / "actors.csv", data / "actors.csv")
    store = DirectoryStore(data / "actors.csv")
    base = store.load()
    added = pd.concat([base.table, pd.DataFrame([PERSON])], ignore_index=True).fillna("")
    base = store.save(added, base, "coord")
    changed = base.table.copy()
    changed.loc[changed["id"] == "zeph1", "telephone"] = NEW_PHONE
    store.save(changed, base, "coord")
    return store


def _killed_saves(store: DirectoryStore) -> None:
    """Files a save killed midway leaves: the file written aside, a backup and a journal half-written."""
    data = encode_table(store.load().table, ",", "utf-8")
    (store.path.parent / f".{store.path.name}.k1ll3d.tmp").write_bytes(data)
    (store.backups / f".{store.path.stem}-20261101T000000000000.csv.k1ll3d.tmp").write_bytes(data)
    (store.journal.parent / f".{store.journal.name}.k1ll3d.tmp").write_bytes(store.journal.read_bytes())


def _her_rows(token: str) -> list[str]:
    """Her name among what ``token`` answers (search on her first name, then those fiches)."""
    found = SERVICE.search(token, "Zéphyrine")
    if found is None or not found["rows"]:
        return []
    answer = SERVICE.fiches(token, found["rows"])
    return [str(f) for f in (answer or {"fiches": []})["fiches"] if "Effacementtest" in str(f)]


def test_an_erased_person_is_in_no_file_and_no_token(tmp_path, monkeypatch, accounts_file):
    data = tmp_path / "data"
    store = _demo_with_her(data)
    monkeypatch.setenv("RESEAUX_ACTORS", str(store.path))
    monkeypatch.setenv("RESEAUX_GEOCACHE", str(data / ".cache" / "geocodage.sqlite"))
    monkeypatch.setenv("RESEAUX_SCENES", str(data / "scenes.json"))
    monkeypatch.setenv("RESEAUX_GEOCODER_URL", "http://127.0.0.1:9")
    cache = GeoCache(data / ".cache" / "geocodage.sqlite")  # her address was geocoded once
    cache.put_many([(address_key(PERSON), Match(49.4431, 1.0991, 0.9, "housenumber", PERSON["adresse"]))])
    cache.close()
    _killed_saves(store)

    # A member's map: the page loads the directory (its parse cache is written) and gets a token.
    member = sign_in(open_page("carte"), "membre")
    assert not member.exception
    token = SERVICE._by_owner[member.session_state["_fiche_owner"]][1]  # the token her page asks with
    assert _her_rows(token), "before the erasure, the member's map finds her"
    assert list((data / ".cache" / "annuaire").glob("*.pickle"))
    assert set(_traces_in(data)) >= {"actors.csv", "journal.jsonl", ".cache/geocodage.sqlite"}

    # The coordination erases her on the « Données personnelles » page.
    coord = sign_in(open_page("rgpd"), "coord")
    assert coord.selectbox(key="gdpr_id").options == []  # nothing offered before a search
    coord.text_input(key="gdpr_q").input("Nulle part (fictive)").run()
    assert coord.selectbox(key="gdpr_id").options == [] and "Aucune fiche ne répond" in coord.info[0].value
    coord.text_input(key="gdpr_q").input("zéphyrine EFFACEMENT").run()  # her name, as a person says it
    assert coord.selectbox(key="gdpr_id").options == [f"{PERSON['nom']} (zeph1)"]
    coord.text_input(key="gdpr_q").input("zeph1").run()  # or her identifier
    coord.selectbox(key="gdpr_id").select("zeph1").run()
    coord.checkbox(key="gdpr_ok").check().run()
    coord.button(key="gdpr_go").click().run()
    assert not coord.exception and coord.success, [e.value for e in coord.error]

    assert sorted(_traces_in(data)) == [], sorted(_traces_in(data))
    assert _her_rows(token) == []  # the member's open map finds her no more
    member.run()  # … nor the page drawn again, from the server's memory
    again = SERVICE._by_owner[member.session_state["_fiche_owner"]][1]
    assert _her_rows(again) == []
    assert SERVICE.search(again, "Rouen")["rows"], "the others are still found"
    assert not (store.load().table["id"] == "zeph1").any()


def test_an_erasure_by_the_command_line_ends_the_tokens_of_a_running_server(tmp_path, monkeypatch, referential):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from reseaux.app_data import load_actors
    from reseaux.serveur.web import FICHES_PATH, routes

    data = tmp_path / "data"
    store = _demo_with_her(data)
    env = {"RESEAUX_ACTORS": str(store.path), "RESEAUX_GEOCACHE": str(data / ".cache" / "geocodage.sqlite")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # This process plays the server: a member's page registered the directory it read, with her,
    # and the version of the file it read (as ui.loading.fiche_store does).
    token = SERVICE.register(
        "member's page",
        load_actors(store.path, referential).directory.actors,
        referential,
        ttl_s=600,
        source=(str(store.path), store.path.stat().st_mtime),
    )
    client = TestClient(Starlette(routes=routes()), base_url="http://reseaux.test")
    url = f"{FICHES_PATH}/{token}/recherche"
    assert client.get(url, params={"q": "Zéphyrine"}).json()["rows"]

    erased = subprocess.run(
        [sys.executable, "-m", "reseaux", "effacer", "zeph1", "--par", "Coordination"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert erased.returncode == 0, erased.stderr
    assert "supprimée définitivement" in erased.stdout

    assert sorted(_traces_in(data)) == []
    answer = client.get(url, params={"q": "Zéphyrine"})
    assert answer.status_code == 404 and "Page expirée" in answer.text
    again = subprocess.run(
        [sys.executable, "-m", "reseaux", "effacer", "zeph1"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 1 and "Aucune fiche « zeph1 »" in again.stderr


def test_her_addresses_leave_the_geocoding_cache_unless_another_fiche_has_one(tmp_path):
    from reseaux.annuaire.privacy import purge_actor

    store = DirectoryStore(tmp_path / "actors.csv")
    store.path.write_bytes((ROOT / "tests" / "data" / "actors_small.csv").read_bytes())
    base = store.load()
    table = base.table.copy()
    her = table.index[table["id"] == "t1"][0]
    former = table.loc[her].to_dict()  # her address before she moved, told by the journal only
    table.loc[her, ["adresse", "code_postal", "commune"]] = ["2 rue Fictive", "76120", "Le Grand-Quevilly"]
    base = store.save(table, base, "coord")  # she moved to the address of t2
    for backup in store.list_backups():
        backup.unlink()  # the journal alone remembers the former address
    cache = GeoCache(tmp_path / "geocodage.sqlite")
    shared = address_key(table.loc[her].to_dict())
    cache.put_many(
        [
            (address_key(former), Match(49.443, 1.099, 0.9, "housenumber", "1 Rue Fictive")),
            (shared, Match(49.41, 1.03, 0.9, "housenumber", "2 Rue Fictive")),
        ]
    )
    cache.close()
    report = purge_actor(store, "t1", "coord", geocache=tmp_path / "geocodage.sqlite")
    assert (report.cache_entries, report.shared_addresses) == (1, 1)
    cache = GeoCache(tmp_path / "geocodage.sqlite")
    assert cache.get(address_key(former)) is GeoCache.MISSING and cache.get(shared) is not GeoCache.MISSING
    cache.close()
    assert "1 adresse gardée" in report.sentence("t1")


def test_a_load_that_read_the_file_before_an_erasure_keeps_no_copy_of_it(tmp_path, monkeypatch, referential):
    from reseaux import app_data

    monkeypatch.setenv("RESEAUX_GEOCACHE", str(tmp_path / ".cache" / "geocodage.sqlite"))
    path = tmp_path / "actors.csv"
    path.write_bytes((ROOT / "tests" / "data" / "actors_small.csv").read_bytes())
    parse = app_data.search_text

    def erased_meanwhile(actors):  # the erasure saves the file while this load parses it
        path.write_text(path.read_text(encoding="utf-8").replace("Camille Exemple", "Camille Autre"), encoding="utf-8")
        return parse(actors)

    monkeypatch.setattr(app_data, "search_text", erased_meanwhile)
    app_data.load_actors(path, referential)
    assert list((tmp_path / ".cache" / "annuaire").glob("*.pickle")) == []
    monkeypatch.setattr(app_data, "search_text", parse)
    app_data.load_actors(path, referential)  # unchanged since read: kept
    assert len(list((tmp_path / ".cache" / "annuaire").glob("*.pickle"))) == 1


def test_an_erasure_cut_short_is_said_and_finished_by_erasing_again(tmp_path, monkeypatch):
    """A geocoding cache that cannot be opened stops the erasure before anything is written (the
    page's « rien n'a été modifié » is then true); a backup that cannot be rewritten once the file
    was saved without her is said « Effacement inachevé », and erasing the same fiche again —
    though she is no longer in the file — finishes it."""
    from reseaux.annuaire import store as store_module
    from reseaux.annuaire.privacy import ErasureIncomplete, purge_actor

    data = tmp_path / "data"
    store = _demo_with_her(data)
    base = store.load()
    store.save(base.table.assign(telephone=base.table["telephone"] + " "), base, "coord")  # a backup holds her
    before = store.path.read_bytes()
    broken = data / ".cache" / "geocodage.sqlite"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(b"ceci n'est pas une base SQLite" * 100)
    with pytest.raises(OSError, match="cache de géocodage") as caught:
        purge_actor(store, "zeph1", "coord", geocache=broken)
    assert not isinstance(caught.value, ErasureIncomplete) and store.path.read_bytes() == before
    broken.unlink()

    real = store_module.write_atomic  # the files' store rewrites a backup without her

    def full_disk(path, data):
        if path.parent == store.backups and path.exists():  # a rewrite; the save's new backup goes in
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(store_module, "write_atomic", full_disk)
    with pytest.raises(ErasureIncomplete, match="Effacement inachevé"):
        purge_actor(store, "zeph1", "coord")
    assert not (store.load().table["id"] == "zeph1").any() and _traces_in(data)  # out of the file, not of the backups
    monkeypatch.setattr(store_module, "write_atomic", real)
    purge_actor(store, "zeph1", "coord")  # finished: nothing of her left
    assert sorted(_traces_in(data)) == []
    with pytest.raises(KeyError):  # and then she is nowhere: a third erasure says so
        purge_actor(store, "zeph1", "coord")


def test_the_erasure_search_folds_a_directory_once_and_forgets_it_with_the_reading(referential, monkeypatch):
    import dataclasses
    import gc

    import streamlit as st

    from reseaux.annuaire import fiche_service
    from reseaux.app_data import Actors, load_actors
    from reseaux.ui import upkeep

    # The run shows the file (bare mode's session state is one for the whole test session).
    monkeypatch.setitem(st.session_state, "_directory_source", (str(ROOT / "data" / "actors.csv"), 0.0))
    read = load_actors(ROOT / "data" / "actors.csv", referential)  # kept by the loader too: a copy of it
    reading = [dataclasses.replace(read.directory)]  # what the session holds
    folded: list[int] = []
    rows_of = fiche_service.fiche_rows
    monkeypatch.setattr(
        fiche_service, "fiche_rows", lambda frame, ref: folded.append(len(frame)) or rows_of(frame, ref)
    )

    # Each search, as the page calls it, is given the reading the session holds, in a new Actors.
    def held() -> Actors:
        return Actors(directory=reading[0], search=read.search)

    planning = upkeep.erasable(referential, held, "planning")
    assert planning and all("Planning" in name for _, name in planning)
    assert upkeep.erasable(referential, held, "antenne planning") and upkeep.erasable(referential, held, "zzz") == []
    assert folded == [len(read.directory.actors)], "every fiche folded once, at the first search"
    key = id(reading[0])
    assert key in upkeep._SEARCHED
    reading.clear()  # the session lets that reading go
    gc.collect()
    assert key not in upkeep._SEARCHED, "the folded text goes with the reading"
