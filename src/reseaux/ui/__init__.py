"""The Streamlit edge (the only package that imports Streamlit).

Pages call these functions and render what they return; the work itself lives in the plain
modules (filters, mapview, directory…). This face hands on the names pages use; each lives in
its own module: widgets, loading (cached loaders), sidebar (filters and page state), carte (the
main map page), upkeep (geocoding, quality, erasure, sources), and the pages' own modules.
"""

from reseaux.ui import auth
from reseaux.ui.carte import actor_table, header, nobody, show_map
from reseaux.ui.loading import (
    actors,
    directory_on_demand,
    load_or_stop,
    referential,
    referential_or_stop,
    territory,
    territory_or_stop,
)
from reseaux.ui.map_answers import answers as map_answers
from reseaux.ui.map_answers import filtered
from reseaux.ui.sidebar import apply_query, map_state, remember_query, seeding_query, sidebar
from reseaux.ui.upkeep import france_sources, geocoding_panel, privacy_panel, quality_now, quality_report, sources
from reseaux.ui.widgets import (
    FACET_LABELS,
    XLSX_MIME,
    choose_many,
    download,
    facet_select,
    page_style,
    progress_bar,
    skip_links,
    skip_target,
)

__all__ = [
    "FACET_LABELS",
    "XLSX_MIME",
    "actor_table",
    "actors",
    "apply_query",
    "auth",
    "choose_many",
    "directory_on_demand",
    "download",
    "facet_select",
    "filtered",
    "france_sources",
    "geocoding_panel",
    "header",
    "load_or_stop",
    "map_answers",
    "map_state",
    "nobody",
    "page_style",
    "privacy_panel",
    "progress_bar",
    "quality_now",
    "quality_report",
    "referential",
    "referential_or_stop",
    "remember_query",
    "seeding_query",
    "show_map",
    "sidebar",
    "skip_links",
    "skip_target",
    "sources",
    "territory",
    "territory_or_stop",
]
