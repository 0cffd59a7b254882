"""What a loaded directory is: its actors, the rows kept aside, and each problem found (:class:`Issue`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

ERROR = "erreur"
WARNING = "avertissement"


class DirectoryError(Exception):
    """The file cannot be read at all (missing, empty, required columns absent). French text."""


@dataclass(frozen=True)
class Issue:
    """One problem in the directory, located as a spreadsheet shows it."""

    line: int | None
    column: str | None
    value: str
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"ligne {self.line}")
        if self.column:
            where.append(f"colonne « {self.column} »")
        prefix = ", ".join(where)
        return f"{prefix} : {self.message}" if prefix else self.message


@dataclass
class Directory:
    """A loaded directory: usable actors, rows kept aside, and every issue found."""

    actors: gpd.GeoDataFrame
    rejected: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == WARNING]

    @property
    def placed(self) -> gpd.GeoDataFrame:
        """The actors that have a position (those the map can draw)."""
        return self.actors[self.actors.geometry.notna()]

    @property
    def n_placed(self) -> int:
        """How many actors have a position (counted, not copied: :attr:`placed` copies the frame; on
        the geometries' array: the GeoSeries' ``notna`` also looks for empty ones, 57 ms against 5 at
        1,000,000)."""
        return int((~self.actors.geometry.values.isna()).sum())

    @property
    def n_unplaced(self) -> int:
        return len(self.actors) - self.n_placed
