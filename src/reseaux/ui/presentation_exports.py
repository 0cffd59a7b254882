"""Streamlit widgets of « Exporter cette vue » on the Présentation page: the map as a standalone
HTML file and a PNG with its text alternative, the actors and perimeters shown as CSV, Excel and
GeoJSON, and the code that embeds a scene in a partner's site.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from reseaux.acces.access import EXPORT_NOTICE, exportable_actors
from reseaux.analyse.filters import ActorFilter
from reseaux.annuaire.exports import (
    table_csv_bytes,
    table_xlsx_bytes,
    to_geojson_bytes,
)
from reseaux.annuaire.listing import people_table
from reseaux.annuaire.referential import Referential
from reseaux.app_data import Territory
from reseaux.carte.export_map import (
    ExportError,
    alt_text,
    perimeters_for_people,
    shown_perimeters,
    standalone_html,
)
from reseaux.carte.mapview import MapView, build_map
from reseaux.carte.png_turn import render_png_in_turn
from reseaux.carte.scenes import Scene, fill_count
from reseaux.markup import render
from reseaux.text import fr_number, md_escape, plural
from reseaux.ui import XLSX_MIME as XLSX
from reseaux.ui import auth
from reseaux.ui import download as _plain_download
from reseaux.ui.loading import changed_since, of_this_version
from reseaux.ui.map_answers import MapAnswers
from reseaux.ui.widgets import whole_file_refused


def _download(where, label: str, data: bytes, *args, **options) -> None:
    """An export button filling its column; its bytes, made already, given as a callable so that
    the download is written in the audit trail."""
    _plain_download(where, label, lambda: data, *args, width="stretch", **options)


def exports(
    ref: Referential,
    terr: Territory,
    shown: MapAnswers,
    flt: ActorFilter,
    view: MapView,
    scene: Scene | None,
    counts: dict[str, int],
) -> None:
    """The current view (``shown``: what ``flt`` keeps) as a standalone HTML file, a PNG with its
    text alternative, tables; and the code to embed ``scene`` in a partner's site (its title's
    « {n} » written with ``counts``). The fiches are read when an export is asked for, not at every
    run (on PostgreSQL, from the database then)."""
    notice = st.session_state.pop("pr_notice", None)
    if notice:
        st.error(notice)
    st.header("Exporter cette vue")
    role = auth.current()[0]
    count = shown.exported(role)
    if count < shown.count:  # members' fiches shown, which this person may not take away
        st.caption(EXPORT_NOTICE)
    version = st.session_state.get("_directory_source")

    def exported() -> pd.DataFrame:
        """The fiches this person may take away, as the app reads them."""
        return exportable_actors(shown.listed(None), role)

    if "pr_export_title" not in st.session_state:
        st.session_state["pr_export_title"] = terr.title
    raw_title = st.text_input(
        "Titre de l'export",
        key="pr_export_title",
        help="« {n} » s'écrit « 118 partenaires » (le nombre d'acteurs exportés).",
    )
    title = fill_count(raw_title, count) or terr.title
    layers = [terr.spec(i) for i in view.layers]
    # What was prepared is for this view of this version: a save since starts afresh.
    made = _prepared(json.dumps([title, flt.to_query(), view.to_query(), role, version, count], default=str))

    def page() -> str:
        if "html" not in made:
            actors = exported()
            made["alt"] = alt_text(title, shown.sentence, actors, layers, ref)
            fmap = build_map(
                actors,
                terr.layers,
                terr.specs,
                view,
                ref,
                terr.opening_bounds(actors),
                places=terr.places(actors),
            )
            made["html"] = standalone_html(fmap, title=title, subtitle=shown.sentence, alt=made["alt"])
        return made["html"]

    st.markdown("**La carte**")
    too_many = count > MAP_EXPORT_MAX
    if too_many:
        made.pop("want_html", None)
        made.pop("want_png", None)
        st.caption(
            f"La carte autonome et l'image tiennent au plus {fr_number(MAP_EXPORT_MAX)} acteurs "
            f"(la vue en montre {fr_number(count)}) : filtrez-la (thématique, commune, périmètre…) pour "
            "les préparer. Les tableaux ci-dessous tiennent tous les acteurs."
        )
    cols = st.columns(2)
    # Built on request only (inlining Leaflet and the data is not work for every rerun). The
    # request is remembered by the button's callback, not read from its value: a rerun that
    # interrupts the work (the map reporting its view) does it again instead of losing it.
    cols[0].button(
        "Préparer la carte autonome (.html)",
        key="pr_html_make",
        width="stretch",
        disabled=too_many,
        help="Un seul fichier : s'ouvre sans serveur ni internet (sauf le fond de carte).",
        on_click=_want,
        args=("html",),
    )
    cols[1].button(
        "Préparer l'image (.png)",
        key="pr_png_make",
        width="stretch",
        disabled=too_many,
        help="La même carte, avec son titre et sa légende, en image de 1 600 × 1 000 pixels.",
        on_click=_want,
        args=("png",),
    )
    if made.get("want_html") or made.get("want_png"):
        with st.spinner("Préparation de la carte autonome…"):
            page()
    if "html" in made:
        _download(
            cols[0],
            "Télécharger la carte (.html)",
            made["html"].encode("utf-8"),
            "carte_reseau.html",
            "text/html",
            "pr_html_dl",
            icon=":material/download:",
        )
    if made.get("want_png") and "png" not in made:
        with st.spinner("Chromium dessine l'image (quelques secondes)…"):
            waiting = st.empty()  # « en attente » while another session's image is drawn (one at a time)
            try:
                made["png"] = render_png_in_turn(page(), on_wait=waiting.info)
            except ExportError as exc:
                made.pop("want_png")
                st.error(str(exc))
            waiting.empty()
    if "png" in made:
        _download(
            cols[1],
            "Télécharger l'image (.png)",
            made["png"],
            "carte_reseau.png",
            "image/png",
            "pr_png_dl",
            icon=":material/download:",
        )
        alt = made["alt"]
        _download(
            cols[1],
            "Texte alternatif de l'image (.txt)",
            alt.encode("utf-8"),
            "carte_reseau.txt",
            "text/plain",
            "pr_alt_txt",
        )
        st.image(made["png"], caption="Aperçu de l'image exportée", alt=alt)
        with st.expander("Texte alternatif de l'image (ce que montre la carte)"):
            st.text(alt)
    _tables(ref, terr, shown, count, exported, layers, version)
    if scene is not None:
        _embed_code(scene, scene.title_for(counts.get(scene.id, 0)))


#: Actors a standalone map or its image holds at most: each carries its fiche in the file, and a
#: national directory's (a million fiches) was read whole in the server and written into one page
#: of hundreds of megabytes, at any visitor's click.
MAP_EXPORT_MAX = 50_000


def _want(what: str) -> None:
    st.session_state.setdefault("pr_made", {})[f"want_{what}"] = True


def _prepared(signature: str) -> dict:
    """What was prepared for this exact view (title, filters, layers, role); a new view starts afresh."""
    made = st.session_state.get("pr_made") or {}
    if made.get("signature") != signature:
        # Another view: start afresh, keeping only a request made before any view was recorded.
        asked = {k: v for k, v in made.items() if k.startswith("want_")} if "signature" not in made else {}
        made = st.session_state["pr_made"] = {"signature": signature, **asked}
    return made


def _tables(
    ref: Referential,
    terr: Territory,
    answers: MapAnswers,
    count: int,
    exported: Callable[[], pd.DataFrame],
    shown: list,
    version,
) -> None:
    """The actors shown (read when a table is clicked, of the version this run showed: the CSV a
    part at a time, Excel and GeoJSON up to ``exports.WHOLE_FILE_MAX`` actors) and the perimeters shown,
    as CSV, Excel and GeoJSON."""
    st.markdown(f"**Les acteurs affichés** ({plural(count, 'acteur')})")
    cols = st.columns(3)
    role = auth.current()[0]
    offered = [(cols[0], "Acteurs (CSV)", lambda: answers.exported_csv(ref, role), "acteurs.csv", "text/csv", "pr_csv")]
    refused = whole_file_refused(count)
    if refused:
        cols[1].caption(refused)
    else:
        offered += [
            (
                cols[1],
                "Acteurs (Excel)",
                lambda: table_xlsx_bytes(people_table(exported(), ref), "Acteurs"),  # as the map's list
                "acteurs.xlsx",
                XLSX,
                "pr_xlsx",
            ),
            (
                cols[2],
                "Acteurs (GeoJSON)",
                lambda: to_geojson_bytes(exported()),
                "acteurs.geojson",
                "application/geo+json",
                "pr_geojson",
            ),
        ]
    for where, label, build, name, mime, key in offered:
        kind = name.rsplit(".", 1)[1]
        _plain_download(
            where, label, of_this_version(build, changed_since(kind), version), name, mime, key, width="stretch"
        )
    if not shown:
        return
    perimeters = shown_perimeters(terr.layers, shown)
    table = perimeters_for_people(perimeters)
    st.markdown(f"**Les périmètres affichés** ({plural(len(table), 'périmètre')})")
    cols = st.columns(3)
    _download(cols[0], "Périmètres (CSV)", table_csv_bytes(table), "perimetres.csv", "text/csv", "pr_p_csv")
    _download(
        cols[1], "Périmètres (Excel)", table_xlsx_bytes(table, "Périmètres"), "perimetres.xlsx", XLSX, "pr_p_xlsx"
    )
    _download(
        cols[2],
        "Périmètres (GeoJSON)",
        perimeters.to_json(drop_id=True).encode("utf-8"),
        "perimetres.geojson",
        "application/geo+json",
        "pr_p_geojson",
    )


def _embed_code(scene: Scene, title: str) -> None:
    page_url = str(st.context.url or "").rstrip("/")
    base = page_url.removesuffix("/presentation")
    url = f"{base}/presentation?" + urlencode({"scene": scene.id, "plein_ecran": "1", "embed": "true"})
    st.markdown(
        f"**Intégrer la scène « {md_escape(title)} » dans un site partenaire** (plein écran, sans "
        "barre latérale ni menus ; les flèches ← → passent d'une scène à l'autre). Copiez ce code "
        "(bouton à droite du cadre) :"
    )
    st.code(
        render(
            '<iframe src="{{ url }}" width="100%" height="800" style="border:0" title="{{ title }}" '
            'allow="fullscreen"></iframe>',
            url=url,
            title=title,
        ),
        language="html",
        wrap_lines=True,
    )
