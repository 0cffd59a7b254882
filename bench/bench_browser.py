"""The map in the browser, as ratios to the floor of its own stack, and the targets.

The floor is Streamlit + streamlit-folium drawing one marker (bench/floor_app.py). In headless
Chromium (Debian's), tiles refused at once (no network), as in the tests, for the floor, the demo
directory and synthetic directories of 10,000, 100,000 and 1,000,000 actors (bench/synthetic.py):

- **first marker**: seconds from navigation to the first marker in the map. « Cold »: the first
  visit after the server started; « warm »: the next visit, in a fresh browser context (so the
  browser's own cache is empty: only the server is warm). The app keeps the parsed directory
  beside the geocoding cache (``RESEAUX_GEOCACHE``, pointed here at a folder of the bench): the
  very first start of each directory parses the file (« sans cache », measured once), the
  :data:`RUNS` starts that follow read the cache (« cache chaud », median);
- **payload**: bytes received by the browser from navigation to the first marker, on a third
  visit (warm too; once per map, so that the timed visits carry no CDP session): every HTTP
  response (Chrome's ``Network.loadingFinished`` ``encodedDataLength``: body as sent, headers
  included) and every websocket frame received (``Network.webSocketFrameReceived``), read through
  a CDP session of the page (the map's iframe is same-origin: same session); the frames are told
  apart by what they carry (Streamlit's element: table, component…). And the same visit's bytes
  once the page is idle (« page entière »): what arrives before the first marker depends on
  the order of arrival (a large table sent before the map may land before or after it), the
  whole page does not;
- **filter change**: from choosing « Thématiques : IVG » on the map to the redrawn markers;
- **scene change** (demo): the Présentation page in full screen (``?scene=ivg&plein_ecran=1``),
  as a visitor; from pressing → or ← to the new scene's markers all drawn, as
  ``tests/test_journey_presenter.py`` plays it (its ``press``);
- **Couverture layer change** (demo): from choosing « Communes de Normandie » (2,644 communes)
  after the QPV to the old map gone (the busy sign) and to the new map drawn (2,644 shapes
  styled, legend written);
- **Couverture theme change** (demo): from choosing a theme in « Thématiques » to the choropleth
  redrawn. The overlay restyles the same shapes and rewrites the legend's title in the same
  script: the title is set to a sentinel before the choice, and the map counts as redrawn when
  the overlay has written it again.

Medians of :data:`RUNS` server starts (and of the presses and themes of every start). Run by
``make bench`` (bench_scale.py), or alone: ``python bench/bench_browser.py [--tailles 10000,100000]
[--passages 3]``.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.machine import describe
from bench.synthetic import synthetic_table
from reseaux.annuaire.store import encode_table

RUNS = 3
SIZES = (10_000, 100_000, 1_000_000)
#: Scene changes per server start (→ then ←, alternately, between « IVG » and « Aller-vers »).
PRESSES = 4
#: Couverture themes chosen per server start (each one alone: chosen, measured, then removed).
THEMES = ("IVG", "Contraception", "PrEP")
#: Generous: 1,000,000 actors are parsed (no cache), sent and indexed in the browser.
TIMEOUT_MS = 1_200_000
MAP = "iframe[title='streamlit_folium.st_folium']"
ACTORS = ".rx-pin, .rx-cluster"
FIRST_MARKER = (
    """(selector) => { const f = document.querySelector("%s");
    const d = f && f.contentDocument; return !!(d && d.querySelector(selector)); }"""
    % MAP
)
#: The sum of what the markers in the map stand for (pins and cluster counts).
DRAWN = (
    """() => { const f = document.querySelector("%s");
    const d = f && f.contentDocument; if (!d) return -1;
    return d.querySelectorAll('.rx-pin').length
      + [...d.querySelectorAll('.rx-cluster span')].reduce((s, e) => s + (+e.textContent.replace(/\u202f/g, "")), 0); }"""
    % MAP
)
_SENTINEL = "rx-bench-avant"
#: The coverage legend's title replaced by the sentinel (the overlay's script writes it again).
MARK_LEGEND = """() => { const fs = document.querySelectorAll("%s"); const d = fs[fs.length - 1].contentDocument;
    d.querySelector('.rx-cov-legend summary').innerHTML = '%s'; }""" % (MAP, _SENTINEL)
LEGEND_REWRITTEN = """() => { const fs = document.querySelectorAll("%s"); const f = fs[fs.length - 1];
    const d = f && f.contentDocument; const s = d && d.querySelector('.rx-cov-legend summary');
    return !!s && s.innerHTML !== '' && s.innerHTML !== '%s'; }""" % (MAP, _SENTINEL)


# --- one page ----------------------------------------------------------------------------------


def local_page(browser):
    """A page in a fresh context (empty browser cache) that refuses every request but the app's."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    page.route(
        "**/*",
        lambda route: route.abort() if not route.request.url.startswith("http://127.0.0.1") else route.continue_(),
    )
    return page


class Received:
    """Bytes the page has received so far: HTTP responses and websocket frames (CDP Network events).

    Kept cheap while the page loads (lengths, and the first bytes of each binary frame); what each
    frame carried (:meth:`kinds`) is read afterwards."""

    def __init__(self, page) -> None:
        self.http = 0
        self.frames = 0
        self.frozen: tuple[int, int, dict[str, int]] | None = None  # (http, frames, kinds) at the first marker
        self.whole: tuple[int, int, dict[str, int]] | None = None  # the same once the page is idle
        self.errors: list[str] = []  # what the idle page shows of a failure (tests.browser.page_errors)
        self._heads: list[tuple[int, str]] = []
        session = page.context.new_cdp_session(page)
        session.on("Network.loadingFinished", self._finished)
        session.on("Network.webSocketFrameReceived", self._frame)
        session.send("Network.enable")

    def _finished(self, event: dict) -> None:
        self.http += int(event.get("encodedDataLength", 0))

    def _frame(self, event: dict) -> None:
        response = event["response"]
        data = response.get("payloadData", "")
        if response.get("opcode") == 2:  # binary (Streamlit's protobuf messages), in base64
            size = len(data) * 3 // 4 - len(data[-2:]) + len(data[-2:].rstrip("="))
            self._heads.append((size, data[:4096]))
        else:
            size = len(data.encode("utf-8"))
        self.frames += size

    @property
    def total(self) -> int:
        return self.http + self.frames

    def kinds(self) -> dict[str, int]:
        """Bytes of websocket frames by what they carried (Streamlit's element type)."""
        found: dict[str, int] = {}
        for size, head in self._heads:
            kind = message_kind(base64.b64decode(head[: len(head) // 4 * 4]))
            found[kind] = found.get(kind, 0) + size
        return found


def _fields(buffer: bytes):
    """(field number, value's start, value's end) of a protobuf message, as far as ``buffer`` goes
    (a message cut short yields its first fields: enough to tell what it is)."""
    position = 0

    def varint() -> int:
        nonlocal position
        value = shift = 0
        while True:
            byte = buffer[position]
            position += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    try:
        while position < len(buffer):
            key = varint()
            number, wire = key >> 3, key & 7
            if wire == 0:
                start = position
                varint()
            elif wire == 2:
                length = varint()
                start, position = position, position + length
            elif wire in (1, 5):
                start, position = position, position + (8 if wire == 1 else 4)
            else:
                return
            yield number, start, position
    except IndexError:
        return


def message_kind(head: bytes) -> str:
    """What a Streamlit ForwardMsg (its first bytes) carries: the element's type for a new element
    (« dataframe », « component_instance »…), else the message's own type."""
    from streamlit.proto.Delta_pb2 import Delta
    from streamlit.proto.Element_pb2 import Element
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    types = {f.number: f.name for f in ForwardMsg.DESCRIPTOR.oneofs_by_name["type"].fields}
    elements = {f.number: f.name for f in Element.DESCRIPTOR.oneofs_by_name["type"].fields}
    delta, new_element = (
        ForwardMsg.DESCRIPTOR.fields_by_name["delta"].number,
        Delta.DESCRIPTOR.fields_by_name["new_element"].number,
    )
    for number, start, end in _fields(head):
        if number == delta:
            for inner, start2, end2 in _fields(head[start:end]):
                if inner == new_element:
                    return next(
                        (elements[n] for n, _, _ in _fields(head[start:end][start2:end2]) if n in elements), "element"
                    )
                return "delta"
            return "delta"
        if number in types:
            return types[number]
    return "autre"


#: How the results name what the websocket carried.
KIND_LABELS = {"dataframe": "tableaux", "component_instance": "carte (composant)"}


def visit(browser, url: str, selector: str, *, count: bool = False) -> tuple[float, Received | None]:
    """Seconds from navigation to the first marker; with ``count``, also the bytes received meanwhile
    (the CDP session then adds its own work: the timed visits go without it)."""
    page = local_page(browser)
    received = Received(page) if count else None
    start = time.perf_counter()
    page.goto(url, timeout=TIMEOUT_MS)
    page.wait_for_function(FIRST_MARKER, arg=selector, timeout=TIMEOUT_MS, polling=20)
    elapsed = time.perf_counter() - start
    if received is not None:  # what had arrived by the first marker, frozen; then the whole page, once idle
        from tests.browser import page_errors, settle

        received.frozen = (received.http, received.frames, received.kinds())
        settle(page, timeout=TIMEOUT_MS)
        received.whole = (received.http, received.frames, received.kinds())
        received.errors = page_errors(page)
    page.close()
    return elapsed, received


def filter_change(browser, url: str) -> float:
    """Seconds from choosing « IVG » to the markers redrawn for it."""
    from tests.browser import settle

    page = local_page(browser)
    page.goto(url, timeout=TIMEOUT_MS)
    page.wait_for_function(FIRST_MARKER, arg=ACTORS, timeout=TIMEOUT_MS)
    settle(page, timeout=TIMEOUT_MS)
    before = page.evaluate(DRAWN)
    box = page.get_by_test_id("stMultiSelect").filter(has_text="Thématiques")
    box.locator("input").click()
    box.locator("input").press_sequentially("IVG", delay=10)
    option = page.get_by_role("option", name="IVG", exact=True)
    option.wait_for()
    start = time.perf_counter()
    option.click()
    page.wait_for_function(
        f"() => {{ const n = ({DRAWN})(); return n > 0 && n !== {before}; }}", timeout=TIMEOUT_MS, polling=20
    )
    elapsed = time.perf_counter() - start
    page.close()
    return elapsed


def scene_changes(browser, url: str, counts: dict[str, int], presses: int = PRESSES) -> list[float]:
    """Seconds for each of ``presses`` keys (→ ←, alternately) until the new scene's markers are drawn."""
    from tests.test_journey_presenter import press, wait_markers

    page = local_page(browser)
    try:
        page.goto(url + "/presentation?scene=ivg&plein_ecran=1", timeout=TIMEOUT_MS)
        page.locator(".rx-stage h1").wait_for(timeout=120_000)
        wait_markers(page, counts["ivg"], timeout=120_000)
        moves = [("ArrowRight", "aller-vers"), ("ArrowLeft", "ivg")]
        return [
            press(page, key, counts[scene], f"scene={scene}") for key, scene in (moves[i % 2] for i in range(presses))
        ]
    finally:
        page.close()


def theme_changes(browser, url: str, themes: tuple[str, ...]) -> list[float]:
    """Seconds from choosing each theme alone in « Couverture » to the choropleth redrawn for it."""
    from tests.browser import settle

    page = local_page(browser)
    try:
        page.goto(url + "/couverture", timeout=TIMEOUT_MS)
        page.frame_locator(MAP).last.locator("path.leaflet-interactive").first.wait_for(timeout=120_000)
        settle(page)
        box = page.get_by_test_id("stMultiSelect").filter(has_text="Thématiques")
        times = []
        for theme in themes:
            page.evaluate(MARK_LEGEND)
            box.locator("input").click()
            box.locator("input").press_sequentially(theme[:4], delay=10)
            option = page.get_by_role("option", name=theme, exact=True)
            option.wait_for(timeout=30_000)
            start = time.perf_counter()
            option.click()
            page.wait_for_function(LEGEND_REWRITTEN, timeout=120_000, polling=20)
            times.append(time.perf_counter() - start)
            page.keyboard.press("Escape")
            settle(page)
            box.get_by_role("button", name=f"Remove {theme}").click()  # back to all themes, not measured
            settle(page)
        return times
    finally:
        page.close()


#: The coverage map drawn for the communes: every shape styled and the legend written.
COMMUNES_DRAWN = (
    """() => { const fs = document.querySelectorAll("%s"); const f = fs[fs.length - 1];
    const w = f && f.contentWindow; const s = w && w.rxCoverageShapes;
    const body = w && w.document.querySelector('.rx-cov-body');
    return !!s && !!body && body.innerHTML !== '' && s.getLayers().length === 2644; }"""
    % MAP
)
#: The QPV's map marked, then gone.
MARK_OLD = """() => document.querySelectorAll("%s").forEach(f => f.dataset.rxOld = "1")""" % MAP
OLD_GONE = """() => !document.querySelector("%s[data-rx-old]")""" % MAP


def layer_changes(browser, url: str) -> tuple[float, float]:
    """Seconds from choosing « Communes de Normandie » after the QPV to the QPV's map gone, and to
    the communes' map drawn."""
    from tests.browser import settle

    page = local_page(browser)
    try:
        page.goto(url + "/couverture", timeout=TIMEOUT_MS)
        page.frame_locator(MAP).last.locator("path.leaflet-interactive").first.wait_for(timeout=120_000)
        settle(page)
        page.evaluate(MARK_OLD)
        page.get_by_role("combobox", name="Périmètres").click()
        option = page.get_by_role("option", name="Territoires — Communes de Normandie", exact=True)
        option.wait_for(timeout=30_000)
        start = time.perf_counter()
        option.click()
        page.wait_for_function(OLD_GONE, timeout=120_000, polling=20)
        cleared = time.perf_counter() - start
        page.wait_for_function(COMMUNES_DRAWN, timeout=120_000, polling=20)
        return cleared, time.perf_counter() - start
    finally:
        page.close()


def failure(exc: Exception) -> str:
    """The exception in one short line (for the results)."""
    text = str(exc).splitlines()[0][:160] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"


def peak_memory_gb(process) -> float | None:
    """The server process's peak resident memory (VmHWM), in GB."""
    return status_gb(process.pid, "VmHWM")


def status_gb(pid: int, field: str) -> float | None:
    """A memory line of ``/proc/PID/status`` (``VmHWM``: the peak; ``VmRSS``: held now), in GB."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            kb = next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))
        return kb / 1024 / 1024
    except (OSError, StopIteration, ValueError):
        return None


# --- one map, over several server starts -------------------------------------------------------


@dataclass
class Row:
    label: str
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    payload: tuple[int, int, dict[str, int]] | None = None  # warm visit: HTTP, websocket, websocket by kind
    whole: tuple[int, int, dict[str, int]] | None = None  # the same, the page idle
    filters: list[float] = field(default_factory=list)
    first: float | None = None  # cold visit of the very first start (parse cache empty)
    memory: float | None = None
    seconds: float = 0.0  # the whole measure, wall clock
    error: str = ""

    def median(self, name: str) -> float | None:
        values = getattr(self, name)
        return statistics.median(values) if values else None

    @property
    def payload_mb(self) -> float | None:
        return (self.payload[0] + self.payload[1]) / 1e6 if self.payload else None

    def payload_cell(self, floor: float | None, *, whole: bool = False) -> str:
        counted = self.whole if whole else self.payload
        if not counted:
            return "—"
        http, frames, kinds = counted
        named = sorted(((KIND_LABELS.get(k, "autres"), v) for k, v in kinds.items()), key=lambda kv: -kv[1])
        parts: dict[str, int] = {}
        for name, size in named:
            parts[name] = parts.get(name, 0) + size
        detail = ", ".join(f"{name} {size / 1e6:.2f}" for name, size in parts.items() if size >= 5_000)
        return (
            f"{cell((http + frames) / 1e6, 'Mo', floor=floor)} : HTTP {http / 1e6:.2f}, websocket "
            f"{frames / 1e6:.2f}" + (f" ({detail})" if detail else "")
        )


def measure(
    browser,
    label: str,
    env: dict,
    script: Path | None,
    selector: str,
    *,
    runs: int,
    with_filter: bool,
    cache: Path | None,
    extra=None,
) -> Row:
    """``runs`` server starts: cold then warm visit (and a filter change) each. With ``cache`` (the
    folder ``RESEAUX_GEOCACHE`` points into), first one start with that folder empty: its cold visit
    is the very first one, directory parsed. ``extra(app_url)`` runs at the end of each start."""
    from tests.conftest import ServedApp

    row = Row(label)
    began = time.perf_counter()
    try:
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)
            with ServedApp(env, script=script) as app:
                row.first, _ = visit(browser, app.url, selector)
                row.memory = peak_memory_gb(app.process)
            print(f"  {label} : première visite sans cache {row.first:.2f} s", flush=True)
        for _ in range(runs):
            with ServedApp(env, script=script) as app:
                row.cold.append(visit(browser, app.url, selector)[0])
                row.warm.append(visit(browser, app.url, selector)[0])
                if row.payload is None:  # a third visit, warm too, counts the bytes (once per map)
                    received = visit(browser, app.url, selector, count=True)[1]
                    row.payload, row.whole = received.frozen, received.whole
                    if received.errors:
                        row.error = "la page montre une erreur : " + " ; ".join(received.errors)[:300]
                if with_filter:
                    row.filters.append(filter_change(browser, app.url))
                if extra is not None:
                    extra(app.url)
                memory = peak_memory_gb(app.process)
                if memory is not None:
                    row.memory = max(row.memory or 0.0, memory)
            print(
                f"  {label} : froid {row.cold[-1]:.2f} s, chaud {row.warm[-1]:.2f} s, "
                f"{sum(row.payload[:2]) / 1e6:.2f} Mo {row.payload[2]}"
                + (f", filtre {row.filters[-1]:.2f} s" if with_filter else ""),
                flush=True,
            )
    except Exception as exc:  # noqa: BLE001 — one map that cannot be measured does not lose the others
        row.error = failure(exc)
        traceback.print_exc()
    row.seconds = time.perf_counter() - began
    return row


def demo_data(folder: Path) -> tuple[Path, dict[str, str]]:
    """Copies of the demo directory and scenes, and a parse cache of their own."""
    data = folder / "demo"
    data.mkdir()
    for name in ("actors.csv", "scenes.json"):
        shutil.copy2(ROOT / "data" / name, data / name)
    return data, {
        "RESEAUX_ACTORS": str(data / "actors.csv"),
        "RESEAUX_SCENES": str(data / "scenes.json"),
        "RESEAUX_GEOCACHE": str(data / ".cache" / "geocodage.sqlite"),
    }


def scene_counts(data: Path, folder: Path) -> dict[str, int]:
    """How many actors a visitor sees in the scenes « ivg » and « aller-vers », by the app's own functions
    (parse cache of this process apart from the server's, so its first start stays without cache)."""
    from reseaux.annuaire.referential import load_referential
    from reseaux.app_data import load_territory
    from tests.test_journey_presenter import expected

    saved = os.environ.get("RESEAUX_GEOCACHE")
    os.environ["RESEAUX_GEOCACHE"] = str(folder / "bench-cache" / "geocodage.sqlite")
    try:
        referential, territory = load_referential(ROOT / "data" / "referentiel.csv"), load_territory()
        return {scene: expected(referential, territory, data, scene, "visiteur") for scene in ("ivg", "aller-vers")}
    finally:
        if saved is None:
            os.environ.pop("RESEAUX_GEOCACHE", None)
        else:
            os.environ["RESEAUX_GEOCACHE"] = saved


# --- the section of bench/results.md -----------------------------------------------------------


@dataclass
class Target:
    what: str
    wanted: str
    value: float | None
    limit: float
    unit: str  # "×", "s" or "Mo"
    strict: bool = False  # « < » rather than « ≤ »

    def verdict(self) -> str:
        if self.value is None:
            return "non mesuré"
        if self.value < self.limit or (not self.strict and self.value == self.limit):
            return "atteint"
        gap = self.value - self.limit
        amount = f"{gap:.2f} fois le plancher" if self.unit == "×" else f"{gap:.2f} {self.unit}"
        return f"**manqué** de {amount} (+{(self.value / self.limit - 1) * 100:.0f} %)"

    def measured(self) -> str:
        if self.value is None:
            return "—"
        return f"× {self.value:.2f}" if self.unit == "×" else f"{self.value:.2f} {self.unit}"


def ratio(value: float | None, floor: float | None) -> float | None:
    return value / floor if value is not None and floor else None


def cell(value: float | None, unit: str = "s", floor: float | None = None) -> str:
    if value is None:
        return "—"
    text = f"{value:.2f} {unit}"
    return text + (f" (× {value / floor:.1f})" if floor else "")


def measure_floor(browser, runs: int) -> Row:
    """The stack's floor: Streamlit + streamlit-folium drawing one marker (bench/floor_app.py),
    measured as the app is. Streamlit serves static files from beside the script: the floor runs
    from the project root, like serve.py, so both load the same local Leaflet."""
    floor_script = ROOT / ".floor_app.py"
    floor_script.write_text((ROOT / "bench" / "floor_app.py").read_text(encoding="utf-8"), encoding="utf-8")
    try:
        return measure(
            browser,
            "Plancher : Streamlit + streamlit-folium, 1 marqueur",
            {},
            floor_script,
            ".leaflet-marker-icon",
            runs=runs,
            with_filter=False,
            cache=None,
        )
    finally:
        floor_script.unlink(missing_ok=True)


def browser_section(sizes=SIZES, runs: int = RUNS) -> list[str]:
    """Measure everything (in this order: floor, demo with scenes and Couverture, synthetic sizes)
    and return the Markdown section."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    began, when = time.perf_counter(), datetime.now().strftime("%Y-%m-%d %H:%M")
    load = os.getloadavg()[0]
    rows: list[Row] = []
    scenes: list[float] = []
    themes: list[float] = []
    layers: list[tuple[float, float]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        folder = Path(tmp)
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        rows.append(measure_floor(browser, runs))
        data, env = demo_data(folder)
        counts = scene_counts(data, folder)

        def demo_extra(url: str) -> None:
            for what, times, play in (
                ("changement de scène", scenes, lambda: scene_changes(browser, url, counts)),
                ("Couverture", themes, lambda: theme_changes(browser, url, THEMES)),
                ("Couverture, communes", layers, lambda: [layer_changes(browser, url)]),
            ):
                try:
                    times.extend(play())
                except Exception as exc:  # noqa: BLE001 — the first marker's figures are kept
                    notes.append(f"{what} : une mesure a échoué ({failure(exc)})")
                    traceback.print_exc()
            print(
                f"  scènes {[round(t, 2) for t in scenes]}, thèmes {[round(t, 2) for t in themes]}, "
                f"communes {[(round(a, 2), round(b, 2)) for a, b in layers]}",
                flush=True,
            )

        rows.append(
            measure(
                browser,
                "Réseaux, annuaire de démonstration (185)",
                env,
                None,
                ACTORS,
                runs=runs,
                with_filter=True,
                cache=data / ".cache",
                extra=demo_extra,
            )
        )
        for n in sizes:
            label = f"Réseaux, {n:_} acteurs synthétiques".replace("_", " ")
            started = time.perf_counter()
            path = folder / f"actors_{n}.csv"
            try:
                path.write_bytes(encode_table(synthetic_table(n)))
            except MemoryError:
                rows.append(Row(label, error="MemoryError en écrivant l'annuaire synthétique"))
                continue
            made = time.perf_counter() - started
            cache = folder / f"cache_{n}"
            env = {"RESEAUX_ACTORS": str(path), "RESEAUX_GEOCACHE": str(cache / "geocodage.sqlite")}
            row = measure(browser, label, env, None, ACTORS, runs=runs, with_filter=True, cache=cache)
            rows.append(row)
            notes.append(
                f"{n:_} acteurs synthétiques : fichier de {path.stat().st_size / 1e6:.0f} Mo écrit en "
                f"{made:.0f} s, mesures en {row.seconds:.0f} s".replace("_", " ")
            )
            path.unlink(missing_ok=True)
            shutil.rmtree(cache, ignore_errors=True)
        browser.close()
    return section(
        rows,
        scenes,
        themes,
        layers,
        runs=runs,
        when=when,
        load=load,
        notes=notes,
        minutes=(time.perf_counter() - began) / 60,
    )


def section(
    rows: list[Row],
    scenes: list[float],
    themes: list[float],
    layers: list[tuple[float, float]],
    *,
    runs: int,
    when: str,
    load: float,
    notes: list[str],
    minutes: float,
) -> list[str]:
    floor = rows[0]
    f_warm, f_cold, f_payload = floor.median("warm"), floor.median("cold"), floor.payload_mb
    f_whole = (floor.whole[0] + floor.whole[1]) / 1e6 if floor.whole else None
    by_n = {row.label: row for row in rows}

    def find(text: str) -> Row | None:
        return next((row for label, row in by_n.items() if text in label), None)

    lines = [
        "## Dans le navigateur, rapporté au plancher de la pile",
        "",
        f"{when} — machine : {describe()} ; charge moyenne au départ : {load:.2f}. Chromium headless "
        f"(`/usr/bin/chromium`), tuiles refusées ; médianes de {runs} démarrages du serveur ; durée de cette "
        f"partie : {minutes:.0f} min.",
        "",
        "« Chaud » : la deuxième visite après le démarrage du serveur (nouveau contexte de navigateur, cache du "
        "navigateur vide). « Froid, cache chaud » : la première visite après le démarrage, l'annuaire analysé "
        "relu depuis le cache de l'application (`annuaire/`, à côté du cache de géocodage) ; « froid, sans "
        "cache » : la toute première visite du tout premier démarrage, fichier lu et validé (1 mesure). "
        "Charge utile (en Mo) : octets reçus par le navigateur de la navigation au premier marqueur, lors "
        "d'une troisième visite, chaude elle aussi, du premier démarrage « cache chaud » (1 mesure ; les "
        "visites chronométrées ne les comptent pas) : réponses HTTP, en-têtes compris, et trames websocket "
        "(les messages de Streamlit ; entre parenthèses, ce qu'elles portaient) ; « page entière » : la même "
        "visite, une fois la page au repos (ce qui arrive après le premier marqueur compris : un message envoyé "
        "avant la carte, la liste des acteurs par exemple, entre ou non dans la première selon l'ordre "
        "d'arrivée ; pas dans la seconde). "
        "Filtre : du choix « Thématiques : IVG » aux "
        "marqueurs redessinés. Entre parenthèses : × plancher.",
        "",
        "| Carte | Premier marqueur, chaud | Froid, cache chaud | Froid, sans cache | Charge utile au premier "
        "marqueur | Charge utile, page entière | Changement de filtre | Mémoire du serveur (pic) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row.error and not row.warm:
            lines.append(f"| {row.label} | non mesuré : {row.error} | | | | | | |")
            continue
        lines.append(
            f"| {row.label} | {cell(row.median('warm'), floor=f_warm)} | {cell(row.median('cold'), floor=f_cold)} | "
            f"{cell(row.first, floor=f_cold)} | {row.payload_cell(f_payload)} | {row.payload_cell(f_whole, whole=True)} | "
            f"{cell(row.median('filters'))} | {cell(row.memory, 'Gio')} |"
        )
    lines += [
        "",
        f"Changement de scène (démo, page Présentation en plein écran, visiteur, → et ← entre « IVG » et "
        f"« Aller-vers ») : médiane {cell(statistics.median(scenes) if scenes else None)} sur {len(scenes)} "
        f"appuis ({', '.join(f'{s:.2f}' for s in scenes)}).",
        "",
        f"Couverture, changement de thématique (démo, couche QPV ; du choix au choroplèthe redessiné, "
        f"légende réécrite) : médiane {cell(statistics.median(themes) if themes else None)} sur {len(themes)} "
        f"choix ({', '.join(f'{s:.2f}' for s in themes)}).",
        "",
        f"Couverture, changement de couche (démo, des QPV aux 2 644 communes de Normandie ; du choix à "
        f"l'ancienne carte effacée, signe d'attente affiché, puis à la nouvelle dessinée, chaque forme colorée "
        f"et la légende écrite) : médianes {cell(statistics.median(a for a, _ in layers) if layers else None)} "
        f"et {cell(statistics.median(b for _, b in layers) if layers else None)} sur {len(layers)} choix "
        f"({', '.join(f'{a:.2f} → {b:.2f}' for a, b in layers)}).",
        "",
    ]
    demo, k100, m1 = find("démonstration"), find("100 000"), find("1 000 000")

    def med(row: Row | None, name: str) -> float | None:
        return row.median(name) if row is not None else None

    targets = [
        Target("Démo, premier marqueur chaud", "≤ × 1.3", ratio(med(demo, "warm"), f_warm), 1.3, "×"),
        Target("100 000, premier marqueur chaud", "≤ × 1.6", ratio(med(k100, "warm"), f_warm), 1.6, "×"),
        Target("100 000, premier marqueur froid (cache chaud)", "≤ × 3", ratio(med(k100, "cold"), f_cold), 3, "×"),
        Target("1 000 000, premier marqueur chaud", "≤ × 3", ratio(med(m1, "warm"), f_warm), 3, "×"),
        Target("Démo, changement de filtre", "≤ 0.5 s", med(demo, "filters"), 0.5, "s"),
        Target("100 000, changement de filtre", "≤ 0.5 s", med(k100, "filters"), 0.5, "s"),
        Target(
            "Couverture, 2 644 communes, carte dessinée",
            "≤ 3 s",
            statistics.median(b for _, b in layers) if layers else None,
            3,
            "s",
        ),
        Target(
            "Changement de scène (démo)", "< 1 s", statistics.median(scenes) if scenes else None, 1, "s", strict=True
        ),
        Target("100 000, charge utile", "< 2 Mo", k100.payload_mb if k100 is not None else None, 2, "Mo", strict=True),
    ]
    lines += ["| Objectif | Visé | Mesuré | |", "|---|---|---|---|"]
    lines += [f"| {t.what} | {t.wanted} | {t.measured()} | {t.verdict()} |" for t in targets]
    lines += [
        "",
        "Pour mémoire, 100 000 froid sans cache : "
        + (f"× {ratio(k100.first, f_cold):.2f}." if k100 is not None and k100.first else "non mesuré."),
    ]
    if f_payload and k100 is not None and k100.payload:
        http, frames, kinds = k100.payload
        lines.append(
            f"Charge utile : le plancher seul reçoit déjà {f_payload:.2f} Mo, presque tout en HTTP (les "
            f"scripts de Streamlit) ; à 100 000, Réseaux reçoit {k100.payload_mb:.2f} Mo : "
            f"{http / 1e6:.2f} Mo en HTTP (plancher : {floor.payload[0] / 1e6:.2f}) et {frames / 1e6:.2f} Mo "
            f"de trames websocket, dont {kinds.get('component_instance', 0) / 1e6:.2f} Mo pour la carte."
        )
    failed = [row for row in rows if row.error]
    if failed:
        lines += ["", *[f"Incident — {row.label} : {row.error}." for row in failed]]
    if notes:
        lines += ["", "Notes : " + " ; ".join(notes) + "."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tailles",
        default=",".join(str(n) for n in SIZES),
        help="tailles d'annuaires synthétiques, séparées par des virgules (vide : aucune)",
    )
    parser.add_argument("--passages", type=int, default=RUNS, help="démarrages du serveur par carte")
    args = parser.parse_args()
    sizes = tuple(int(n) for n in args.tailles.split(",") if n.strip())
    print("\n".join(browser_section(sizes, args.passages)))


if __name__ == "__main__":
    main()
