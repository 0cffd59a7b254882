"""Geocode a directory file in place, saved through the store like every write of the directory.

Every row, valid or not, and every column, unknown ones included, is kept, in the file's
separator and encoding; only the position and ``geocodage_*`` cells (and ``date_maj`` of the
fiches placed) change.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from reseaux import config
from reseaux.directory import read_table, table_from_rows
from reseaux.geocoding import DEFAULT_MIN_SCORE, CommuneLocator, GeoCache, Geocoder, Summary, geocode_rows
from reseaux.store import DirectoryStore, Snapshot, version_of

def geocode_records(
    records: list[dict[str, str]],
    *,
    offline: bool = False,
    min_score: float = DEFAULT_MIN_SCORE,
    force: bool = False,
    geocoder_url: str | None = None,
    cache_path: Path | None = None,
    communes_path: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    first_line: int = 2,
) -> Summary:
    """Geocode ``records`` in place with the configured geocoder, cache and commune table.

    The one place that opens and closes them: the command line, the import and the quality
    page all come through here.
    """
    cache = GeoCache(cache_path or config.path("geocache"))
    geocoder = None if offline else Geocoder(geocoder_url or config.get("geocoder_url"))
    try:
        return geocode_rows(
            records, geocoder=geocoder, cache=cache,
            communes=CommuneLocator.from_csv(communes_path or config.path("communes_table")),
            min_score=min_score, force=force, progress=progress, first_line=first_line,
        )
    finally:
        cache.close()
        if geocoder is not None:
            geocoder.close()


def geocode_file(
    path: Path,
    *,
    offline: bool = False,
    min_score: float = DEFAULT_MIN_SCORE,
    force: bool = False,
    geocoder_url: str | None = None,
    cache_path: Path | None = None,
    communes_path: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    who: str = "ligne de commande (geocode)",
    store: DirectoryStore | None = None,
) -> Summary:
    """Geocode the rows of the directory at ``path`` that need it and save it through the store.

    Saved as the app saves (issue 22, one write path): under the store's lock, refused when the
    file changed while geocoding ran (:class:`~reseaux.store.ConflictError`, nothing written: run
    it again, the cache makes the second run quick), backed up, journalled in the name of ``who``.
    Raises DirectoryError when the file cannot be read, LockTimeout when another save holds the
    lock too long.
    """
    store = store or DirectoryStore(Path(path), keep=int(config.get("backups")))
    data = store.path.read_bytes()
    rows, encoding, delimiter = read_table(data)
    base = Snapshot(table_from_rows(rows), version_of(data), delimiter, encoding)
    # The table drops blank rows: problems are given their spreadsheet line.
    lines = [number + 2 for number, cells in enumerate(rows[1:]) if any(c.strip() for c in cells)]

    records = base.table.to_dict("records")
    summary = geocode_records(records, offline=offline, min_score=min_score, force=force, geocoder_url=geocoder_url,
                              cache_path=cache_path, communes_path=communes_path, progress=progress)
    summary.problems = [(lines[line - 2], message) for line, message in summary.problems]
    store.save(pd.DataFrame(records, columns=base.table.columns), base, who, action="géocodage")
    return summary
