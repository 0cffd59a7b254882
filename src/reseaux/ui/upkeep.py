"""Keeping the directory good: geocoding, the quality report and its recoding, GDPR erasure, and
the sources and credits of the data."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import streamlit as st

from reseaux import config
from reseaux.annuaire.directory import DirectoryError
from reseaux.annuaire.fields import today
from reseaux.annuaire.listing import column_label, issues_table, with_labels
from reseaux.annuaire.quality import Quality, of_directory
from reseaux.annuaire.referential import Referential
from reseaux.app_data import Actors, Territory
from reseaux.text import fold, fr_number, md_escape, plural
from reseaux.ui.widgets import progress_bar


def sources(terr: Territory) -> None:
    """Sources, licences and vintages of every layer: the attribution the data requires."""
    rows = [
        {"Couche": s.label, "Groupe": s.group, "Source": s.source, "Licence": s.licence, "Millésime": s.vintage}
        for s in terr.specs
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if terr.broken:
        st.header("Couches écartées")
        st.caption(
            "Déclarées dans le registre mais inutilisables : corrigez le registre (ou le fichier), "
            "la couche revient au prochain démarrage."
        )
        st.dataframe(pd.DataFrame(terr.broken, columns=["Couche", "Raison"]), hide_index=True, width="stretch")
    st.header("Référentiel national")
    st.caption(
        "Sert à placer une adresse à sa commune hors ligne, à retrouver la commune d'un acteur "
        "d'après sa position, et à dessiner le territoire du réseau, partout en France."
    )
    st.dataframe(pd.DataFrame(france_sources()), hide_index=True, width="stretch")


def france_sources() -> list[dict[str, str]]:
    """The national reference data and where it comes from (the packages actually built)."""
    import json

    from reseaux.territoire import france

    built = france.folder() / france.SOURCES
    info = json.loads(built.read_text(encoding="utf-8")) if built.exists() else {}
    absent = "non construit (lancez « make setup »)"
    return [
        {
            "Données": f"{fr_number(info.get('communes', 0))} communes : codes postaux, EPCI, anciennes communes",
            "Source": f"INSEE, COG, via {info.get('cog', absent)}",
            "Licence": "Licence Ouverte / Etalab 2.0",
            "Millésime": "COG 2026",
        },
        {
            "Données": "Contours des communes, mairies" + _corrected_halls(info.get("mairies")),
            "Source": f"IGN ADMIN EXPRESS, annuaire de l'administration, via {info.get('outlines', absent)}",
            "Licence": "Licence Ouverte / Etalab 2.0",
            "Millésime": "2024–2025",
        },
        {
            "Données": "QPV 2024 de toute la France",
            "Source": "ANCT (via bpineau/gazetteer), arrondis à 11 m",
            "Licence": "Licence Ouverte / Etalab 2.0",
            "Millésime": "2024",
        },
        {
            "Données": "Codes CEDEX (non exhaustif)",
            "Source": "INSEE SIRENE (via cquest/geocodage-spd)",
            "Licence": "Licence Ouverte",
            "Millésime": "2017",
        },
    ]


def _corrected_halls(counts: dict[str, int] | None) -> str:
    """What the build corrected in the source's town halls (``france.build``), in words."""
    if not counts:
        return ""
    moved, inner, missing = counts.get("rapprochee", 0), counts.get("point_interieur", 0), counts.get("absente", 0)
    return (
        f" — {fr_number(moved + inner)} mairies hors de leur commune dans la source, corrigées "
        f"({fr_number(moved)} à moins de 1 km rapprochées du contour, {fr_number(inner)} plus loin remplacées "
        f"par un point intérieur) ; {fr_number(missing)} communes sans mairie placées à un point intérieur"
    )


def quality_now(ref: Referential, held: Callable[[], Actors]) -> Quality:
    """What Qualité shows: on PostgreSQL, asked of the database at the version shown (the process
    holds the rows named, never the directory: ``readings.quality``); else, or when it cannot
    answer now, of the directory in memory (``held()``, read then)."""
    from reseaux.app_data import reading_key
    from reseaux.ui.loading import directory_store
    from reseaux.ui.map_answers import at_version

    found = at_version(ref, lambda version: _asked(directory_store().url, reading_key(ref), version, today(), _ref=ref))
    return found if found is not None else of_directory(held().directory)


@st.cache_resource(show_spinner=False, max_entries=4)
def _asked(url: str, key: str, version: str, day: date, *, _ref: Referential) -> Quality:
    """Qualité of ``version``, once a day per process (a warning on a date is judged on the day)."""
    from reseaux.stockage import readings
    from reseaux.ui.loading import directory_store

    return readings.quality(directory_store(), _ref, key, version)


def geocoding_panel(quality: Quality, who: str) -> None:
    """Geocode the actors without a precise position, with a progress bar and the summary.

    Geocoded and saved as the command line does (:func:`~reseaux.territoire.geocode_file.geocode_file`):
    under the lock, refused if the file changed, backed up and written to the journal in the
    name of ``who``; a problem is given its spreadsheet line.
    """
    from reseaux.annuaire.store import ConflictError
    from reseaux.territoire.geocode_file import geocode_file

    todo = quality.unplaced + quality.approximate
    st.header("Géocodage")
    st.caption(f"Géocodeur : {config.get('geocoder_url')} — les positions « manuel » ne sont jamais modifiées.")
    offline = st.checkbox("Hors ligne : placer les adresses à leur commune", key="geo_offline")
    if not st.button(
        f"Géocoder {plural(todo, 'acteur sans position précise', 'acteurs sans position précise')}",
        disabled=todo == 0 and not len(quality.rejected),
    ):
        return
    bar = st.progress(0.0, text="Géocodage…")
    try:
        summary = geocode_file(None, offline=offline, progress=progress_bar(bar), who=who)
    except ConflictError as exc:
        st.error(str(exc))
        return
    except (DirectoryError, OSError) as exc:
        st.error(f"Géocodage impossible : {md_escape(str(exc))}")  # it may quote the file's headers
        return
    (st.warning if summary.offline else st.success)(summary.sentence())
    if summary.problems:
        st.dataframe(pd.DataFrame(summary.problems, columns=["Ligne", "Problème"]), hide_index=True, width="stretch")


def quality_report(quality: Quality, ref: Referential | None = None) -> None:
    """Counts, every problem by spreadsheet line, the rows kept aside, and the values to recode."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Acteurs chargés", fr_number(quality.loaded))  # « 12 345 », not « 12345 »
    c2.metric("Lignes écartées", fr_number(len(quality.rejected)))
    c3.metric("Sans position", fr_number(quality.unplaced))
    c4.metric("Avertissements", fr_number(quality.warnings))
    if quality.hidden:
        st.info(quality.hidden, icon=":material/visibility_off:")
    if done := st.session_state.pop("recode_done", None):
        st.success(done)
    if not quality.issues:
        st.success("Aucun problème : toutes les lignes sont utilisables.")
        return
    if ref is not None:
        _recode_panel(quality.issues, ref)
    st.header("Problèmes, par ligne du tableur")
    st.dataframe(issues_table(quality.issues), hide_index=True, width="stretch")
    if len(quality.rejected):
        st.header("Lignes écartées (conservées ici, à corriger dans le fichier)")
        st.dataframe(with_labels(quality.rejected), hide_index=True, width="stretch")


def _recode_panel(issues, ref: Referential) -> None:
    """Values the referential does not know, with their counts; recode one as a synonym of a code."""
    from reseaux.annuaire.referential import add_synonym, unrecognised_values

    values = unrecognised_values(issues, ref)
    if not values:
        return
    st.header("Valeurs non reconnues")
    st.caption(
        "Gardées telles qu'écrites et montrées sur les fiches, mais aucun filtre ne les retient. "
        "Recodez-en une : le choix est retenu comme synonyme dans le référentiel, pour ce fichier "
        "et tous les suivants."
    )
    st.dataframe(
        pd.DataFrame([{"Colonne": column_label(c), "Valeur": v, "Lignes": n} for c, _, v, n in values]),
        hide_index=True,
        width="stretch",
    )
    chosen = st.selectbox(
        "Valeur à recoder",
        range(len(values)),
        key="recode_value",
        index=None,
        format_func=lambda i: f"{column_label(values[i][0])} : « {values[i][2]} » ({values[i][3]})",
        placeholder="Choisir une valeur",
    )
    if chosen is None:
        return
    _column, category, value, count = values[chosen]
    labels = ref.labels(category)
    suggestion = ref.suggest(category, value)
    codes = list(labels)
    default = next((i for i, c in enumerate(codes) if labels[c] == suggestion), None)
    code = st.selectbox(
        "Code du référentiel",
        codes,
        index=default,
        key=f"recode_code_{chosen}",
        format_func=labels.get,
        placeholder="Choisir un code",
    )
    if st.button("Retenir comme synonyme", type="primary", disabled=code is None, key="recode_go"):
        try:
            add_synonym(config.path("referential"), category, code, value)
        except ValueError as exc:
            st.error(f"Non retenu : {exc}.")
            return
        st.cache_resource.clear()
        st.session_state["recode_done"] = (
            f"« {value} » est maintenant un synonyme de « {labels[code]} » "
            f"({plural(count, 'ligne reconnue', 'lignes reconnues')})."
        )
        st.rerun()


#: Fiches an erasure's search offers at once: a person asks by her name, a coordinator narrows it.
ERASABLE_SHOWN = 50

#: The erasure's search of a directory read in memory, by the :class:`Directory` it searches
#: (``id``), while that reading is held: every fiche's name, structure and address folded once, at
#: the first search (seconds at 100,000 fiches), not again at each search typed.
_SEARCHED: dict[int, object] = {}


def _searched(directory, ref: Referential):
    """The :class:`~reseaux.annuaire.fiche_service.FrameRows` the erasure searches ``directory``
    through, kept with it (:data:`_SEARCHED`; gone when the reading is)."""
    from reseaux.annuaire.fiche_service import FrameRows

    key = id(directory)
    rows = _SEARCHED.get(key)
    if rows is None or rows.frame is not directory.actors or rows.referential is not ref:
        if key not in _SEARCHED:
            weakref.finalize(directory, _SEARCHED.pop, key, None)
        rows = _SEARCHED[key] = FrameRows(directory.actors, ref)
    return rows


def erasable(ref: Referential, held: Callable[[], Actors], text: str) -> list[tuple[str, str]]:
    """The fiches (identifier, name) whose identifier is ``text`` or whose name, structure and
    address (as the fiche shows them, folded) hold each of its words, in the directory's order, at
    most :data:`ERASABLE_SHOWN`: on PostgreSQL asked of the database at the version shown (its
    text index; the list of a million fiches was read to offer them all), else of the directory
    in memory (``held()``)."""
    from reseaux.app_data import reading_key
    from reseaux.stockage import directory_index
    from reseaux.ui.loading import directory_store
    from reseaux.ui.map_answers import at_version

    wanted, words = text.strip(), fold(text).split()
    if not wanted:
        return []
    found = at_version(
        ref,
        lambda version: directory_index.named(
            directory_store(), ref, reading_key(ref), version, wanted, words, ERASABLE_SHOWN
        ),
    )
    if found is not None:
        return found
    directory = held().directory
    table = directory.actors
    rows = set(np.flatnonzero((table["id"].astype(str) == wanted).to_numpy(dtype=bool)).tolist())
    if words:
        rows.update(_searched(directory, ref).find(words, len(table)))
    chosen = table.iloc[sorted(rows)[:ERASABLE_SHOWN]]  # only these as Python strings, not every id
    return list(zip(chosen["id"].astype(str).tolist(), chosen["nom"].astype(str).tolist(), strict=True))


def privacy_panel(who: str, ref: Referential, held: Callable[[], Actors]) -> None:
    """Erase a fiche for good (file, backups, journal content, caches, map tokens), after
    confirmation, the fiche found by its name or identifier (:func:`erasable`); an erasure cut
    short is offered to be finished."""
    from reseaux.annuaire.privacy import ErasureIncomplete, erase
    from reseaux.ui.loading import forget_directories

    st.header("Supprimer définitivement une fiche")
    text = st.text_input("Chercher la fiche : nom, structure, adresse ou identifiant", key="gdpr_q", max_chars=200)
    found = erasable(ref, held, text)
    labels = dict(found)
    if text.strip() and not found:
        st.info(f"Aucune fiche ne répond à « {md_escape(text.strip())} ».")
    elif len(found) == ERASABLE_SHOWN:
        st.caption(f"Les {ERASABLE_SHOWN} premières fiches qui répondent : précisez la recherche.")
    unfinished = st.session_state.get("gdpr_unfinished")
    if unfinished and unfinished not in labels:
        labels[unfinished] = "effacement inachevé"
    chosen = st.selectbox(
        "Fiche",
        list(labels),
        format_func=lambda i: f"{labels[i]} ({i})",
        index=None,
        key="gdpr_id",
        placeholder="Choisir la fiche à effacer" if labels else "Cherchez d'abord la fiche",
    )
    confirm = st.checkbox("Je confirme : la fiche sera effacée partout, sans retour possible.", key="gdpr_ok")
    if st.button("Effacer définitivement", type="primary", disabled=not (chosen and confirm), key="gdpr_go"):
        try:
            report = erase(chosen, who)
        except KeyError:
            st.error(
                f"La fiche « {md_escape(chosen)} » n'est plus dans l'annuaire (effacée ou modifiée entre-temps) : rien "
                "n'a été fait ; rechargez la page."
            )
            return
        except ErasureIncomplete as exc:  # she left the file: offer to finish (she is no longer in the list)
            st.session_state["gdpr_unfinished"] = chosen
            forget_directories()
            st.error(md_escape(str(exc)))
            return
        except (DirectoryError, OSError) as exc:
            st.error(f"Effacement impossible, rien n'a été modifié dans l'annuaire : {md_escape(str(exc))}")
            return
        st.session_state.pop("gdpr_unfinished", None)
        forget_directories()  # the directories parsed in memory, with her: none served again
        st.session_state.pop("ann_base", None)
        st.success(report.sentence(md_escape(chosen)))
