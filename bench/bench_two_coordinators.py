"""Two coordinators on the Annuaire page of one server, at 1,000,000 fiches: what the second costs.

For each size (1,000,000 synthetic fiches, ``bench/synthetic.py``, fixed seed) and each backend, a
fresh process runs the app as a server does (Streamlit's ``AppTest``: the app's own script, two
sessions in one process, no browser), and two coordinators one after the other sign in (the map
page draws), open « Annuaire » and search « rouen ». Measured: the seconds of each page's run and
each search, and the process's resident memory after each coordinator (``VmRSS``, after a garbage
collection and ``malloc_trim``), then its peak (``VmHWM``).

Twice: as the app is (a version read once for the sessions of the process, its check and its
search text computed once: ``ui.annuaire.session.load`` and ``once_per_version``), and, in another
fresh process, with each session reading and computing its own (as before 2026-12-07), so that the
figures say what the sharing saves.

Run by ``make bench``, or alone: ``python bench/bench_two_coordinators.py [--tailles 1000000]``.
The figures as measured are also kept in ``bench/out-two-coordinators.json``.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.per_size import bench_main, by_backend, child, french, heading, peak_mb, size_text

SIZES = (1_000_000,)
TITLE = "## Annuaire : deux coordinateur·rices sur un même serveur, à 1 000 000 acteurs"
APART = "--chacun-sa-copie"


def _resident_gib() -> float:
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/status", encoding="utf-8") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS")) / 1024 / 1024


def coordinators(kind: str, where: str, *, shared: bool) -> dict:
    """In this process: two coordinators, one after the other, open the Annuaire page and search."""
    for name in ("streamlit", "streamlit.runtime.scriptrunner_utils.script_run_context"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from streamlit.testing.v1 import AppTest

    from reseaux.acces.accounts import AccountStore
    from tests.conftest import PASSWORD, sign_in

    folder = Path(tempfile.mkdtemp(prefix="reseaux-deux-"))
    os.environ["RESEAUX_ACTORS" if kind == "fichiers" else "RESEAUX_DATABASE_URL"] = where
    os.environ["RESEAUX_ACCOUNTS"] = str(folder / "comptes.json")  # in the database when it is there
    os.environ["RESEAUX_AUDIT"] = str(folder / "audit.jsonl")
    accounts = AccountStore(folder / "comptes.json")
    if "coord" not in accounts.load():  # the database's: added by the first of the two processes
        accounts.add("coord", PASSWORD, "coordinateur")
    if not shared:  # each session its own reading, check and search text
        from reseaux.ui.annuaire import fiches, session

        session.load = lambda store: store.load()
        session.once_per_version = fiches.once_per_version = lambda kind, work, compute: compute()
    out: dict = {"start": _resident_gib(), "sessions": []}
    held = []
    for _ in range(2):
        at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=1800).run(), "coord")
        start = time.perf_counter()
        at.switch_page("views/annuaire.py").run()
        page = time.perf_counter() - start
        start = time.perf_counter()
        at.text_input(key="ann_search").input("rouen").run()
        search = time.perf_counter() - start
        assert not at.exception, at.exception
        assert at.session_state["ann_kept_search"] is not None
        held.append(at)
        out["sessions"].append({"page": page, "search": search, "resident": _resident_gib()})
    out["peak"] = peak_mb() / 1024
    return out


def measure(kind: str, where: str) -> dict:
    """The app as it is here, then (in a fresh process) each session with its own copy."""
    return {"shared": coordinators(kind, where, shared=True), "apart": child(__file__, APART, kind, where)}


def section(rows: list[dict], when: str, minutes: float, load: float) -> list[str]:
    lines = [
        *heading(
            TITLE,
            when,
            minutes,
            load,
            "Annuaire synthétique (`bench/synthetic.py`, graine fixe). Dans un processus neuf, l'app elle-même "
            "(`AppTest` de Streamlit : le script de l'app, deux sessions dans un processus, sans navigateur) ; "
            "deux coordinateur·rices l'une après l'autre se connectent (la carte se dessine), ouvrent « Annuaire » "
            "et cherchent « rouen ». Mémoire résidente du processus après chacune (`VmRSS`, après un ramasse-miettes "
            "et `malloc_trim`) et son maximum (`VmHWM`) ; secondes de l'exécution de la page et de la recherche. "
            "« Partagée » : l'app telle quelle (une version lue une fois pour les sessions du processus, son contrôle "
            "et son texte de recherche calculés une fois) ; « chacune la sienne » : la même app, chaque session "
            "lisant et calculant la sienne (avant le 7 décembre 2026), dans un autre processus neuf.",
        ),
        "| Acteurs | Stockage | Version | 1re : page, recherche | Mémoire après la 1re | 2e : page, recherche "
        "| Mémoire après la 2e | Maximum |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row, label, got in by_backend(rows):
        for variant, name in (("shared", "partagée"), ("apart", "chacune la sienne")):
            first, second = got[variant]["sessions"]
            lines.append(
                f"| {size_text(row['size'])} | {label} | {name} | {french(first['page'], 1)} s, "
                f"{french(first['search'], 1)} s | {french(first['resident'])} Gio | "
                f"{french(second['page'], 1)} s, {french(second['search'], 1)} s | "
                f"{french(second['resident'])} Gio | {french(got[variant]['peak'])} Gio |"
            )
    for row, label, got in by_backend(rows):
        cost = {v: got[v]["sessions"][1]["resident"] - got[v]["sessions"][0]["resident"] for v in got}
        lines.append(
            f"\nÀ {size_text(row['size'])} acteurs, {label} : la deuxième coordinatrice coûte "
            f"{french(cost['shared'])} Gio (partagée) au lieu de {french(cost['apart'])} Gio ; "
            f"sa page s'ouvre en {french(got['shared']['sessions'][1]['page'], 1)} s au lieu de "
            f"{french(got['apart']['sessions'][1]['page'], 1)} s."
        )
    return lines


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == APART:
        print(json.dumps(coordinators(sys.argv[2], sys.argv[3], shared=False)))
        return
    bench_main(__file__, __doc__, SIZES, measure, section, TITLE, "deux", "out-two-coordinators.json")


if __name__ == "__main__":
    main()
