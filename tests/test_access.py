"""Who sees what: the rule, applied to the map, its HTML and the exports; accounts and sign-in."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from streamlit.testing.v1 import AppTest

from reseaux.acces.access import can, visible_actors
from reseaux.acces.accounts import MAX_FAILURES, REFUSED, AccountError, AccountStore
from reseaux.annuaire.exports import to_csv_bytes, to_xlsx_bytes
from reseaux.app_data import load_actors, load_territory
from reseaux.carte.mapview import MapView, build_map
from tests.conftest import PASSWORD, ROOT, sign_in


@pytest.fixture(scope="module")
def demo(referential):
    return load_actors(ROOT / "data" / "actors.csv", referential).directory.actors


def private_people(actors):
    return actors[(actors["type"] == "professionnel") & (actors["visibilite"] == "membres")]


def test_the_rule_for_each_role(demo):
    private = private_people(demo)
    assert len(private) > 0
    visitor = visible_actors(demo, "visiteur", "public")
    assert set(visitor["type"]) <= {"structure", "aller_vers", "distribution", "professionnel"}
    assert not set(private["id"]) & set(visitor["id"])
    assert (visitor[visitor["type"] == "professionnel"]["visibilite"] == "public").all()
    assert len(visible_actors(demo, "visiteur", "rien")) == 0
    for role in ("membre", "coordinateur", "administrateur"):
        assert len(visible_actors(demo, role, "rien")) == len(demo)
    assert not can("membre", "modifier") and can("coordinateur", "modifier")
    assert not can("coordinateur", "gerer_comptes") and can("administrateur", "gerer_comptes")


def test_a_visitor_never_receives_a_private_phone_number(demo, referential):
    territory = load_territory()
    visitor = visible_actors(demo, "visiteur", "public")
    phones = set(private_people(demo)["telephone"]) - set(visitor["telephone"])
    names = set(private_people(demo)["nom"]) - set(visitor["nom"])
    fmap = build_map(
        visitor, territory.layers, territory.specs, MapView(layers=("qpv",)), referential, territory.home_bounds
    )
    import base64
    import gzip
    import re

    page = fmap.get_root().render()
    blob = re.search(r'rx\.blobFiches\("([^"]+)"', page).group(1)
    everything = page + gzip.decompress(base64.b64decode(blob)).decode("utf-8")
    assert phones and not any(phone in everything for phone in phones)
    assert not any(name in everything for name in names)
    csv_text = to_csv_bytes(visitor).decode("utf-8-sig")
    assert not any(phone in csv_text for phone in phones)
    from io import BytesIO

    from openpyxl import load_workbook

    sheet = load_workbook(BytesIO(to_xlsx_bytes(visitor))).active
    cells = {str(c.value) for row in sheet.iter_rows() for c in row}
    assert not phones & cells


def test_passwords_are_hashed_and_checked(tmp_path):
    store = AccountStore(tmp_path / "comptes.json")
    store.add("alice", PASSWORD, "coordinateur", "alice@example.org")
    text = (tmp_path / "comptes.json").read_text(encoding="utf-8")
    assert PASSWORD not in text and "$argon2id$" in text
    assert oct((tmp_path / "comptes.json").stat().st_mode)[-3:] == "600"
    assert store.authenticate("Alice", PASSWORD).role == "coordinateur"
    with pytest.raises(AccountError, match="incorrect"):
        store.authenticate("alice", "mauvais mot de passe", delay=False)
    with pytest.raises(AccountError, match="incorrect"):
        store.authenticate("personne", PASSWORD, delay=False)  # same message: no hint that the name exists
    with pytest.raises(AccountError, match="trop court"):
        store.add("bob", "court", "membre")
    assert store.role_for_email("ALICE@example.org") == "coordinateur"


def test_lock_out_after_repeated_failures_then_time_unlocks(tmp_path):
    store = AccountStore(tmp_path / "comptes.json")
    store.add("alice", PASSWORD, "membre")
    now = 1_000_000.0
    for _ in range(MAX_FAILURES):
        with pytest.raises(AccountError, match="incorrect"):
            store.authenticate("alice", "faux", now=now, delay=False)
    with pytest.raises(AccountError) as locked:
        store.authenticate("alice", PASSWORD, now=now + 60, delay=False)  # even the right password
    with pytest.raises(AccountError) as unknown:
        store.authenticate("personne", PASSWORD, now=now + 60, delay=False)
    assert str(locked.value) == str(unknown.value) == REFUSED  # a locked account does not say it exists
    assert store.is_locked("alice", now=now + 60)
    assert store.authenticate("alice", PASSWORD, now=now + 16 * 60).name == "alice"


def test_cli_manages_accounts(tmp_path):
    env = {"RESEAUX_ACCOUNTS": str(tmp_path / "comptes.json"), "PATH": "/usr/bin:/bin"}
    add = subprocess.run(
        [sys.executable, "-m", "reseaux", "comptes", "ajouter", "coord", "--role", "coordinateur", "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert add.returncode == 0, add.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "reseaux", "comptes", "liste"], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert listed.stdout.startswith("coord\tcoordinateur")
    bad = subprocess.run(
        [sys.executable, "-m", "reseaux", "comptes", "role", "coord", "--role", "roi"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert bad.returncode == 1 and "Rôle inconnu" in bad.stderr and "Traceback" not in bad.stderr


def app_test():
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()


def test_pages_offered_by_role(monkeypatch, accounts_file):
    at = app_test()
    assert not at.exception
    # A visitor following a link to the Annuaire: a French refusal, no directory, no English error.
    at.switch_page("views/annuaire.py").run()
    assert not at.exception and not at.title
    assert any("réservée à la coordination" in w.value for w in at.warning)
    at = sign_in(app_test(), "coord")
    at.switch_page("views/annuaire.py").run()
    assert not at.exception and "Annuaire du réseau" in [t.value for t in at.title]


def test_members_only_setting_shows_the_sign_in_page(monkeypatch, accounts_file):
    monkeypatch.setenv("RESEAUX_VISITORS", "rien")
    at = app_test()
    assert at.title[0].value == "Carte du réseau — accès réservé"
    sign_in(at, "membre")
    assert any("acteurs sur 185" in m.value for m in at.markdown)


def test_session_timeout(monkeypatch, accounts_file):
    at = sign_in(app_test(), "membre")
    assert any("acteurs sur 185" in m.value for m in at.markdown)
    at.session_state["auth_seen"] = time.time() - 31 * 60  # 31 minutes without activity
    at.run()
    assert not any("acteurs sur 185" in m.value for m in at.markdown)
    assert any("Session expirée" in w.value for w in at.sidebar.warning)


def test_wrong_password_is_said_in_french(monkeypatch, accounts_file):
    at = sign_in(app_test(), "membre", "pas le bon")
    assert any("Identifiant ou mot de passe incorrect" in e.value for e in at.sidebar.error)


def test_a_visitor_view_keeps_fiches_and_map_rows_aligned(referential):
    from reseaux.annuaire.fiche_service import FicheService
    from reseaux.app_data import visible_view
    from reseaux.carte.actor_layer import actor_payload, decode_payload

    full = load_actors(ROOT / "data" / "actors.csv", referential)
    view = visible_view(full, "visiteur", "public")
    actors = view.directory.actors
    service = FicheService()
    token = service.register("a session", actors, referential, ttl_s=60)
    payload = decode_payload(actor_payload(actors, referential, "type", rows=actors.index.tolist()))
    fiches = service.fiches(token, [row for *_, row in payload])["fiches"]
    for fiche, name in zip(fiches, actors["nom"], strict=True):
        assert fiche[0] == name  # the popup of each point is that actor's own fiche
    assert len(view.search) == len(actors) and view.facets.size == len(actors)


def test_an_oidc_email_maps_to_a_role_only_when_verified(monkeypatch):
    from reseaux.ui.auth import oidc_role

    monkeypatch.setenv("RESEAUX_OIDC_ROLE", "membre")
    roles = {"coord@example.org": "coordinateur"}.get
    assert oidc_role({"email": "coord@example.org", "email_verified": True}, roles) == "coordinateur"
    assert oidc_role({"email": "coord@example.org", "email_verified": "true"}, roles) == "coordinateur"
    assert oidc_role({"email": "coord@example.org", "email_verified": False}, roles) == "membre"
    assert oidc_role({"email": "coord@example.org"}, roles) == "membre"  # not said verified: not trusted
    assert oidc_role({"email": "autre@example.org", "email_verified": True}, roles) == "membre"


def test_a_view_of_every_fiche_shares_the_rows_and_cannot_change_them(referential):
    """Nothing reserved: the visitor's view holds the directory's own columns (no copy of a million
    rows per server process), and a change made to the view stays in the view."""
    import numpy as np

    from reseaux.app_data import load_actors, visible_view

    full = load_actors(None, referential)
    full.directory.actors["visibilite"] = "public"  # every fiche public
    view = visible_view(full, "visiteur", "public")
    assert view.reserved == 0 and len(view.directory.actors) == len(full.directory.actors)
    assert np.shares_memory(view.directory.actors["latitude"].to_numpy(), full.directory.actors["latitude"].to_numpy())
    before = full.directory.actors["nom"].tolist()
    view.directory.actors.loc[0, "nom"] = "Changé dans la vue"
    view.search.iloc[0] = "change"
    assert full.directory.actors["nom"].tolist() == before and full.search.iloc[0] != "change"
