"""Widgets and styles every page uses the same way."""

from __future__ import annotations

import logging
from pathlib import PurePath

import streamlit as st

from reseaux.acces import audit
from reseaux.analyse.filters import FACETS
from reseaux.annuaire.referential import Referential
from reseaux.text import fr_number

LOG = logging.getLogger("reseaux")

FACET_LABELS = {
    "themes": "Thématiques",
    "professions": "Professions",
    "types": "Types d'acteurs",
    "publics": "Publics",
    "modalites": "Modalités (toutes requises)",
    "accessibilite": "Accessibilité (toutes requises)",
}


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


#: Every page: less empty space above the title, so the map and tables come up sooner; no
#: « Press Enter to apply » under a text field (Streamlit's English; our placeholders say « Entrée »);
#: captions and their links dark enough to read (Streamlit fades them to 3.9:1 on white, axe-core asks
#: 4.5:1 — these are 6.6:1 and 8.6:1, and 6.2:1 on the sidebar's grey). A page's sections are
#: st.header (h2 under the page's h1: screen readers list them in order), drawn at a section's size.
#: What has the keyboard's focus wears a 3 px dark blue ring (#1a4a9c: 8.6:1 on white, 7.7:1 on the
#: sidebar's grey; WCAG 2.4.7 and 1.4.11 ask 3:1): Streamlit marks it with a half-transparent purple
#: shadow (2.0:1), the menu's links and the fields not at all. A field's ring is drawn on its frame
#: (the input itself is clipped inside it), a check box's around its label.
PAGE_CSS = """<style>
[data-testid="stApp"] :not(input, textarea):focus-visible,
[data-testid="stApp"] :is([data-testid$="RootElement"], [data-testid="stNumberInputContainer"],
                          .react-aria-ComboBox > [role="group"]):focus-within,
[data-testid="stApp"] label:has(input:focus-visible) {
  outline: 3px solid #1a4a9c !important; outline-offset: 2px; box-shadow: none;
}
[data-testid="stMain"] h2 { font-size: 1.55rem; }
[data-testid="stMainBlockContainer"] { padding-top: 2.2rem; }
[data-testid="stCaptionContainer"] { opacity: 1; color: #5c5b5a; }
[data-testid="stCaptionContainer"] a { color: #1a4a9c; }
[data-testid="InputInstructions"] { display: none; }
@media (max-width: 640px) { [data-testid="stMainBlockContainer"] { padding-top: 1.2rem; } }
</style>"""


def page_style() -> None:
    st.markdown(PAGE_CSS, unsafe_allow_html=True)


#: Skip links: out of sight until the keyboard reaches them, then a button at the top of the screen
#: (under Streamlit's fixed header, which would hide it on a phone);
#: they and their targets take no room (no gap on a phone): the links are out of the page's flow,
#: a target's height and the gap after it are nothing. A target stays in the flow, where it leads.
SKIP_CSS = """<style>
[data-testid="stElementContainer"]:has(.rx-skip) { position: absolute; z-index: 1000; width: max-content; }
[data-testid="stElementContainer"]:has(.rx-anchor) { margin-bottom: -1rem; }
.rx-anchor { height: 0; scroll-margin-top: 4.5rem; }  /* below Streamlit's fixed header */
.rx-anchor:focus { outline: none; }
.rx-skip a { position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }
.rx-skip a:focus { position: fixed; top: 4.25rem; left: 50%; transform: translateX(-50%); z-index: 1000000;
  width: auto; height: auto; display: inline-block;
  padding: .45rem .9rem; background: #3b1046; color: #fff; border-radius: .4rem; text-decoration: none;
  outline: 3px solid #1b1b1b; outline-offset: 2px; box-shadow: 0 0 0 5px #fff; }
</style>"""


def skip_links(*links: tuple[str, str]) -> None:
    """Links to parts of the page (``(anchor, French text)``), first in the page's Tab order after
    Streamlit's own: a keyboard goes to the map or the results without crossing what is before."""
    items = "".join(f'<a href="#{anchor}">{label}</a>' for anchor, label in links)  # constants, not typed text
    st.markdown(f'{SKIP_CSS}<nav class="rx-skip" aria-label="Accès rapide">{items}</nav>', unsafe_allow_html=True)


def skip_target(anchor: str) -> None:
    """Where a skip link leads (:func:`skip_links`): the next Tab goes to what follows it, which
    says what it is (no name here: ARIA allows none on a plain div, axe-core says so)."""
    st.markdown(f'<div class="rx-anchor" id="{anchor}" tabindex="-1"></div>', unsafe_allow_html=True)


def choose_many(label: str, options, **kwargs) -> list:
    """``st.multiselect`` without Streamlit's English « Select all » entry (no French for it)."""
    return st.multiselect(label, options, select_all=False, **kwargs)


def facet_select(ref: Referential, facet: str, key: str) -> list[str]:
    """The multiselect of one filter facet (themes, professions, types…), labels from the referential."""
    labels = ref.labels(FACETS[facet][1])
    return choose_many(
        FACET_LABELS[facet],
        list(labels),
        key=key,
        format_func=labels.get,
        placeholder="Tous" if facet == "types" else "Toutes",
    )


def download(where, label: str, data, file_name: str, mime: str, key: str, **options) -> None:
    """A download button that does not rerun the page: a rerun renews every file's address, and a
    second download clicked meanwhile would be cancelled by the browser. ``data`` may be a callable,
    then built only when clicked, and the download is then written in the audit trail (who and
    from where as this run says: the callable runs outside it)."""
    if callable(data):
        data = audited_export(data, file_name)
    where.download_button(label, data, file_name, mime, key=key, on_click="ignore", **options)


def audited_export(build, file_name: str):
    """``build`` (the bytes of a download), recording in the audit trail that it was downloaded.
    A build that fails gives a file saying so in French (the error goes to the server's log),
    in the download's format: Streamlit would show its own message, in English (« Failed to
    generate file for download »)."""
    who, client = audit.actor()
    kind = PurePath(file_name).suffix.lstrip(".").lower()

    def built():
        try:
            out = build()
        except Exception:
            if kind not in NOTICE_KINDS:
                raise
            LOG.exception("téléchargement « %s » : le fichier n'a pas pu être préparé", file_name)
            return notice_file(kind, NOT_BUILT)
        audit.record("export", who=who, client=client, fichier=file_name)
        return out

    return built


#: What a download whose file could not be built holds instead.
NOT_BUILT = (
    "Le fichier n'a pas pu être préparé : une erreur est survenue sur le serveur. Rechargez la page, "
    "puis téléchargez de nouveau ; si cela recommence, prévenez l'administrateur du site."
)
#: The formats of the directory's downloads, in which a file can say what happened instead.
NOTICE_KINDS = ("csv", "xlsx", "geojson")


def notice_file(kind: str, message: str) -> bytes:
    """A download's file that holds ``message`` instead of its rows, in its format (``kind``, one
    of :data:`NOTICE_KINDS`): a table of one column « Message », or an empty GeoJSON collection
    with a ``message`` member."""
    import json

    import pandas as pd

    from reseaux.annuaire.exports import table_csv_bytes, table_xlsx_bytes

    if kind == "geojson":
        return json.dumps({"type": "FeatureCollection", "features": [], "message": message}, ensure_ascii=False).encode(
            "utf-8"
        )
    notice = pd.DataFrame({"Message": [message]})
    return table_xlsx_bytes(notice, "Message") if kind == "xlsx" else table_csv_bytes(notice)


def progress_bar(bar):
    """A geocoding progress callback drawing on ``bar`` (an ``st.progress``)."""

    def update(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"Géocodage : {fr_number(done)} / {fr_number(total)}")

    return update


def whole_file_refused(count: int) -> str | None:
    """Why a list of ``count`` actors is not offered as an Excel workbook nor GeoJSON (beyond
    ``annuaire.exports.WHOLE_FILE_MAX``; the CSV holds any number); None: they are offered."""
    from reseaux.annuaire import exports

    if count <= exports.WHOLE_FILE_MAX:
        return None
    return (
        f"Au-delà de {fr_number(exports.WHOLE_FILE_MAX)} acteurs ({fr_number(count)} ici), la liste se "
        "télécharge en CSV seulement (Excel l'ouvre aussi) : filtrez-la pour un classeur Excel."
    )
