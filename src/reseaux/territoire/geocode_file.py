"""Geocode a directory file in place, saved through the store like every write of the directory.

Every row, valid or not, and every named column, unknown ones included, is kept, in the file's
separator and encoding; only the position and ``geocodage_*`` cells (and ``date_maj`` of the
fiches placed) change. A file holding values the saved table has no place for (a column without
a name, the second copy of a repeated name, cells beyond the last column) is refused before
anything is done: its columns are named and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from reseaux import config
from reseaux.annuaire.changes import diff
from reseaux.annuaire.directory import DirectoryError, map_header, read_table, table_from_rows
from reseaux.annuaire.store import Snapshot, save_changes, version_of
from reseaux.stockage import directory_store
from reseaux.territoire.commune_locator import CommuneLocator
from reseaux.territoire.geocode_cache import GeoCache
from reseaux.territoire.geocoder_client import Geocoder
from reseaux.territoire.geocoding import DEFAULT_MIN_SCORE, Summary, geocode_rows


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
            records,
            geocoder=geocoder,
            cache=cache,
            communes=CommuneLocator.from_csv(communes_path or config.path("communes_table")),
            min_score=min_score,
            force=force,
            progress=progress,
            first_line=first_line,
            territory=territory_departments(),
        )
    finally:
        cache.close()
        if geocoder is not None:
            geocoder.close()


def territory_departments() -> set[str]:
    """The départements of the network's territory (geo/territoire.toml), to choose between
    communes of one name; empty when the territory is all France or cannot be read (the
    application says why at start-up)."""
    from reseaux.territoire import france, territory

    try:
        network = territory.load()
    except (territory.TerritoryError, france.FranceDataMissing, OSError):  # said where the app loads it
        return set()
    table = CommuneLocator.from_csv(config.path("communes_table")).department
    return {table[code][0] for code in network.communes if code in table}


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
) -> Summary:
    """Geocode the rows of the directory at ``path`` that need it and save it through the store:
    the command line and the Qualité page both come through here.

    Saved as the app saves (one write path): under the store's lock, refused when the
    file changed while geocoding ran (:class:`~reseaux.annuaire.store.ConflictError`, nothing written: run
    it again, the cache makes the second run quick), backed up, journalled in the name of ``who``.
    Raises DirectoryError when the file cannot be read or holds values in a column the store
    cannot keep (:func:`_refuse_unkept_columns`, before geocoding: nothing is written),
    LockTimeout when another save holds the lock too long.
    """
    store = directory_store(Path(path) if path is not None else None)
    if store.kind == "fichiers":
        data = store.path.read_bytes()
        rows, encoding, delimiter = read_table(data)
        _refuse_unkept_columns(rows)
        base = Snapshot(table_from_rows(rows), version_of(data), delimiter, encoding)
        # The table drops blank rows: problems are given their spreadsheet line.
        lines = [number + 2 for number, cells in enumerate(rows[1:]) if any(c.strip() for c in cells)]
    else:  # a database keeps the table itself: a row's line is its place in the table, as exported
        base = store.load()
        lines = list(range(2, len(base.table) + 2))

    records = base.table.to_dict("records")
    summary = geocode_records(
        records,
        offline=offline,
        min_score=min_score,
        force=force,
        geocoder_url=geocoder_url,
        cache_path=cache_path,
        communes_path=communes_path,
        progress=progress,
    )
    summary.problems = [(lines[line - 2], message) for line, message in summary.problems]
    # The fiches placed are those whose cells changed: saved alone (save_rows) when their ids allow.
    table = pd.DataFrame(records, columns=base.table.columns)
    save_changes(store, base, table, diff(base.table, table), who, action="géocodage")
    return summary


def _refuse_unkept_columns(rows: list[list[str]]) -> None:
    """Raise DirectoryError (French) naming every column whose values the saved table would lose.

    The store saves the table :func:`~reseaux.annuaire.directory.table_from_rows` reads, which has no
    place for a column without a name, for the second copy of a repeated name, or for cells
    beyond the last named column: saved, their values would be gone. A column of blank cells
    (a line ending with the separator) loses nothing and passes.
    """
    header, _ = map_header(rows[0])
    problems = []
    for index in range(max(len(cells) for cells in rows)):
        line = next(
            (number for number, cells in enumerate(rows[1:], start=2) if index < len(cells) and cells[index].strip()),
            None,
        )
        if line is None or (index < len(header) and header[index]):
            continue
        letter = _letter(index)
        if index >= len(rows[0]):
            problems.append(
                f"cellules au-delà de la dernière colonne (colonne {letter}), remplies dès la ligne "
                f"{line} : donnez-lui un nom dans la première ligne"
            )
        elif not rows[0][index].strip():
            problems.append(
                f"colonne {letter} ({index + 1}e), sans nom, remplie dès la ligne {line} : "
                "donnez-lui un nom dans la première ligne"
            )
        else:
            problems.append(
                f"seconde colonne « {rows[0][index].strip()} » (colonne {letter}), remplie dès la "
                f"ligne {line} : renommez-la, ou reportez ses valeurs dans la première"
            )
    if problems:
        raise DirectoryError(
            "géocodage refusé, rien n'a été écrit : l'annuaire enregistré perdrait ces valeurs — "
            + " ; ".join(problems)
            + " (ou supprimez la colonne si elle est inutile), puis "
            "relancez le géocodage."
        )


def _letter(index: int) -> str:
    """A column's letters as a spreadsheet shows them: 0 → « A », 26 → « AA »."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
