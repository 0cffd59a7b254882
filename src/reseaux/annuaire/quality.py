"""What the page « Qualité de l'annuaire » shows of a directory — its counts, every problem by
spreadsheet line, the rows kept aside with their cells, the fiches a visitor will not see — from
whichever source answered: the directory read in memory (:func:`of_directory`) or, on
PostgreSQL, the readings kept beside its rows (``stockage.readings.quality``), without a process
holding the directory. ``tests/test_readings.py`` compares the two."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from reseaux.acces.access import hidden_sentence
from reseaux.annuaire.model import WARNING, Directory, Issue


@dataclass(frozen=True)
class Quality:
    #: The actors the app keeps.
    loaded: int
    #: The rows kept aside: their spreadsheet line (``ligne``), their cells by column, their errors
    #: (``erreurs``), as :class:`~reseaux.annuaire.model.Directory` keeps them.
    rejected: pd.DataFrame
    #: Actors without a position, and those placed at their commune's centre.
    unplaced: int
    approximate: int
    #: Every problem, the header's first, then by line.
    issues: list[Issue]
    #: How many fiches a visitor will not see, and why (``access.hidden_sentence``).
    hidden: str

    @property
    def warnings(self) -> int:
        return sum(i.severity == WARNING for i in self.issues)


def of_directory(directory: Directory) -> Quality:
    """The quality of a directory read in memory."""
    actors = directory.actors
    return Quality(
        loaded=len(actors),
        rejected=directory.rejected,
        unplaced=directory.n_unplaced,
        approximate=int((actors["geocodage_source"] == "commune").sum()) if len(actors) else 0,
        issues=directory.issues,
        hidden=hidden_sentence(actors),
    )
