"""Load: :data:`SESSIONS` sessions at once on the main map, with a 10,000-actor directory.

The app is served as ``make run`` serves it (``serve.py``), on a synthetic directory of
:data:`ACTORS` actors (``bench/synthetic.py``). One Chromium (Debian's), one fresh context per
session, requests to anything but the app refused (no tiles). A first visit warms the server up
(reads the directory) and leaves; then one session opens the map and stays open: its time and the
server's memory.
Then :data:`SESSIONS` more open the map all at the same moment and stay open: for each, seconds
from navigation to the first actor drawn; the server's memory with all of them open; errors
(Streamlit's exception box, a « Traceback », the app's French failure message, a lost
connection, a script error of the page, a map never drawn). Memory is the server process's
resident set (``VmRSS``, children included), read from ``/proc``.

Run by ``make bench``, or alone: ``python bench/bench_load.py [--sessions 25] [--acteurs 10000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.machine import describe
from bench.report import replace_section

SESSIONS = 25
ACTORS = 10_000
TIMEOUT_MS = 300_000
TITLE = "## Charge : sessions simultanées sur la carte"
MAP = "iframe[title='streamlit_folium.st_folium']"
FIRST_MARKER = (
    """(selector) => { const f = document.querySelector("%s");
    const d = f && f.contentDocument; return !!(d && d.querySelector(selector)); }"""
    % MAP
)
ACTORS_SELECTOR = ".rx-pin, .rx-cluster"
FLOOR_SELECTOR = ".leaflet-marker-icon"


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """Processor time (user + system) of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def open_map(browser, url: str, errors: list[str], label: str, selector: str):
    """A new session on the map; returns (seconds to the first actor or None, its page)."""
    from tests.browser import _ERRORS, ERROR_SENTENCE

    context = await browser.new_context(viewport={"width": 1400, "height": 900}, locale="fr-FR")
    await context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url) else route.abort())
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"{label} : erreur de script {str(exc)[:120]}"))
    start = time.perf_counter()
    try:
        await page.goto(url + "/", timeout=TIMEOUT_MS)
        await page.wait_for_function(FIRST_MARKER, arg=selector, timeout=TIMEOUT_MS, polling=50)
        elapsed = time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001 — a session that never gets its map is an error, counted
        errors.append(f"{label} : carte jamais dessinée ({type(exc).__name__})")
        return None, page
    await page.wait_for_timeout(500)
    errors.extend(f"{label} : {e}" for e in await page.evaluate(_ERRORS, ERROR_SENTENCE))
    return elapsed, page


async def run(url: str, pid: int, sessions: int, selector: str = ACTORS_SELECTOR) -> dict:
    from playwright.async_api import async_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        warm, page = await open_map(
            browser, url, errors, "visite de mise en route", selector
        )  # the server's first visit
        await page.context.close()
        await asyncio.sleep(2)
        idle = rss_mb(pid)
        first, _ = await open_map(browser, url, errors, "session 1", selector)
        await asyncio.sleep(2)
        one = rss_mb(pid)
        cpu_before = cpu_seconds(pid)
        results = await asyncio.gather(
            *(open_map(browser, url, errors, f"session {n + 2}", selector) for n in range(sessions))
        )
        await asyncio.sleep(2)
        many = rss_mb(pid)
        cpu = cpu_seconds(pid) - cpu_before
        await browser.close()
    times = [t for t, _ in results if t is not None]
    return {
        "warm": warm,
        "idle": idle,
        "one": one,
        "many": many,
        "cpu": cpu,
        "first": first,
        "times": times,
        "errors": errors,
    }


def measure(env: dict, script: Path | None, sessions: int, selector: str) -> dict:
    from tests.browser import LoggedApp

    with LoggedApp(env, script=script) as app:
        found = asyncio.run(run(app.url, app.process.pid, sessions, selector))
        logged = app.exception_since(0)
    if logged:
        found["errors"].append(f"serveur : {logged}")
    return found


def row(label: str, found: dict, sessions: int, floor: dict | None) -> str:
    times = sorted(found["times"])

    def x(value, of):
        return f" (× {value / of:.1f})" if value and of else ""

    first = f"{found['first']:.2f} s" if found["first"] else "—"
    median = f"{statistics.median(times):.2f} s" if times else "—"
    last = times[-1] if times else None
    floor_last = max(floor["times"]) if floor and floor["times"] else None
    floor_first = floor["first"] if floor else None
    floor_cpu = floor["cpu"] / sessions if floor else None
    cpu = found["cpu"] / sessions
    return (
        f"| {label} | {first}{x(found['first'], floor_first)} | {median} | "
        f"{f'{last:.2f} s' if last else '—'}{x(last, floor_last)} | {cpu:.2f} s{x(cpu, floor_cpu)} | "
        f"{found['idle']:.0f} → {found['one']:.0f} → {found['many']:.0f} Mo | "
        f"{(found['many'] - found['one']) / sessions:.1f} Mo | **{len(found['errors'])}** |"
    )


def section(sessions: int, actors: int) -> list[str]:
    from bench.synthetic import synthetic_table
    from reseaux.annuaire.store import encode_table
    from tests.browser import data_folder

    began = time.monotonic()
    load = os.getloadavg()[0]
    # The floor runs from the project root, like serve.py, so both load the same local Leaflet.
    floor_script = ROOT / ".floor_app.py"
    floor_script.write_text((ROOT / "bench" / "floor_app.py").read_text(encoding="utf-8"), encoding="utf-8")
    try:
        floor = measure({}, floor_script, sessions, FLOOR_SELECTOR)
    finally:
        floor_script.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="reseaux-charge-") as tmp:
        folder, env = data_folder(Path(tmp))
        (folder / "actors.csv").write_bytes(encode_table(synthetic_table(actors)))
        found = measure(env, None, sessions, ACTORS_SELECTOR)
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    count = f"{actors:,}".replace(",", "\u202f")
    lines = [
        TITLE,
        "",
        f"{when} — machine : {describe()} ; charge moyenne au départ : {load:.2f} ; durée : "
        f"{(time.monotonic() - began) / 60:.1f} min.",
        "",
        f"`serve.py` sur un annuaire synthétique de {count} acteurs, visiteur·se (vue publique), et le "
        "plancher de la pile (Streamlit + streamlit-folium, un marqueur, `bench/floor_app.py`) dans les "
        "mêmes conditions. Une première visite met le serveur en route (pour Réseaux, lecture de "
        f"l'annuaire : {found['warm'] or 0:.1f} s) et repart ; une session ouvre alors la carte et reste "
        f"ouverte ; puis {sessions} autres l'ouvrent au même instant et restent ouvertes (Chromium "
        "headless, un contexte neuf chacune, tuiles refusées). Temps : de la navigation au premier "
        "marqueur. Processeur : temps du serveur pendant l'arrivée des sessions simultanées, par session. "
        "Mémoire : mémoire résidente du serveur. Entre parenthèses : × plancher.",
        "",
        "| Serveur | Seule, carte en | Médiane des simultanées | La dernière servie | Processeur du serveur "
        "par session | Mémoire : au repos → 1 session → toutes | Par session | Erreurs |",
        "|---|---|---|---|---|---|---|---|",
        row("Plancher : Streamlit + streamlit-folium, 1 marqueur", floor, sessions, None),
        row(f"Réseaux, {count} acteurs", found, sessions, floor),
    ]
    errors = [f"plancher — {e}" for e in floor["errors"]] + [f"Réseaux — {e}" for e in found["errors"]]
    if errors:
        lines += ["", "Erreurs :", *[f"- {e}" for e in errors[:20]]]
    lines += [
        "",
        f"Les {sessions} navigateurs tournent sur la même machine que le serveur (2 cœurs) : chaque "
        "page de Streamlit demande quelques secondes de processeur au navigateur pour démarrer, et c'est "
        "ce qui fait l'essentiel de l'attente des sessions simultanées, pour le plancher comme pour "
        "Réseaux ; la colonne « processeur du serveur » est ce que chaque spectateur·ice coûte au serveur. "
        "Les sessions partagent l'annuaire analysé, les couches et les index (un exemplaire par "
        "processus). Pour un public nombreux, voir « Un webinaire de centaines de personnes » dans docs/guide-utilisateur.md.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--acteurs", type=int, default=ACTORS)
    args = parser.parse_args()
    lines = section(args.sessions, args.acteurs)
    print("\n".join(lines))
    replace_section(lines, TITLE)


if __name__ == "__main__":
    main()
