"""The coverage as people read it: each measure's title and unit, the table's French headers
and values (page, CSV and Excel), what the actors counted are (« de thématique « IVG » »), the
summary sentence, and the class breaks of the choropleth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reseaux.analyse.filters import ActorFilter
from reseaux.annuaire.referential import Referential
from reseaux.text import fr_distance, fr_number


@dataclass(frozen=True)
class Measure:
    """A measure the map can show: its title, its unit (singular, plural) and whether it counts actors."""

    label: str
    unit: str
    units: str
    count: bool = False

    def with_unit(self, value: float, decimals: int = 0) -> str:
        """« 1 acteur », « 24 877 m », « 0,05 acteur pour 10 000 hab. » (French: below 2, singular)."""
        word = self.unit if abs(value) < 2 else self.units
        return f"{fr_number(value, decimals)} {word}"


MEASURES = {
    "n_within": Measure("Acteurs à moins de la distance", "acteur", "acteurs", count=True),
    "n_inside": Measure("Acteurs dans le périmètre", "acteur", "acteurs", count=True),
    "per_10k": Measure(
        "Acteurs pour 10 000 habitants",
        f"acteur pour {fr_number(10_000)} hab.",
        f"acteurs pour {fr_number(10_000)} hab.",
    ),
    "distance_nearest_m": Measure("Distance à l'acteur le plus proche", "m", "m"),
}


def table_labels(distance_m: float) -> dict[str, str]:
    """French headers of the table (page, CSV and XLSX exports), units included: a downloaded file
    is read away from the page that explains it."""
    return {
        "code": "Code",
        "nom": "Nom",
        "n_inside": "Acteurs dans le périmètre",
        "n_within": f"Acteurs à moins de {fr_distance(distance_m)} (dedans compris)",
        "population": "Population (habitants)",
        "per_10k": "Acteurs pour 10 000 habitants",
        "distance_nearest_m": "Distance à l'acteur le plus proche (m)",
        "outreach": "Couvert par une action d'aller-vers",
        "gap": "Manque",
    }


def readable_table(table: pd.DataFrame, distance_m: float) -> pd.DataFrame:
    """The table as people read it: French headers, « oui »/« non », numbers left as numbers
    (the page formats them, the exports write them as numbers)."""
    yes_no = {True: "oui", False: "non"}
    return table.assign(
        outreach=table["outreach"].map(yes_no),
        gap=table["gap"].map(yes_no),
        population=table["population"].astype("Int64" if _whole(table["population"]) else float),
        distance_nearest_m=table["distance_nearest_m"].astype("Int64"),
    ).rename(columns=table_labels(distance_m))


def _whole(values: pd.Series) -> bool:
    finite = values.dropna()
    return bool((finite == finite.round()).all())


def filter_phrase(referential: Referential, flt: ActorFilter) -> str:
    """What the coverage counts, in French, after « aucun acteur »: the values of one facet are
    alternatives (« ou »), the facets all apply (« et »), as :mod:`reseaux.analyse.filters` does.

    « de thématique « IVG » ou « Contraception » et de profession « Sage-femme » »; ``""`` when
    nothing is chosen (every actor counts).
    """
    parts = []
    for facet, category, name, _names in (
        ("themes", "thematique", "thématique", "thématiques"),
        ("professions", "profession", "profession", "professions"),
        ("types", "type", "type", "types"),
    ):
        values = getattr(flt, facet)
        if values:
            quoted = " ou ".join(f"« {referential.label(category, v)} »" for v in values)
            parts.append(f"de {name} {quoted}")
    if len(parts) > 2:
        return ", ".join(parts[:-1]) + " et " + parts[-1]
    return " et ".join(parts)


def summary_sentence(table: pd.DataFrame, layer_label: str, what: str, distance_m: float) -> str:
    """« QPV 2024 : 3 sur 16 n'ont aucun acteur de thématique « IVG » à moins de 1 km. »

    ``what`` comes from :func:`filter_phrase` (empty: any actor).
    """
    total, gaps = len(table), int(table["gap"].sum())
    subject = f"acteur {what}" if what else "acteur"
    distance = fr_distance(distance_m)
    if total == 0:
        return f"{layer_label} : aucun périmètre dans cette couche."
    if gaps == 0:
        everyone = "le seul périmètre a" if total == 1 else f"les {fr_number(total)} ont"
        return f"{layer_label} : {everyone} au moins un {subject} à moins de {distance}."
    verb = "n'a" if gaps == 1 else "n'ont"
    return f"{layer_label} : {fr_number(gaps)} sur {fr_number(total)} {verb} aucun {subject} à moins de {distance}."


def classes(values: pd.Series, n: int = 5) -> list[float]:
    """Class breaks (quantiles, deduplicated) for the choropleth; the first break is the minimum.

    Counts and metres get whole-number breaks (« 6 à 7 acteurs », not « > 5.2 à 7.2 »). A single
    value gives a single class (``[v, v]``); no value at all, ``[]`` (the legend then shows no class).
    """
    finite = values.replace([np.inf, -np.inf], np.nan).dropna()
    if finite.empty:
        return []
    quantiles = np.quantile(finite, np.linspace(0, 1, n + 1))
    whole = bool((finite == finite.round()).all())
    breaks = sorted({float(b) for b in (np.ceil(quantiles) if whole else quantiles.round(2))})
    return breaks if len(breaks) > 1 else [breaks[0], breaks[0]]
