"""The map beyond what a browser should index: one large synthetic directory drawn both ways, in the
same run as the floor of the stack (bench/bench_browser.py's measures: first marker cold and warm,
bytes received, filter change, server memory).

- **served**: the default, RESEAUX_MAP_SERVER_ABOVE (200,000) below the directory's size: the page
  carries no position, the map asks the server for what is in view;
- **browser index**: RESEAUX_MAP_SERVER_ABOVE above it: the page carries every position, indexed in
  the browser (supercluster), as every map did before;
- **served, on PostgreSQL** (``--postgresql``): served as the first, the directory read from a local
  PostgreSQL with PostGIS that the bench starts (``tests/postgres_server.py``), filled by
  ``python -m reseaux migrer``'s function, ``RESEAUX_DATABASE_URL`` in the app's environment.

Then, on each storage, **the map after a save**: a server that has drawn the map, one fiche saved
through the store by another process (as the Annuaire page of another server saves), and the next
visit timed to its first marker (the server reads the new version: ``validate_rows(previous=…)``),
with the server's memory: its peak during that visit (``VmHWM`` set back before it,
``/proc/PID/clear_refs``) and what it holds after.

Then, on each storage, **the map and the Annuaire page in one server**: a server that has drawn the
map twice, then a coordinator in Chromium who signs in, opens the Annuaire, finds a fiche by its
identifier and opens it, changes its telephone, validates and saves: each step timed, and the
server's highest memory over the whole (``VmHWM``): what « server memory per process » means for a
server the whole network uses, the map and its upkeep.

Run by ``make bench`` (``--sans-navigateur --postgresql``: the 1,000,000-actor figures the storage
issue asks for, on files and on PostgreSQL; about 20 min on 2 cores), or alone:
``python bench/bench_served_map.py [--taille 1000000] [--passages 3] [--sans-navigateur] [--postgresql]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.bench_browser import (
    ACTORS,
    RUNS,
    Target,
    failure,
    measure,
    measure_floor,
    peak_memory_gb,
    ratio,
    section,
    status_gb,
    visit,
)
from bench.synthetic import synthetic_table
from reseaux.annuaire.store import encode_table


def served_section(
    n: int, runs: int = RUNS, *, compare: bool = True, postgresql: bool = False, files: bool = True
) -> list[str]:
    """The floor, then (``files``) ``n`` synthetic actors served, then (``compare``) the same drawn
    from the browser's index, then (``postgresql``) the same served, read from PostgreSQL."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    began, when = time.perf_counter(), datetime.now().strftime("%Y-%m-%d %H:%M")
    load = os.getloadavg()[0]
    rows, notes, saved, both = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        folder = Path(tmp)
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        rows.append(measure_floor(browser, runs))
        started = time.perf_counter()
        path = folder / f"actors_{n}.csv"
        path.write_bytes(encode_table(synthetic_table(n)))
        notes.append(
            f"{n:_} acteurs synthétiques : fichier de {path.stat().st_size / 1e6:.0f} Mo écrit en "
            f"{time.perf_counter() - started:.0f} s".replace("_", " ")
        )
        count = f"{n:_}".replace("_", " ")
        ways = [
            (f"Réseaux, {count} acteurs, demandés au serveur (seuil 200 000)", "200000"),
            (f"Réseaux, {count} acteurs, index du navigateur (seuil {n + 1:_})".replace("_", " "), str(n + 1)),
        ]
        for label, above in (ways if compare else ways[:1]) if files else []:
            cache = folder / f"cache_{above}"
            env = {
                "RESEAUX_ACTORS": str(path),
                "RESEAUX_GEOCACHE": str(cache / "geocodage.sqlite"),
                "RESEAUX_MAP_SERVER_ABOVE": above,
            }
            row = measure(browser, label, env, None, ACTORS, runs=runs, with_filter=True, cache=cache)
            rows.append(row)
            notes.append(f"{label} : mesures en {row.seconds:.0f} s")
            if above == "200000":
                saved.append(after_save(browser, "fichiers", env))
                both.append(with_annuaire(browser, "fichiers", env, folder, n))
            shutil.rmtree(cache, ignore_errors=True)
        if postgresql:
            rows.append(_on_postgresql(browser, path, count, folder, runs, notes, saved, both, n))
        browser.close()
    lines = section(
        rows, [], [], [], runs=runs, when=when, load=load, notes=[], minutes=(time.perf_counter() - began) / 60
    )
    lines = lines[: next(i for i, line in enumerate(lines) if line.startswith("Changement de scène"))]
    lines[0] = f"## La carte à {n:_} acteurs : demandée au serveur ou indexée par le navigateur".replace("_", " ")
    names = ["Serveur, fichiers" if postgresql else "Serveur", *(["Navigateur"] if compare else [])] if files else []
    drawn = list(zip([*names, "Serveur, PostgreSQL"], rows[1:], strict=False))
    targets = [
        Target(f"{label}, premier marqueur chaud", "≤ × 2", ratio(row.median("warm"), rows[0].median("warm")), 2, "×")
        for label, row in drawn
    ] + [Target(f"{label}, changement de filtre", "≤ 1 s", row.median("filters"), 1, "s") for label, row in drawn]
    targets += [
        Target(f"{label}, mémoire du serveur (pic)", "≤ 1 Gio", row.memory, 1, "Gio")
        for label, row in drawn
        if row.memory is not None
    ]
    lines += ["| Objectif | Visé | Mesuré | |", "|---|---|---|---|"]
    lines += [f"| {t.what} | {t.wanted} | {t.measured()} | {t.verdict()} |" for t in targets]
    failed = [row for row in rows if row.error]
    if failed:
        lines += ["", *[f"Incident — {row.label} : {row.error}." for row in failed]]
    lines += ["", *saved_section(saved, rows[0].median("warm"))]
    lines += ["", *annuaire_section(both)]
    return [*lines, "", "Notes : " + " ; ".join(notes) + "."]


@dataclass
class AfterSave:
    storage: str
    before: float | None = None  # first marker, warm, the version the server had read
    after: float | None = None  # first marker of the next visit after the save
    again: float | None = None  # the visit after that
    saving: float | None = None  # the save, in its own process (reading the store included)
    held_before: float | None = None  # GB: what the server holds before the save
    peak: float | None = None  # GB: the server's peak during the visit after the save
    held: float | None = None  # GB: what the server holds after it
    error: str = ""


def after_save(browser, storage: str, env: dict[str, str]) -> AfterSave:
    """A served map drawn, one fiche saved by another process, then the next visit timed, with
    the server's memory during it and after it. On files, the server reads the new version (its
    parse cache gains it); on PostgreSQL, the index of the new version (the directory not read)."""
    from tests.conftest import ServedApp, clone_path

    got = AfterSave(storage)
    kept = Path(env["RESEAUX_GEOCACHE"]).parent / "annuaire"  # app_data.parse_cache_folder()
    try:
        with ServedApp(env) as app:
            visit(browser, app.url, ACTORS)  # the server reads the version (from its parse cache)
            got.before = visit(browser, app.url, ACTORS)[0]
            got.held_before = resident_gb(app.process.pid)
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", "from bench.bench_served_map import save_one; save_one()"],
                cwd=ROOT,
                env={**os.environ, **env, "PYTHONPATH": clone_path()},
                check=True,
            )
            got.saving = time.perf_counter() - started
            _peak_from_now(app.process.pid)
            readings = set(kept.glob("*.pickle"))
            got.after = visit(browser, app.url, ACTORS)[0]
            got.peak = peak_memory_gb(app.process)
            grew = set(kept.glob("*.pickle")) - readings  # the server keeps each version it reads there
            if storage == "fichiers" and not grew:
                raise RuntimeError("le serveur n'a pas lu la nouvelle version (pas de lecture ajoutée au cache)")
            if storage == "PostgreSQL" and grew:  # the map asks the index of the new version, not the directory
                raise RuntimeError("le serveur a relu l'annuaire au lieu de l'index de la base")
            got.again = visit(browser, app.url, ACTORS)[0]
            got.held = resident_gb(app.process.pid)
        print(f"  après un enregistrement ({storage}) : {got}", flush=True)
    except Exception as exc:  # noqa: BLE001 — reported in the section, the other figures kept
        got.error = failure(exc)
        traceback.print_exc()
    return got


@dataclass
class WithAnnuaire:
    storage: str
    map_held: float | None = None  # GiB: the server after the map drawn twice
    opened: float | None = None  # s: signed in, from the menu to the Annuaire drawn
    found: float | None = None  # s: a fiche searched by its identifier and opened
    validated: float | None = None  # s: « Valider la fiche »
    saved: float | None = None  # s: « Enregistrer »
    held: float | None = None  # GiB: the server at the end
    peak: float | None = None  # GiB: the server's highest over the whole (VmHWM)
    error: str = ""


def with_annuaire(browser, storage: str, env: dict[str, str], folder: Path, n: int) -> WithAnnuaire:
    """A server that drew the map, then a coordinator's Annuaire journey in Chromium on it: the
    steps timed, the server's memory at its highest over the whole (the map's and the page's)."""
    from reseaux.acces.accounts import AccountStore
    from tests.browser import open_nav_page, settle, sign_in
    from tests.conftest import PASSWORD, ServedApp
    from tests.test_journey_coordinator import open_fiche

    got = WithAnnuaire(storage)
    accounts = folder / f"comptes_{storage}.json"
    before = os.environ.get("RESEAUX_DATABASE_URL")
    os.environ.pop("RESEAUX_DATABASE_URL", None)
    if "RESEAUX_DATABASE_URL" in env:  # the accounts are then a document of the database
        os.environ["RESEAUX_DATABASE_URL"] = env["RESEAUX_DATABASE_URL"]
    try:
        AccountStore(accounts).add("coord", PASSWORD, "coordinateur")
    finally:
        os.environ.pop("RESEAUX_DATABASE_URL", None)
        if before is not None:
            os.environ["RESEAUX_DATABASE_URL"] = before
    actor = f"syn-{104_729 % n:06d}"  # bench/synthetic.py's ids
    try:
        with ServedApp({**env, "RESEAUX_ACCOUNTS": str(accounts)}) as app:
            pid = app.process.pid
            visit(browser, app.url, ACTORS)
            visit(browser, app.url, ACTORS)
            got.map_held = resident_gb(pid)
            page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="fr-FR")
            page.set_default_timeout(900_000)
            page.goto(app.url + "/sources")
            settle(page, page.get_by_role("heading"), timeout=900_000)
            sign_in(page, "coord")
            started = time.perf_counter()
            open_nav_page(page, "Annuaire")
            settle(page, page.get_by_label("Rechercher une fiche"), timeout=900_000)
            got.opened = time.perf_counter() - started
            started = time.perf_counter()
            open_fiche(page, actor)
            settle(page, page.get_by_role("button", name="Valider la fiche"), timeout=900_000)
            got.found = time.perf_counter() - started
            field = page.get_by_label("Téléphone", exact=True)
            field.fill("02 61 97 00 02" if field.input_value() != "02 61 97 00 02" else "02 61 97 00 03")
            started = time.perf_counter()
            page.get_by_role("button", name="Valider la fiche").click()
            settle(page, page.get_by_text("1 modification en attente"), timeout=900_000)
            got.validated = time.perf_counter() - started
            started = time.perf_counter()
            page.get_by_role("button", name="Enregistrer", exact=True).click()
            settle(page, page.get_by_text("Aucune modification en attente"), timeout=900_000)
            got.saved = time.perf_counter() - started
            got.held = resident_gb(pid)
            got.peak = status_gb(pid, "VmHWM")
            page.close()
        print(f"  la carte et la page Annuaire ({storage}) : {got}", flush=True)
    except Exception as exc:  # noqa: BLE001 — reported in the section, the other figures kept
        got.error = failure(exc)
        traceback.print_exc()
    return got


def annuaire_section(both: list[WithAnnuaire]) -> list[str]:
    """The table of the map and the Annuaire page in one server, one line per storage."""
    if not both:
        return []
    seconds = partial(_number, unit="s", digits=1)
    gb = partial(_number, unit="Gio", digits=2)
    lines = [
        "### La carte et la page Annuaire dans un même serveur",
        "",
        "Un serveur qui a dessiné la carte deux fois ; puis une coordinatrice, dans Chromium, se connecte, "
        "ouvre l'Annuaire par le menu, cherche une fiche par son identifiant et l'ouvre, change son "
        "téléphone, « Valider la fiche », « Enregistrer ». Mémoire : ce que le serveur tient après la "
        "carte, à la fin, et son plus haut sur le tout (`VmHWM`) ; objectif : ≤ 1 Gio par processus.",
        "",
        "| Stockage | Carte : mémoire tenue | Annuaire ouvert | Fiche trouvée et ouverte | Validée | Enregistrée "
        "| Mémoire à la fin | Mémoire max. du processus | ≤ 1 Gio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for got in both:
        verdict = "—" if got.peak is None else ("atteint" if got.peak <= 1 else "**manqué**")
        lines.append(
            f"| {got.storage} | {gb(got.map_held)} | {seconds(got.opened)} | {seconds(got.found)} | "
            f"{seconds(got.validated)} | {seconds(got.saved)} | {gb(got.held)} | **{gb(got.peak)}** | {verdict} |"
        )
    lines += [f"Incident — la carte et la page Annuaire ({got.storage}) : {got.error}." for got in both if got.error]
    return lines


def save_one() -> None:
    """One fiche's telephone changed and saved through the store the environment names (the
    directory file, or ``RESEAUX_DATABASE_URL``), as the Annuaire page saves it."""
    from reseaux.annuaire.changes import diff_among
    from reseaux.annuaire.store import save_changes
    from reseaux.stockage import directory_store

    store = directory_store()
    base = store.load()
    table = base.table.copy()
    row = 104_729 % len(table)
    phone = "02 61 97 00 00" if table.at[row, "telephone"] != "02 61 97 00 00" else "02 61 97 00 01"
    table.loc[row, "telephone"] = phone  # not the one it has (the files' save came first)
    save_changes(store, base, table, diff_among(base.table, table, {str(table.at[row, "id"])}), "banc")
    if store.current_version() == base.version:
        raise RuntimeError("l'enregistrement n'a pas fait de nouvelle version")


def _peak_from_now(pid: int) -> None:
    """Set a process's memory high-water mark back to what it holds now (Linux)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        pass


def _number(value: float | None, *, unit: str, digits: int) -> str:
    """A figure of the results as French writes it (« 0,37 Gio »); « — » when not measured."""
    return "—" if value is None else f"{value:.{digits}f} {unit}".replace(".", ",")


def resident_gb(pid: int) -> float | None:
    """What a process holds now (``VmRSS``), in GB."""
    return status_gb(pid, "VmRSS")


def saved_section(saved: list[AfterSave], floor: float | None) -> list[str]:
    """The table of the map after a save, one line per storage."""
    if not saved:
        return []
    seconds = partial(_number, unit="s", digits=2)
    gb = partial(_number, unit="Gio", digits=2)
    lines = [
        "### Après un enregistrement",
        "",
        "Un serveur qui a dessiné la carte ; une fiche enregistrée par un autre processus (le magasin, "
        "comme la page Annuaire d'un autre serveur) ; la visite suivante jusqu'à son premier marqueur "
        "(le serveur lit la nouvelle version en reprenant les lignes inchangées), puis la suivante. "
        "Mémoire : ce que le serveur tient avant l'enregistrement, son plus haut pendant la visite "
        "d'après (remis à zéro juste avant), et ce qu'il tient après.",
        "",
        "| Stockage | Premier marqueur avant | Enregistrement (autre processus) | Premier marqueur après "
        "| Rapport au plancher | Visite suivante | Mémoire avant | Mémoire max. pendant | Mémoire après |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for got in saved:
        lines.append(
            f"| {got.storage} | {seconds(got.before)} | {seconds(got.saving)} | **{seconds(got.after)}** | "
            + (f"× {got.after / floor:.1f}".replace(".", ",") if got.after and floor else "—")
            + f" | {seconds(got.again)} | {gb(got.held_before)} | {gb(got.peak)} | {gb(got.held)} |"
        )
    lines += [f"Incident — après un enregistrement ({got.storage}) : {got.error}." for got in saved if got.error]
    return lines


def _on_postgresql(
    browser, path: Path, count: str, folder: Path, runs: int, notes: list[str], saved: list, both: list, n: int
):
    """The directory at ``path`` moved into a PostgreSQL the bench starts, then drawn served (the
    default threshold) by an app that reads it there."""
    from reseaux.cli_admin import _read_for_the_database
    from reseaux.stockage.migrate import migrate
    from tests.postgres_server import PostgresServer

    label = f"Réseaux, {count} acteurs, demandés au serveur (seuil 200 000), annuaire dans PostgreSQL"
    with PostgresServer() as server:
        url = server.new_database("carte")
        started = time.perf_counter()
        migrate(url, source=str(path))
        notes.append(f"PostgreSQL 15 + PostGIS local rempli par la migration en {time.perf_counter() - started:.0f} s")
        # As ``python -m reseaux migrer`` does: each fiche read for the database now, not by the
        # first visit (which would answer from the directory read in memory meanwhile).
        started = time.perf_counter()
        _read_for_the_database(url)
        notes.append(f"Fiches lues pour la base (comme `migrer`) en {time.perf_counter() - started:.0f} s")
        cache = folder / "cache_postgresql"
        env = {
            "RESEAUX_DATABASE_URL": url,
            "RESEAUX_GEOCACHE": str(cache / "geocodage.sqlite"),
            "RESEAUX_MAP_SERVER_ABOVE": "200000",
        }
        row = measure(browser, label, env, None, ACTORS, runs=runs, with_filter=True, cache=cache)
        notes.append(f"{label} : mesures en {row.seconds:.0f} s")
        saved.append(after_save(browser, "PostgreSQL", env))
        both.append(with_annuaire(browser, "PostgreSQL", env, folder, n))
        shutil.rmtree(cache, ignore_errors=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taille", type=int, default=1_000_000, help="acteurs synthétiques")
    parser.add_argument("--passages", type=int, default=RUNS, help="démarrages du serveur par carte")
    parser.add_argument("--sans-navigateur", action="store_true", help="sans la carte indexée par le navigateur")
    parser.add_argument("--postgresql", action="store_true", help="la carte servie aussi, l'annuaire dans PostgreSQL")
    parser.add_argument("--sans-fichiers", action="store_true", help="PostgreSQL seul (avec --postgresql)")
    args = parser.parse_args()
    section = served_section(
        args.taille,
        args.passages,
        compare=not args.sans_navigateur,
        postgresql=args.postgresql,
        files=not args.sans_fichiers,
    )
    print("\n".join(section), flush=True)
    print(f"charge moyenne à la fin : {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
