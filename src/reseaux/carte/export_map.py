"""Exports of a map view that work anywhere: one standalone HTML file, a PNG, a text alternative.

The HTML file carries Leaflet, its plugins, the layers, the legend and the actors inline: it
opens from disk with no server and no internet (only the background tiles need the network).
The PNG is that file rendered by headless Chromium when it is installed.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from reseaux.annuaire.referential import Referential
from reseaux.carte.assets import URL_PREFIX, vendor_path
from reseaux.carte.mapbits import MAP_MODULE_ID, map_module
from reseaux.markup import render, text
from reseaux.territoire.layers import LayerSpec
from reseaux.text import fr_number, plural

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


#: What an image for a slide leaves out, put in the page just before the shot: every Leaflet control
#: but the legend, the scale and the attribution (the sources stay credited), and the « Texte
#: alternatif » toggle, whose text is offered beside the image's download instead.
SHOT_CSS = """
.leaflet-control-container .leaflet-control:not(.leaflet-control-scale):not(.leaflet-control-attribution):not(:has(.rx-legend)),
.rx-alt { display: none !important; }
"""


class ExportError(RuntimeError):
    """An export could not be made; the message says why and what to do, in French."""


class ChromiumMissing(ExportError):
    """No headless Chromium here: the PNG export cannot run. The message says what to install."""


class MapTitle(MacroElement):
    """A large title and subtitle over the map (top centre), readable from a shared screen."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .rx-title { position:absolute; z-index:1000; top:12px; left:50%; transform:translateX(-50%);
            background:rgba(255,255,255,.94); padding:10px 22px; border-radius:8px; text-align:center;
            box-shadow:0 1px 6px rgba(0,0,0,.3); font-family:system-ui,sans-serif; max-width:70%; }
          .rx-title h1 { margin:0; font-size:26px; color:#3b1046; }
          .rx-title p { margin:4px 0 0; font-size:16px; color:#333; }
          @media (max-width: 560px) {  /* between the zoom buttons and the layers' button, smaller */
            .rx-title { top:10px; max-width:calc(100% - 130px); padding:6px 10px; }
            .rx-title h1 { font-size:17px; }
            .rx-title p { font-size:13px; }
          }
          .rx-alt { position:absolute; z-index:999; left:10px; bottom:64px; max-width:380px; max-height:40%;
            overflow:auto; background:rgba(255,255,255,.95); border-radius:6px; padding:4px 10px;
            font:12px/1.4 system-ui,sans-serif; box-shadow:0 1px 4px rgba(0,0,0,.3); }
          .rx-alt[open] { z-index:1001; }  /* closed, under an opened legend; open, over it */
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div class="rx-title" id="{{ this.get_name() }}"><h1>{{ this.title }}</h1>
          {% if this.subtitle %}<p>{{ this.subtitle }}</p>{% endif %}</div>
        {% if this.alt_text %}<details class="rx-alt"><summary>Texte alternatif : ce que montre la carte</summary>
          <pre style="white-space:pre-wrap;font:inherit">{{ this.alt_text }}</pre></details>{% endif %}
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function (map, banner) {
          /* A popup (a fiche) pans the map until its top is below the title, which would hide its
             name: its top padding is the banner's bottom, measured again when the window changes. */
          function padding() {
            var top = banner.getBoundingClientRect().bottom - map.getContainer().getBoundingClientRect().top;
            L.Popup.prototype.options.autoPanPaddingTopLeft = L.point(5, Math.max(5, Math.ceil(top) + 8));
          }
          /* The text alternative's toggle sits above the left corner (the scale), which every map
             raises above the sources when they share the bottom (FrenchControls: « rx:bottom »). */
          function clearAlt() {
            var box = map.getContainer().getBoundingClientRect();
            var left = map.getContainer().querySelector(".leaflet-bottom.leaflet-left");
            var alt = document.querySelector(".rx-alt");
            if (left && alt && left.getBoundingClientRect().height) {
              alt.style.bottom = Math.ceil(box.bottom - left.getBoundingClientRect().top) + 6 + "px";
            }
          }
          padding();
          clearAlt();
          map.on("rx:bottom", clearAlt);
          window.addEventListener("resize", padding);
        })({{ this._parent.get_name() }}, document.getElementById("{{ this.get_name() }}"));
        {% endmacro %}
        """
    )

    def __init__(self, title: str, subtitle: str = "", alt_text: str = "") -> None:
        super().__init__()
        self._name = "MapTitle"
        # folium's templates do not escape: the values arrive as text made safe by reseaux.markup.
        self.title = text(title)
        self.subtitle = text(subtitle)
        self.alt_text = text(alt_text)


def alt_text(
    title: str,
    sentence: str,
    actors: pd.DataFrame,
    layers: Sequence[LayerSpec],
    referential: Referential,
    *,
    limit: int = 200,
) -> str:
    """What the map shows, as plain text: the text alternative under every exported image."""
    lines = [title, sentence, f"{plural(len(actors), 'acteur affiché', 'acteurs affichés')}."]
    counts = actors["type"].value_counts() if len(actors) else pd.Series(dtype=int)
    for code, count in counts.items():
        lines.append(f"- {referential.label('type', code)} : {fr_number(count)}")
    if layers:
        lines.append("Périmètres : " + ", ".join(s.label for s in layers) + ".")
    lines.append("Acteurs :")
    for row in actors.head(limit).itertuples():
        role = (
            referential.label("profession", row.profession) if row.profession else referential.label("type", row.type)
        )
        lines.append(f"- {row.nom} — {role}{', ' + row.commune if row.commune else ''}")
    if len(actors) > limit:
        lines.append(f"… et {plural(len(actors) - limit, 'autre')} (voir l'export CSV).")
    return "\n".join(lines)


def standalone_html(fmap: folium.Map, *, title: str, subtitle: str = "", alt: str = "") -> str:
    """Render ``fmap`` as one self-contained HTML file (scripts, styles and icons inlined)."""
    MapTitle(title, subtitle, alt).add_to(fmap)
    page = fmap.get_root().render()
    page = re.sub(r'<script src="([^"]+)"></script>', _inline_script, page)
    page = re.sub(r'<link rel="stylesheet" href="([^"]+)"/>', _inline_style, page)
    head = render(
        '<meta http-equiv="Content-Security-Policy" content="{{ policy }}">\n<title>{{ title }}</title>',
        policy=export_policy(page),
        title=title,
    )
    page = re.sub(r"<html>", '<html lang="fr">', page, count=1)
    return page.replace("<head>", f"<head>\n{head}", 1)


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S)


def export_policy(page: str) -> str:
    """The Content-Security-Policy of a standalone export: its own inline scripts only (each
    named by its SHA-256, and the map's module its script adds: :class:`reseaux.carte.mapbits.MapModule`),
    no other script, no event-handler attribute, no request but the
    tiles' images; a script slipped into the page by some text would not run."""
    codes = _INLINE_SCRIPT.findall(page)
    if MAP_MODULE_ID in page:  # the map's module, put in the page by the map's own script
        codes.append(map_module())
    hashes = sorted(
        {"'sha256-" + base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode() + "'" for code in codes}
    )
    return (
        "default-src 'none'; script-src " + " ".join(hashes) + "; style-src 'unsafe-inline'; "
        "img-src data: blob: https:; font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _inline_script(match: re.Match) -> str:
    url = match.group(1)
    if not url.startswith(URL_PREFIX):
        return match.group(0)
    code = vendor_path(url).read_text(encoding="utf-8").replace("</script", "<\\/script")
    return f"<script>{code}</script>"


def _inline_style(match: re.Match) -> str:
    url = match.group(1)
    if not url.startswith(URL_PREFIX):
        return match.group(0)
    path = vendor_path(url)
    css = path.read_text(encoding="utf-8")

    def data_uri(found: re.Match) -> str:
        image = path.parent / found.group(1)
        if not image.exists():
            return found.group(0)
        return f"url(data:image/png;base64,{base64.b64encode(image.read_bytes()).decode()})"

    css = re.sub(r"url\((images/[^)]+\.png)\)", data_uri, css)
    return f"<style>{css}</style>"


def shown_perimeters(layers: dict[str, gpd.GeoDataFrame], specs: Sequence[LayerSpec]) -> gpd.GeoDataFrame:
    """The perimeters of the layers ``specs`` in one table, with the layer's name (« couche »)."""
    frames = [layers[s.id].assign(couche=s.label) for s in specs]
    if not frames:
        return gpd.GeoDataFrame({"couche": []}, geometry=gpd.GeoSeries([]), crs="EPSG:4326")
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)


#: French headers of the perimeters' table as people download it, in this order (other columns after).
PERIMETER_HEADERS = {"couche": "Couche", "code": "Code", "nom": "Nom", "population": "Population"}


def perimeters_for_people(perimeters: pd.DataFrame) -> pd.DataFrame:
    """The table of :func:`shown_perimeters` for a spreadsheet: no geometry, the layer's name first,
    French headers (« Couche », « Code », « Nom », « Population »)."""
    table = pd.DataFrame(perimeters.drop(columns="geometry", errors="ignore"))
    first = [c for c in PERIMETER_HEADERS if c in table.columns]
    table = table[first + [c for c in table.columns if c not in first]]
    return table.rename(columns=PERIMETER_HEADERS)


def chromium_path() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def render_png(page: str, *, width: int = 1600, height: int = 1000) -> bytes:
    """Render a standalone map page to PNG with headless Chromium (network cut but for tiles).

    Raises :class:`ChromiumMissing` when Chromium or Playwright is not installed, and
    :class:`ExportError` when Chromium fails to draw the page.
    """
    executable = chromium_path()
    if executable is None:
        raise ChromiumMissing(
            "L'export en image a besoin de Chromium (paquet Debian « chromium ») : "
            "installez-le, ou exportez la carte en HTML et faites une capture d'écran."
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # the production install leaves Playwright out unless asked (extra « image »)
        raise ChromiumMissing(
            "L'export en image a besoin de Playwright, que l'installation de production "
            "n'apporte pas : installez l'extra « image » (pip install -e \".[image]\" dans le "
            "dossier de l'application), ou exportez la carte en HTML et faites une capture "
            "d'écran."
        ) from exc
    # In a thread of its own: Playwright's sync API refuses a thread that runs an event loop.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(_render, sync_playwright, executable, page, width, height).result()
        except Exception as exc:  # Playwright's errors (launch, timeout) carry English traces: say it in French
            raise ExportError(
                "Chromium n'a pas pu dessiner l'image (" + type(exc).__name__ + ") : réessayez ; "
                "si cela recommence, exportez la carte en HTML et faites une capture d'écran."
            ) from exc


#: How the page draws its actors (:class:`reseaux.carte.actor_layer.ActorCluster`): the picture
#: waits for that layer's first drawing, a condition, not a guess of time (1.2 s were waited
#: before: on a busy machine the clusters could be missing from the PNG).
ACTORS_CALL = "rx.actorCluster("
#: No CSS animation or transition under way (a zoom, a fade): the picture is not taken mid-move.
SETTLED = "() => document.getAnimations().every((a) => a.playState !== 'running')"


def _render(sync_playwright, executable: str, page: str, width: int, height: int) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "carte.html"
        path.write_text(page, encoding="utf-8")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            try:
                view = browser.new_page(viewport={"width": width, "height": height})
                view.goto(path.as_uri())
                view.wait_for_selector(".leaflet-container", timeout=30_000)
                if ACTORS_CALL in page:  # the actors' layer (an ES module, loaded after): drawn once
                    view.wait_for_selector(".leaflet-container[data-rx-acteurs]", state="attached", timeout=30_000)
                view.wait_for_function(SETTLED, timeout=30_000)
                view.add_style_tag(content=SHOT_CSS)
                return view.screenshot(type="png")
            finally:
                browser.close()
