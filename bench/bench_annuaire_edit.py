"""The Annuaire page's clicks at scale: « Valider la fiche » and « Enregistrer », on files and on PostgreSQL.

For each size (100,000 and 1,000,000 synthetic fiches, ``bench/synthetic.py``, fixed seed) and each
backend, a fresh process opens the store as an app process does, loads the directory and takes it
as the page's base and working copy (``ui.annuaire.session``, Streamlit's session state used
without a server), then runs what the page runs, each piece timed alone:

- the first visit (not a click): the working copy's whole validation, its pending changes, the
  stale fiches;
- « Valider la fiche » on one fiche (its telephone changed), :data:`CLICKS` times on fiches spread
  through the directory: the click's run (the fiche's row found, the form's findings, the edited
  copy set with the fiche it touched) and the rerun that follows (the version on disk asked,
  the pending changes, the copy's validation, the stale fiches);
- « Enregistrer » after each: the save of the pending changes (``save_changes``) and the base
  taken, then the rerun (the same four pieces).

A click's figure is the sum of its pieces, the median over the clicks. Not counted: Streamlit's
drawing of the page, and what the page asks of the map's loaders (after a save they read the
new version of the directory: the map's own figures, ``bench_served_map.py``). PostgreSQL is the
Debian server the tests use (``tests/postgres_server.py``: PostgreSQL 15 + PostGIS, default
settings, on loopback), filled by ``python -m reseaux migrer``'s function.

Run by ``make bench``, or alone: ``python bench/bench_annuaire_edit.py [--tailles 100000 1000000]``.
The figures as measured are also kept in ``bench/out-annuaire-edit.json``.
"""

from __future__ import annotations

import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.machine import describe
from bench.per_size import bench_main, french, peak_mb, size_text

SIZES = (100_000, 1_000_000)
CLICKS = 3
TITLE = "## Annuaire : valider une fiche et enregistrer, à 100 000 et 1 000 000 acteurs"
#: The rerun's pieces, in the page's order.
RERUN = ("version", "pending", "checked", "stale")


def timed(times: dict, name: str, work):
    start = time.perf_counter()
    value = work()
    times[name] = time.perf_counter() - start
    return value


def measure(kind: str, where: str) -> dict:
    """In a fresh process: load, first visit, then :data:`CLICKS` edits each followed by a save."""
    for name in ("streamlit", "streamlit.runtime.scriptrunner_utils.script_run_context"):
        logging.getLogger(name).setLevel(logging.ERROR)  # session state without a server: said at every use
    from reseaux import config
    from reseaux.annuaire.changes import stale_positions
    from reseaux.annuaire.referential import load_referential
    from reseaux.annuaire.store import save_changes
    from reseaux.ui.annuaire import session
    from reseaux.ui.annuaire.fiches import _form_findings, edited, fiche_rows
    from reseaux.ui.annuaire.session import TABLE_ROWS

    if kind == "fichiers":
        from reseaux.annuaire.store import DirectoryStore

        store = DirectoryStore(Path(where))
    else:
        from reseaux.stockage.postgres import PostgresDirectoryStore

        store = PostgresDirectoryStore(where)
        store.current_version()
    ref = load_referential(config.path("referential"))
    start = time.perf_counter()
    base = store.load()
    loaded = time.perf_counter() - start
    session.set_base(base)

    def rerun(times: dict) -> None:
        base, work = session.st.session_state["ann_base"], session.st.session_state["ann_work"]
        timed(times, "version", store.current_version)
        timed(times, "pending", lambda: session.pending(base, work))
        timed(times, "checked", lambda: session.checked(ref, work))
        timed(times, "stale", lambda: work.iloc[stale_positions(work)[:TABLE_ROWS]])  # as « À mettre à jour »

    first: dict = {}
    rerun(first)
    edits, saves = [], []
    for n in range(CLICKS):
        work = session.st.session_state["ann_work"]
        actor = str(work.iat[(n * 104_729 + 4_321) % len(work), work.columns.get_loc("id")])
        times: dict = {}
        rows = timed(times, "row", lambda: work.index[fiche_rows(work, actor)])  # noqa: B023 — run at once, in this loop turn
        current = work.loc[rows[0]].to_dict()
        values = {"telephone": f"02 61 96 {n:02d} 00"}
        record, _found = timed(times, "findings", lambda: _form_findings(ref, work, current, values, False))  # noqa: B023 — run at once, in this loop turn
        timed(times, "edit", lambda: session.set_work(edited(work, rows, record, False), {actor}))  # noqa: B023 — run at once, in this loop turn
        rerun(times)
        changes = session.pending(session.st.session_state["ann_base"], session.st.session_state["ann_work"])
        assert len(changes) == 1, [c.describe() for c in changes]
        edits.append(times)
        times = {}
        base, work = session.st.session_state["ann_base"], session.st.session_state["ann_work"]
        saved = timed(times, "save", lambda: save_changes(store, base, work, changes, "banc"))  # noqa: B023 — run at once, in this loop turn
        timed(times, "base", lambda: session.set_base(saved, {c.id for c in changes}))  # noqa: B023 — run at once, in this loop turn
        rerun(times)
        assert session.pending(saved, session.st.session_state["ann_work"]) == []
        saves.append(times)
    return {
        "load": loaded,
        "first": first,
        "edits": edits,
        "saves": saves,
        "edit": statistics.median(sum(t.values()) for t in edits),
        "save": statistics.median(sum(t.values()) for t in saves),
        "memory": peak_mb(),
    }


def _pieces(clicks: list[dict]) -> str:
    return ", ".join(f"{name} {french(statistics.median(c[name] for c in clicks), 3)}" for name in clicks[0])


def section(rows: list[dict], when: str, minutes: float, load: float) -> list[str]:
    lines = [
        TITLE,
        "",
        f"{when} — machine : {describe()} ; charge moyenne au départ : {load:.2f} ; durée : {minutes:.1f} min.",
        "",
        "Annuaires synthétiques (`bench/synthetic.py`, graine fixe). Chaque mesure dans un processus neuf "
        "qui lit l'annuaire et en fait la base et la copie de travail de la page (`ui/annuaire/session.py`, "
        f"l'état de session de Streamlit sans serveur), puis {CLICKS} fois : « Valider la fiche » (un "
        "téléphone changé ; la ligne de la fiche, ses contrôles, la copie modifiée, puis la réexécution : "
        "version sur le disque ou dans la base, modifications en attente, validation de la copie, fiches "
        "à mettre à jour) et « Enregistrer » (`save_changes`, la nouvelle base, la même réexécution). "
        "Secondes de travail du serveur par clic, médiane ; ni le dessin de la page par Streamlit, ni la "
        "relecture de l'annuaire par les chargeurs de la carte après un enregistrement ne sont comptés. "
        "PostgreSQL 15 + PostGIS de Debian, réglages par défaut, sur la même machine, rempli par la "
        "migration. Objectif : chaque clic ≤ 1 s.",
        "",
        "| Acteurs | Stockage | Lecture | Première visite : validation entière | « Valider la fiche » "
        "| « Enregistrer » | Mémoire max. du processus |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for label, got in (("fichiers", row["files"]), ("PostgreSQL", row["pg"])):
            lines.append(
                f"| {size_text(row['size'])} | {label} | {french(got['load'], 1)} s | "
                f"{french(got['first']['checked'], 1)} s | {french(got['edit'])} s | {french(got['save'])} s | "
                f"{french(got['memory'] / 1024)} Gio |"
            )
    lines += ["", "Par morceau (médianes, s) :", ""]
    for row in rows:
        for label, got in (("fichiers", row["files"]), ("PostgreSQL", row["pg"])):
            lines.append(
                f"- {size_text(row['size'])}, {label} — « Valider la fiche » : {_pieces(got['edits'])} ; "
                f"« Enregistrer » : {_pieces(got['saves'])}."
            )
    for row in rows:
        for label, got in (("PostgreSQL", row["pg"]), ("fichiers", row["files"])):
            verdict = [
                f"{name} ≤ 1 s {'tenu' if got[key] <= 1 else '**manqué**'} ({french(got[key])} s)"
                for name, key in (("« Valider la fiche »", "edit"), ("« Enregistrer »", "save"))
            ]
            lines.append(f"\nÀ {size_text(row['size'])} acteurs, {label} : {', '.join(verdict)}.")
    return lines


def main() -> None:
    bench_main(__file__, __doc__, SIZES, measure, section, TITLE, "annuaire", "out-annuaire-edit.json")


if __name__ == "__main__":
    main()
