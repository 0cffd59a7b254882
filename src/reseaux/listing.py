"""The actors as people read them: French column names, labels instead of codes, dates spelt out.

The directory file keeps codes (``sage_femme``, ``sur_rdv``) so that it round-trips; a list
shown on screen or downloaded from the map is for people, and says « Sage-femme », « Sur
rendez-vous », « 11 juin 2026 ».
"""

from __future__ import annotations

import pandas as pd

from reseaux.directory import LABELS, REFERENTIAL_COLUMNS
from reseaux.referential import Referential
from reseaux.text import fr_date

#: Columns of the people's list, in order.
COLUMNS = ("nom", "type", "profession", "structure", "specialites", "thematiques", "publics", "modalites",
           "accessibilite", "langues", "adresse", "code_postal", "commune", "telephone", "email", "site_web",
           "horaires", "date_maj")


def people_table(actors: pd.DataFrame, referential: Referential, columns=COLUMNS) -> pd.DataFrame:
    """``actors`` with French headers, referential labels for codes, values joined by « , »."""
    out = pd.DataFrame(index=actors.index)
    for column in columns:
        values = actors[column] if column in actors else pd.Series("", index=actors.index)
        if column in REFERENTIAL_COLUMNS:
            labels = referential.labels(REFERENTIAL_COLUMNS[column][0])
            out[LABELS[column]] = values.map(lambda v, labels=labels: _join(
                [labels.get(c, c) for c in (v if isinstance(v, tuple | list) else [v]) if c]))
        elif column == "date_maj":
            out[LABELS[column]] = values.map(fr_date)
        else:
            out[LABELS[column]] = values.map(lambda v: _join(v) if isinstance(v, tuple | list) else _text(v))
    return out.reset_index(drop=True)


def _join(values) -> str:
    return ", ".join(str(v) for v in values if v)


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def issues_table(issues) -> pd.DataFrame:
    """Problems found in a directory or an import, one row each, as people read them: the
    column by its label (« Code postal », not ``code_postal``), the line of the spreadsheet."""
    return pd.DataFrame([{"Ligne": i.line, "Colonne": column_label(i.column), "Valeur": i.value,
                          "Gravité": i.severity, "Message": i.message} for i in issues],
                        columns=["Ligne", "Colonne", "Valeur", "Gravité", "Message"])


def column_label(column: str | None) -> str:
    """The label of a directory column (« Thématiques »); a column unknown to the directory (a
    file's own header) as it is written."""
    return LABELS.get(column, column) if column else ""


def with_labels(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (rows as the file holds them) with the directory's columns under their labels."""
    return table.rename(columns=LABELS)
