"""The map in the browser, as ratios to the floor of its own stack.

The floor is Streamlit + streamlit-folium drawing one marker (bench/floor_app.py). For the floor,
the demo directory and synthetic directories of 10,000 and 100,000 actors: seconds from
navigation to the first marker (cold: first visit after the server started, directory read and
validated; warm: the next visit), median of 3 server starts; and for the directories, a filter
change (« Thématiques : IVG ») until the redrawn markers show. Tiles are refused at once (no
network), as in the tests. Run by `make bench` (bench_scale.py) or alone.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synthetic import synthetic_table  # noqa: E402
from reseaux.store import encode_table  # noqa: E402

RUNS = 3
FIRST_MARKER = """(selector) => { const f = document.querySelector("iframe[title='streamlit_folium.st_folium']");
    const d = f && f.contentDocument; return !!(d && d.querySelector(selector)); }"""
#: The sum of what the markers in the map stand for (pins and cluster counts).
DRAWN = """() => { const f = document.querySelector("iframe[title='streamlit_folium.st_folium']");
    const d = f && f.contentDocument; if (!d) return -1;
    return d.querySelectorAll('.rx-pin').length
      + [...d.querySelectorAll('.rx-cluster span')].reduce((s, e) => s + (+e.textContent), 0); }"""


def visit(browser, url: str, selector: str) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("http://127.0.0.1")
               else route.continue_())
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function(FIRST_MARKER, arg=selector, timeout=600_000, polling=20)
    elapsed = time.perf_counter() - start
    page.close()
    return elapsed


def filter_change(browser, url: str) -> float:
    """Seconds from choosing « IVG » to the markers redrawn for it."""
    from tests.browser import settle

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("http://127.0.0.1")
               else route.continue_())
    page.goto(url)
    page.wait_for_function(FIRST_MARKER, arg=".rx-pin, .rx-cluster", timeout=600_000)
    settle(page)
    before = page.evaluate(DRAWN)
    box = page.get_by_test_id("stMultiSelect").filter(has_text="Thématiques")
    box.locator("input").click()
    box.locator("input").press_sequentially("IVG", delay=10)
    option = page.get_by_role("option", name="IVG", exact=True)
    option.wait_for()
    start = time.perf_counter()
    option.click()
    page.wait_for_function(f"() => {{ const n = ({DRAWN})(); return n > 0 && n !== {before}; }}",
                           timeout=600_000, polling=20)
    elapsed = time.perf_counter() - start
    page.close()
    return elapsed


def measure(env: dict, script: Path | None, selector: str, *, with_filter: bool) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, ServedApp

    cold, warm, filters = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for _ in range(RUNS):
            with ServedApp(env, script=script) as app:
                cold.append(visit(browser, app.url, selector))
                warm.append(visit(browser, app.url, selector))
                if with_filter:
                    filters.append(filter_change(browser, app.url))
        browser.close()
    return {"cold": statistics.median(cold), "warm": statistics.median(warm),
            "filter": statistics.median(filters) if filters else None}


def browser_section(sizes=(10_000, 100_000)) -> list[str]:
    # Streamlit serves static files from beside the script: the floor runs from the project root,
    # like serve.py, so both load the same local Leaflet.
    floor_script = ROOT / ".floor_app.py"
    floor_script.write_text((ROOT / "bench" / "floor_app.py").read_text(encoding="utf-8"), encoding="utf-8")
    try:
        floor = measure({}, floor_script, ".leaflet-marker-icon", with_filter=False)
    finally:
        floor_script.unlink(missing_ok=True)
    rows = [("Plancher : Streamlit + streamlit-folium, 1 marqueur", floor)]
    print(f"plancher {floor}", flush=True)
    rows.append(("Réseaux, annuaire de démonstration (185)", measure({}, None, ".rx-pin, .rx-cluster", with_filter=True)))
    print(rows[-1], flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            path = Path(folder) / f"actors_{n}.csv"
            path.write_bytes(encode_table(synthetic_table(n)))
            rows.append((f"Réseaux, {n:_} acteurs synthétiques".replace("_", " "),
                         measure({"RESEAUX_ACTORS": str(path)}, None, ".rx-pin, .rx-cluster", with_filter=True)))
            print(rows[-1], flush=True)
    lines = ["## Dans le navigateur, rapporté au plancher de la pile", "",
             f"Chromium headless, tuiles refusées ; médianes de {RUNS} démarrages du serveur. « Froid » : première "
             "visite après le démarrage (lecture et validation de l'annuaire comprises) ; « chaud » : la suivante. "
             "Filtre : du choix « Thématiques : IVG » aux marqueurs redessinés.", "",
             "| Carte | Premier marqueur, chaud | × plancher | Premier marqueur, froid | × plancher | Changement de filtre |",
             "|---|---|---|---|---|---|"]
    for label, row in rows:
        change = f"{row['filter']:.2f} s" if row["filter"] is not None else "—"
        lines.append(f"| {label} | {row['warm']:.2f} s | × {row['warm'] / floor['warm']:.1f} | {row['cold']:.2f} s | "
                     f"× {row['cold'] / floor['cold']:.1f} | {change} |")
    return lines


if __name__ == "__main__":
    print("\n".join(browser_section()))
