"""The audit trail: each event recorded by doing the action as a person does it, read on the
Comptes page by the administration only, and holding no password nor what a fiche says."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from reseaux.annuaire.store import DirectoryStore
from tests.conftest import PASSWORD, ROOT, open_page, sign_in

WRONG = "pas-le-bon-mot-de-passe"


def lines(path: Path) -> list[dict]:
    return [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines()]


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reseaux", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        input=stdin,
        timeout=300,
    )


def test_each_action_is_in_the_audit_trail_without_a_password_or_a_fiche(
    tmp_path, accounts_file, audit_file, monkeypatch
):
    created = lines(audit_file)  # the fixture's three accounts
    assert [(e["evenement"], e["action"], e["compte"], e["role"]) for e in created] == [
        ("compte", "création", "membre", "membre"),
        ("compte", "création", "coord", "coordinateur"),
        ("compte", "création", "admin", "administrateur"),
    ]
    # Sign-ins through the sidebar form: a wrong password, a password typed as the name, the right one.
    at = sign_in(open_page("comptes"), "coord", WRONG)
    sign_in(at, WRONG, WRONG)
    sign_in(at, "coord")
    signed = lines(audit_file)[len(created) :]
    assert [(e["evenement"], e["qui"], e["depuis"]) for e in signed] == [
        ("connexion refusée", "coord", "inconnu"),  # AppTest has no client address: clients.UNKNOWN
        ("connexion refusée", "(identifiant inconnu)", "inconnu"),
        ("connexion", "coord", "inconnu"),
    ]

    # A save through the store, an erasure and an account change by the command line.
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(ROOT / "data" / "actors.csv", data / "actors.csv")
    from reseaux.acces import audit

    audit.acting("coord", "192.0.2.5")  # as the page run of a person at that address says
    store = DirectoryStore(data / "actors.csv")
    base = store.load()
    table = base.table.copy()
    saved = table.loc[1].to_dict()
    table.loc[1, "horaires"] = "lundi 9 h – 12 h"
    store.save(table, base, "coord")
    erased = base.table.loc[0].to_dict()
    env = {"RESEAUX_ACTORS": str(data / "actors.csv"), "RESEAUX_GEOCACHE": str(tmp_path / "cache" / "geo.sqlite")}
    done = run(env, "effacer", erased["id"], "--par", "coord")
    assert done.returncode == 0, done.stderr
    done = run({}, "comptes", "role", "membre", "--role", "coordinateur")
    assert done.returncode == 0, done.stderr
    done = run({}, "comptes", "motdepasse", "membre", "--password-stdin", stdin=PASSWORD + "-neuf\n")
    assert done.returncode == 0, done.stderr

    # An export, as the pages offer it (widgets.download), built when the person clicks.
    from reseaux.ui.widgets import download

    class Column:
        def download_button(self, label, data, file_name, mime, **options):
            self.clicked = data

    audit.acting("coord", "192.0.2.7")
    column = Column()
    download(column, "CSV", lambda: b"id\n", "annuaire.csv", "text/csv", "x")
    assert column.clicked() == b"id\n"

    events = lines(audit_file)[len(created) + len(signed) :]
    me = f"ligne de commande ({getpass.getuser()})"
    assert [(e["evenement"], e["qui"], e["depuis"]) for e in events] == [
        ("enregistrement", "coord", "192.0.2.5"),
        ("enregistrement", "coord", "local"),
        ("effacement", "coord", "local"),
        ("compte", me, "local"),
        ("compte", me, "local"),
        ("export", "coord", "192.0.2.7"),
    ]
    assert events[0]["fiches"] == 1 and events[2]["fiche"] == erased["id"]
    assert (events[3]["action"], events[3]["compte"], events[3]["role"]) == ("rôle changé", "membre", "coordinateur")
    assert (events[4]["action"], events[4]["compte"]) == ("mot de passe changé", "membre")
    assert events[5]["fichier"] == "annuaire.csv"
    assert all(e["quand"].endswith("+00:00") for e in signed + events)

    # Nothing of a password nor of a fiche: searched in the file's bytes.
    text = audit_file.read_text(encoding="utf-8")
    for secret in (PASSWORD, WRONG, PASSWORD + "-neuf"):
        assert secret not in text
    for fiche in (erased, saved):
        for column_name in ("nom", "telephone", "email", "adresse"):
            assert fiche[column_name] and fiche[column_name] not in text, column_name
    assert "lundi 9 h" not in text


def test_the_administration_reads_and_downloads_the_trail_a_member_does_not(accounts_file, audit_file):
    member = sign_in(open_page("comptes"), "membre")
    member.switch_page("views/comptes.py").run()
    assert not member.dataframe and not member.get("download_button")
    assert any("réservée à l'administration" in w.value for w in member.warning)

    admin = sign_in(open_page("comptes"), "admin")
    admin.switch_page("views/comptes.py").run()
    assert not admin.exception
    shown = admin.dataframe[-1].value
    written = lines(audit_file)
    # Newest first: the administrator's own sign-in, after the member's.
    assert list(shown["Événement"][:2]) == ["Connexion", "Connexion"]
    assert list(shown["Qui"][:2]) == ["admin", "membre"] == [written[-1]["qui"], written[-2]["qui"]]
    # When, as people read it (« 4 décembre 2026 à 18 h 01 min 05 s »), not 2026-12-04 18:01:05
    when = datetime.fromisoformat(written[-1]["quand"])
    months = [
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
    assert shown["Quand (UTC)"][0] == (
        f"{'1er' if when.day == 1 else when.day} {months[when.month - 1]} {when.year} "
        f"à {when.hour} h {when.minute:02d} min {when.second:02d} s"
    )
    assert any("Journal d'audit" in s.value for s in admin.subheader)

    # An account changed on the page is the administrator's doing, and shows at the top.
    admin.selectbox(key="acc_who").select("membre").run()
    admin.button(key="acc_unlock").click().run()
    last = lines(audit_file)[-1]
    assert (last["evenement"], last["action"], last["compte"], last["qui"]) == (
        "compte",
        "déverrouillage",
        "membre",
        "admin",
    )
    assert admin.dataframe[-1].value.iloc[0].to_dict() | {"Quand (UTC)": ""} == {
        "Quand (UTC)": "",
        "Événement": "Compte",
        "Qui": "admin",
        "Depuis": "inconnu",
        "Détail": "action : déverrouillage ; compte : membre",
    }


def test_lines_of_several_processes_never_interleave(tmp_path):
    trail = tmp_path / "audit.jsonl"
    writer = (
        "from reseaux.acces import audit\nfor n in range(200): audit.record('export', fichier='f' * (n * 37 % 3000))\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", writer], cwd=ROOT, env={**os.environ, "RESEAUX_AUDIT": str(trail)})
        for _ in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    written = lines(trail)
    assert len(written) == 800
    assert sorted(len(e["fichier"]) for e in written) == sorted(n * 37 % 3000 for n in range(200) for _ in range(4))
