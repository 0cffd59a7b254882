"""The actors as people read them: French column names, labels instead of codes, dates spelt out.

The directory file keeps codes (``sage_femme``, ``sur_rdv``) so that it round-trips; a list
shown on screen or downloaded from the map is for people, and says « Sage-femme », « Sur
rendez-vous », « 11 juin 2026 ».
"""

from __future__ import annotations

import pandas as pd

from reseaux.annuaire import columns
from reseaux.annuaire.columns import Column
from reseaux.annuaire.model import ERROR
from reseaux.annuaire.referential import Referential
from reseaux.text import fr_date


def cell_text(column: Column, value, referential: Referential) -> str:
    """One cell as people read it, the same on the fiche, in the lists and in Trouver's results:
    referential codes as their labels, several values joined by « , », a date spelt out."""
    if column.kind == columns.REFERENTIAL:
        codes = value if isinstance(value, tuple | list) else [value]
        return _join(referential.label(column.category, c) for c in codes if c)
    if column.kind == columns.DATE:
        return fr_date(value)
    return _join(value) if isinstance(value, tuple | list) else _text(value)


def people_table(actors: pd.DataFrame, referential: Referential, place: str = columns.LIST_) -> pd.DataFrame:
    """``actors``' columns shown in ``place`` (the people's list by default), in order, with French
    headers: referential labels for codes, values joined by « , », dates spelt out."""
    out = pd.DataFrame(index=actors.index)
    for column in columns.shown_in(place):
        values = actors[column.name] if column.name in actors else pd.Series("", index=actors.index)
        known: dict = {}  # the same combinations come back again and again

        def text(value, column=column, known=known) -> str:
            key = value if isinstance(value, str | tuple) else repr(value)
            if key not in known:
                known[key] = cell_text(column, value, referential)
            return known[key]

        out[column.label] = values.map(text)
    return out.reset_index(drop=True)


def _join(values) -> str:
    return ", ".join(str(v) for v in values if v)


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def issues_table(issues) -> pd.DataFrame:
    """Problems found in a directory or an import, one row each, as people read them: the
    column by its label (« Code postal », not ``code_postal``), the line of the spreadsheet."""
    return pd.DataFrame(
        [
            {
                "Ligne": i.line,
                "Colonne": column_label(i.column),
                "Valeur": i.value,
                "Gravité": i.severity,
                "Message": i.message,
            }
            for i in issues
        ],
        columns=["Ligne", "Colonne", "Valeur", "Gravité", "Message"],
    )


def issue_groups(issues) -> list[tuple[str, str | None, str, list]]:
    """The issues grouped by (severity, column, message), in the order they first appear: one
    group for the 1,433 rows of a file without a type, not 1,433 lines hiding the one position at
    (0, 0)."""
    groups: dict[tuple, list] = {}
    for issue in issues:
        groups.setdefault((issue.severity, issue.column, issue.message), []).append(issue)
    return [(severity, column, message, members) for (severity, column, message), members in groups.items()]


def lines_text(members, shown: int = 5) -> str:
    """The lines of a group's issues, the first ``shown`` of them: « 2, 3, 5, 8, 13… »."""
    numbers = [str(i.line) for i in members if i.line is not None]
    return ", ".join(numbers[:shown]) + ("…" if len(numbers) > shown else "")


def issues_summary(issues) -> pd.DataFrame:
    """The problems of an import or a directory by kind, as people read them: how many lines, the
    column by its label, the severity, the message and the first lines; errors first, then the
    kinds that concern the most lines."""
    rows = [
        {
            "Lignes": len(members),
            "Colonne": column_label(column),
            "Gravité": severity,
            "Message": message,
            "Premières lignes": lines_text(members),
        }
        for severity, column, message, members in issue_groups(issues)
    ]
    rows.sort(key=lambda r: (r["Gravité"] != ERROR, -r["Lignes"]))
    return pd.DataFrame(rows, columns=["Lignes", "Colonne", "Gravité", "Message", "Premières lignes"])


def column_label(column: str | None) -> str:
    """The label of a directory column (« Thématiques »); a column unknown to the directory (a
    file's own header) as it is written."""
    return columns.label(column)


def with_labels(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (rows as the file holds them) with the directory's columns under their labels."""
    return table.rename(columns=columns.labels())
