"""A webinar of hundreds of viewers, served as the user guide advises (docs/guide-utilisateur.md): the standalone export on a
static host.

The presenter's export is made as a person makes it (headless Chromium, as a visitor: page
Présentation, scene « IVG », « Préparer la carte autonome (.html) », « Télécharger »), then put
on a plain static server (Python's ``http.server``, threaded, on loopback) standing for any host
(the association's site, a shared drive, GitHub Pages…). :data:`VIEWERS` viewers open it, in
waves of :data:`WAVE` at once (one Chromium, a fresh context each; requests to anything but the
static server refused, so the base map's tiles are not counted). Measured: the file's size; the
static server's CPU time per viewer (what hundreds of viewers cost the host); for each viewer,
seconds from navigation to every actor of the scene drawn (pins and cluster counts); errors.

The viewers' times are those of this machine running :data:`WAVE` Chromium pages at once on its
own cores: each real viewer's browser does that work on their own machine. Run by ``make bench``,
or alone: ``python bench/bench_webinar.py [--spectateurs 200] [--vague 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
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

VIEWERS = 200
WAVE = 10
TITLE = "## Webinaire : la carte autonome sur un hébergement statique"
DRAWN = """() => document.querySelectorAll('.rx-pin').length
  + [...document.querySelectorAll('.rx-cluster span')].reduce((s, e) => s + (+e.textContent.replace(/\u202f/g, "")), 0)"""


def export_scene(folder: Path) -> tuple[Path, int]:
    """The standalone HTML of scene « IVG », downloaded from the served app by a visitor; and the
    number of actors it shows."""
    from playwright.sync_api import sync_playwright

    from tests.browser import LoggedApp, data_folder, settle
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    _, env = data_folder(folder)
    with LoggedApp(env) as app, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
        page.goto(app.url + "/presentation?scene=ivg")
        page.get_by_role("button", name="Préparer la carte autonome (.html)").click(timeout=120_000)
        page.get_by_role("button", name="Télécharger la carte (.html)").wait_for(timeout=120_000)
        settle(page)
        with page.expect_download(timeout=120_000) as info:
            page.get_by_role("button", name="Télécharger la carte (.html)").click()
        site = folder / "site"
        site.mkdir()
        path = site / "carte.html"
        info.value.save_as(path)
        # How many actors the scene shows: the export is opened once, counted when drawn.
        check = browser.new_page()
        check.goto(path.as_uri())
        check.wait_for_function(f"() => ({DRAWN})() > 0", timeout=60_000)
        check.wait_for_timeout(1000)
        count = check.evaluate(DRAWN)
        browser.close()
    return path, count


async def viewers(url: str, expected: int, total: int, wave: int) -> tuple[list[float], list[str]]:
    from playwright.async_api import async_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    times: list[float] = []
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

        async def one(n: int) -> None:
            context = await browser.new_context(viewport={"width": 1366, "height": 768})
            await context.route(
                "**/*",
                lambda route: (
                    route.continue_() if route.request.url.startswith(url.rsplit("/", 1)[0]) else route.abort()
                ),
            )
            page = await context.new_page()
            page.on("pageerror", lambda exc: errors.append(f"spectateur {n} : {exc}"))
            start = time.perf_counter()
            try:
                response = await page.goto(url, timeout=120_000)
                if response is None or response.status != 200:
                    errors.append(f"spectateur {n} : réponse {response and response.status}")
                await page.wait_for_function(f"(n) => ({DRAWN})() === n", arg=expected, timeout=120_000, polling=50)
                times.append(time.perf_counter() - start)
            except Exception as exc:  # noqa: BLE001 — a viewer who never sees the map is counted, not fatal
                errors.append(f"spectateur {n} : {type(exc).__name__} {str(exc)[:120]}")
            finally:
                await context.close()

        for first in range(0, total, wave):
            await asyncio.gather(*(one(n) for n in range(first, min(total, first + wave))))
        await browser.close()
    return times, errors


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def section(total: int, wave: int) -> list[str]:
    started = time.monotonic()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="reseaux-webinaire-") as tmp:
        path, expected = export_scene(Path(tmp))
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(path.parent)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(f"http://127.0.0.1:{port}/carte.html")
            before = cpu_seconds(server.pid)
            times, errors = asyncio.run(viewers(f"http://127.0.0.1:{port}/carte.html", expected, total, wave))
            cpu = cpu_seconds(server.pid) - before
        finally:
            server.terminate()
            server.wait(timeout=10)
        size = path.stat().st_size
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    times.sort()
    lines = [
        TITLE,
        "",
        f"{when} — machine : {describe()} ; charge moyenne au départ : {load:.2f} ; durée : "
        f"{(time.monotonic() - started) / 60:.1f} min.",
        "",
        "La scène « IVG » exportée en carte autonome comme le fait un·e visiteur·se (page Présentation, "
        "« Préparer », « Télécharger »), déposée sur un serveur statique (`python -m http.server`, "
        f"boucle locale) ; {total} spectateur·ices l'ouvrent par vagues de {wave} simultanées (Chromium "
        "headless, un contexte neuf chacun, tuiles refusées). Temps : de la navigation à tous les "
        f"acteurs de la scène dessinés ({expected}).",
        "",
        "| Fichier | Spectateur·ices | Vus en entier | Erreurs | Temps processeur du serveur | "
        "Par spectateur·ice | Temps médian | 9ᵉ décile | Pire |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    if times:
        decile = times[min(len(times) - 1, int(len(times) * 0.9))]
        lines.append(
            f"| {size / 1e6:.2f} Mo | {total} | {len(times)} | {len(errors)} | {cpu:.2f} s | "
            f"{1000 * cpu / total:.1f} ms | {statistics.median(times):.2f} s | {decile:.2f} s | "
            f"{times[-1]:.2f} s |"
        )
    else:
        lines.append(f"| {size / 1e6:.2f} Mo | {total} | 0 | {len(errors)} | {cpu:.2f} s | — | — | — | — |")
    lines += [
        "",
        "Le serveur ne fait qu'envoyer un fichier : quelques millisecondes de processeur par "
        "spectateur·ice, quel que soit leur nombre ; chaque navigateur dessine la carte lui-même. Les "
        f"temps ci-dessus sont ceux de cette machine faisant tourner {wave} pages à la fois.",
    ]
    if errors:
        lines += ["", "Erreurs :", *[f"- {e}" for e in errors[:20]]]
    return lines


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"le serveur statique ne répond pas : {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spectateurs", type=int, default=VIEWERS)
    parser.add_argument("--vague", type=int, default=WAVE)
    args = parser.parse_args()
    lines = section(args.spectateurs, args.vague)
    print("\n".join(lines))
    replace_section(lines, TITLE)


if __name__ == "__main__":
    main()
