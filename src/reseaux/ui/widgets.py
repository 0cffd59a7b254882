"""Widgets and styles every page uses the same way."""

from __future__ import annotations

import streamlit as st

from reseaux import audit
from reseaux.filters import FACETS
from reseaux.referential import Referential

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


def choose_many(label: str, options, **kwargs) -> list:
    """``st.multiselect`` without Streamlit's English « Select all » entry (no French for it)."""
    return st.multiselect(label, options, select_all=False, **kwargs)


def facet_select(ref: Referential, facet: str, key: str) -> list[str]:
    """The multiselect of one filter facet (themes, professions, types…), labels from the referential."""
    labels = ref.labels(FACETS[facet][1])
    return choose_many(FACET_LABELS[facet], list(labels), key=key, format_func=labels.get,
                       placeholder="Tous" if facet == "types" else "Toutes")


def download(where, label: str, data, file_name: str, mime: str, key: str, **options) -> None:
    """A download button that does not rerun the page: a rerun renews every file's address, and a
    second download clicked meanwhile would be cancelled by the browser. ``data`` may be a callable,
    then built only when clicked, and the download is then written in the audit trail (who and
    from where as this run says: the callable runs outside it)."""
    if callable(data):
        data = audited_export(data, file_name)
    where.download_button(label, data, file_name, mime, key=key, on_click="ignore", **options)


def audited_export(build, file_name: str):
    """``build`` (the bytes of a download), recording in the audit trail that it was downloaded."""
    who, client = audit.actor()

    def built():
        out = build()
        audit.record("export", who=who, client=client, fichier=file_name)
        return out
    return built


def progress_bar(bar):
    """A geocoding progress callback drawing on ``bar`` (an ``st.progress``)."""
    def update(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"Géocodage : {done} / {total}")
    return update
