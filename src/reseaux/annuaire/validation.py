"""Validating the directory's rows: each cell by its column's kind, each row as an actor.

Strict about content: every problem is an :class:`~reseaux.annuaire.model.Issue` with the
spreadsheet line (header = line 1), the column, the value and what to do. Only a row that cannot
be an actor at all (no name, no identifier, nothing to place it by) is an error, kept aside in
``Directory.rejected``; anything else is a warning and the actor stays usable (an unrecognised
referential value is kept as written, an unknown type becomes « À classer »). Nothing is dropped
silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import fields as dataclass_fields
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa

from reseaux.acces.access import DEFAULT_VISIBILITY, NO_SIGN, REASON_COLUMN, UNREADABLE, WRITTEN, default_visibility
from reseaux.annuaire import columns, fields
from reseaux.annuaire.decoding import map_header
from reseaux.annuaire.model import (
    ERROR,
    WARNING,
    Directory,
    DirectoryError,
    Issue,
    PrintIndex,
    RowPrints,
    none_gone,
    runs_of,
    shared_text,
)
from reseaux.annuaire.referential import UNCLASSIFIED, UNKNOWN, Referential
from reseaux.text import split_cell

GEOCODING_SOURCES = ("ban", "cache", "commune", "manuel", "fichier")
#: Columns of which one at least must be filled for the actor to be placed (or geocoded).
PLACE_COLUMNS = ("latitude", "adresse", "code_postal", "commune", "code_insee", "zone_intervention")

# Bounding boxes (lat_min, lat_max, lon_min, lon_max) of metropolitan France and the DROM.
_FRANCE_BOXES = (
    (41.3, 51.2, -5.3, 9.7),
    (15.8, 16.6, -61.9, -60.9),
    (14.3, 14.95, -61.3, -60.75),
    (2.1, 5.8, -54.7, -51.5),
    (-21.45, -20.85, 55.2, 55.9),
    (-13.1, -12.6, 44.95, 45.35),
    (17.8, 18.0, -62.95, -62.7),  # Saint-Barthélemy
    (18.0, 18.14, -63.17, -62.95),  # Saint-Martin
    (46.7, 47.2, -56.5, -56.05),  # Saint-Pierre-et-Miquelon
)

#: Longest cell of a directory row (a description is a few hundred characters; a longer cell is
#: a mistake or an attack, kept aside with the row).
MAX_CELL = 10_000


def taken_id_issue(line: int, actor_id: str, first_line: int) -> Issue:
    """The error of a row whose id an earlier row (``first_line``) already holds."""
    return Issue(
        line,
        "id",
        actor_id,
        f"l'identifiant « {actor_id} » est déjà utilisé ligne {first_line} ; donnez-lui un identifiant unique",
    )


def validate_table(table: pd.DataFrame, referential: Referential) -> Directory:
    """Validate a table of strings (one column per directory column), as if it were a file."""
    rows = [list(table.columns), *table.fillna("").astype(str).values.tolist()]
    return validate_rows(rows, referential)


def validate_record(raw: dict[str, str], referential: Referential, line: int = 2) -> tuple[dict, list[Issue]]:
    """Validate one actor given as ``{column: text}`` (a form, an imported row)."""
    cells = {c: str(raw.get(c, "") or "").strip() for c in raw}
    long = _too_long(cells, line)
    record, issues = _RowValidator(referential).validate(cells, line)
    return record, long + issues


def _too_long(cells: dict[str, str], line: int) -> list[Issue]:
    """An error for each cell longer than :data:`MAX_CELL` (cut to it in ``cells``)."""
    found = []
    for name, value in cells.items():
        if len(value) > MAX_CELL:
            found.append(
                Issue(
                    line,
                    name,
                    value[:60] + "…",
                    (
                        f"cellule de {len(value):_} caractères (au plus {MAX_CELL:_}) : raccourcissez-la "
                        "ou mettez le texte long sur le site de la structure"
                    ).replace("_", "\u202f"),
                )
            )
            cells[name] = value[:MAX_CELL]
    return found


def _own_findings(validator: _RowValidator, raw: dict[str, str], line: int) -> tuple[dict, list[Issue]]:
    """A row's record and the issues of its own cells (``raw``, stripped, by column), those of a
    whole validation but one: an identifier an earlier row holds (see :func:`read_alone`)."""
    found = _too_long(raw, line)
    record, more = validator.validate(raw, line)
    return record, found + more


def read_alone(header: list[str], rows: Iterable[list[str]], referential: Referential) -> Iterator[dict | None]:
    """Each row of ``rows`` (cells in the order of ``header``, a directory's first line) as
    :func:`validate_rows` reads it, taken alone: its record, or None when a cell of its own is an
    error. The one rule that depends on the other rows is left to the caller: a usable row whose
    identifier an earlier usable row holds is an error (:func:`taken_id_issue`). The readings a
    database keeps beside its rows (:mod:`reseaux.stockage.readings`)."""
    return (None if unusable(found) else record for record, found in read_each(header, rows, referential))


def read_each(
    header: list[str], rows: Iterable[list[str]], referential: Referential
) -> Iterator[tuple[dict, list[Issue]]]:
    """Each row of ``rows`` read alone, as :func:`read_alone`: its record, usable or not, and its
    own findings (their lines counted from 2 in ``rows``)."""
    names, _ = map_header(header)
    validator = _RowValidator(referential)
    for line, cells in enumerate(rows, start=2):
        raw = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(names)}
        yield _own_findings(validator, raw, line)


def unusable(found: list[Issue]) -> bool:
    """Whether a row whose findings are ``found`` is kept aside: one of them is an error."""
    return any(i.severity == ERROR for i in found)


def validate_rows(rows: Iterable[list[str]], referential: Referential, previous: Directory | None = None) -> Directory:
    """Validate rows of cells; the first is the header (spreadsheet line 1). ``rows`` may be an
    iterator (:func:`reseaux.annuaire.decoding.iter_table`): each row is let go once validated.

    ``previous`` is the directory this code read from the file's last version with the same
    referential (a save changes a few fiches of a million): each row whose cells are those of one
    of its usable rows is taken back from it, its warnings moved to its new line, instead of
    being validated again (at a million fiches, 100 s of validation). The answer is the one a
    whole validation gives (tests/test_reread.py): a row's record and warnings depend on its
    cells alone, except the identifiers already taken, worked out again over the whole file here,
    and a date in the future, which tomorrow is not; a row with a warning on a date is validated
    again."""
    rows = iter(rows)
    first = next(rows, None)
    if not first or not any(cell.strip() for cell in first):
        raise DirectoryError("L'annuaire est vide : la première ligne doit donner les noms de colonnes.")
    taking = TakenBack.of(previous, first)

    def blocks() -> Iterator[tuple[list[tuple[int, list[str], str]], np.ndarray, list[int]]]:
        # The fingerprint index is the generator's: let go when the last row is read, before the
        # columns are made (0.1 GB at a million fiches, at the top of the server's memory).
        index = PrintIndex(taking.index_prints()) if taking else None
        for block in _blocks(rows):
            prints = _fingerprints(block)
            yield block, prints, (index.positions(prints).tolist() if index else [-1] * len(block))

    return _validated(first, referential, taking, blocks())


def validate_changes(
    taking: TakenBack,
    keys_before: np.ndarray,
    keys: np.ndarray,
    rows: Iterable[list[str]],
    read_keys: np.ndarray,
    referential: Referential,
) -> Directory | None:
    """The reading of a new version of a directory kept as rows with keys (PostgreSQL): the
    version's record ``i`` is the stored row ``keys[i]``; ``rows`` are the cells (header first) of
    the stored rows ``read_keys``, those written since the previous reading ``taking`` takes back
    from, in their order, and those it cannot take back (:meth:`TakenBack.to_read_again`). Every
    other record is its row of that reading (which was the record ``keys_before[j]``), taken back
    by its key without its cells being read at all: at a million fiches, no parsing, no
    fingerprint, only the changes validated.

    The answer is :func:`validate_rows`' on the whole version, taking back from that reading; None
    when it cannot be given so (another header, a row neither read nor taken back, an identifier a
    changed row now holds before a row taken back): the caller reads the whole version."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None or tuple(first) != taking.header:
        return None
    read = list(rows)
    if len(read) != len(read_keys):
        return None
    found = _continued(taking, keys_before, keys, read_keys)
    if found is None:
        return None
    # The arrays a record's source is read from are the generator's alone: let go with its last
    # block, before the columns are made (at a million fiches, 16 MB at the top of the memory).
    blocks = _stored_blocks(*found, read, taking.prints)
    del found, read
    try:
        return _validated(first, referential, taking, blocks)
    except _CellsNeeded:
        return None


def _continued(
    taking: TakenBack, keys_before: np.ndarray, keys: np.ndarray, read_keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """For each record of the version (the stored row ``keys[i]``): the position of the row of
    ``taking``'s reading it takes back (-1: read), and its position among the rows read
    (``read_keys``; -1: taken back). None when a record is neither."""
    # Each usable row of previous: its stored row; then, for each record, the one it continues.
    actor_keys = keys_before[taking.lines - 2]
    can = np.flatnonzero(taking.index_prints() != 0)
    at = pd.Index(actor_keys[can]).get_indexer(keys)
    olds = np.where(at >= 0, can[np.maximum(at, 0)], -1)
    reading = pd.Index(read_keys).get_indexer(keys)
    olds[reading >= 0] = -1  # written since: read, even where the key is an old one
    if ((olds < 0) & (reading < 0)).any():
        return None
    return olds, reading


def _stored_blocks(
    olds: np.ndarray, reading: np.ndarray, read: list[list[str]], prints_before: np.ndarray
) -> Iterator[tuple[list[tuple[int, list[str] | None, str]], np.ndarray, list[int]]]:
    """The records of :func:`validate_changes` a block at a time, as :func:`_validated` reads
    them: a record taken back by its key has no cells; a record read, its cells."""
    for start in range(0, len(olds), BLOCK):
        block, block_olds, fresh = [], [], []
        for i in range(start, min(start + BLOCK, len(olds))):
            old = int(olds[i])
            if old >= 0:
                block.append((i + 2, None, ""))
                block_olds.append(old)
                continue
            cells = read[reading[i]]
            joined = "\x1f".join(cells)
            if joined.strip():
                fresh.append(len(block))
                block.append((i + 2, cells, joined))
                block_olds.append(-1)
        if block:
            prints = prints_before[np.maximum(np.array(block_olds, dtype=np.intp), 0)].copy()
            if fresh:
                prints[fresh] = _fingerprints([block[f] for f in fresh])
            yield block, prints, block_olds


class _CellsNeeded(Exception):
    """A row taken back by its key must be validated after all (its identifier is taken)."""


def _validated(first: list[str], referential: Referential, taking, blocks) -> Directory:
    """The directory of the ``blocks`` of rows under the header ``first``: each block with its
    fingerprints and, for each row, the row of ``taking``'s reading it takes back (-1: validated
    from its cells, which a row taken back by its key does not have)."""
    header, issues = map_header(first)
    validator = _RowValidator(referential)
    records = _Records()
    rejected: list[dict] = []
    first_line_of_id: dict[str, int] = {}
    # The identifier of each previous row, for this loop only: let go before the columns are made.
    ids: list[str] = taking.actors["id"].tolist() if taking else []
    # Kept a block at a time as arrays: a million Python ints of 64-bit fingerprints, lines and
    # positions were 40 MB each at the top of a reading.
    fresh_prints: list[np.ndarray] = []
    back_lines: list[np.ndarray] = []  # the rows taken back: their line, position in previous, print
    back_olds: list[np.ndarray] = []
    back_prints: list[np.ndarray] = []
    for block, prints, olds in blocks:
        if taking and _all_taken_back(taking, ids, block, olds, first_line_of_id, issues):
            back_lines.append(np.array([entry[0] for entry in block], dtype=np.int64))
            back_olds.append(np.asarray(olds, dtype=np.intp))
            back_prints.append(prints)
            continue
        fresh_at: list[int] = []  # positions in the block (small ints, not allocated)
        back_at: list[int] = []
        for at, ((index, cells, _), old) in enumerate(zip(block, olds, strict=True)):
            if old >= 0 and ids[old] not in first_line_of_id:
                first_line_of_id[ids[old]] = index
                said = taking.said.get(old)
                if said:
                    issues.extend(taking.moved(said, index))
                back_at.append(at)
                continue
            if cells is None:
                raise _CellsNeeded
            raw = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}
            row_issues = []
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                row_issues.append(
                    Issue(
                        index,
                        None,
                        "",
                        (
                            f"la ligne a {len(cells)} cellules pour {len(header)} colonnes : une cellule "
                            "contient sans doute le séparateur sans guillemets ; corrigez-la dans le tableur"
                        ),
                    )
                )
            record, found = _own_findings(validator, raw, index)
            row_issues.extend(found)
            actor_id = record.get("id", "")
            if actor_id and actor_id in first_line_of_id:
                row_issues.append(taken_id_issue(index, actor_id, first_line_of_id[actor_id]))
            issues.extend(row_issues)
            if any(i.severity == ERROR for i in row_issues):
                rejected.append(
                    {
                        "ligne": index,
                        **{k: v for k, v in raw.items() if k},
                        "erreurs": " ; ".join(str(i) for i in row_issues if i.severity == ERROR),
                    }
                )
            else:
                first_line_of_id.setdefault(actor_id, index)
                record["ligne"] = index
                records.append(record)
                fresh_at.append(at)
        if fresh_at:
            fresh_prints.append(prints[fresh_at])
        if back_at:
            back_lines.append(np.array([block[at][0] for at in back_at], dtype=np.int64))
            back_olds.append(np.asarray(olds, dtype=np.intp)[back_at])
            back_prints.append(prints[back_at])
    # What only the loop needs goes before the columns are made (held meanwhile, at the top of the
    # server's memory after a save): the identifiers, a million Python strings and their dictionary.
    del first_line_of_id, ids
    actors, prints = records.frame(), _joined(fresh_prints, np.uint64)
    if back_lines:
        # Drained: each list of blocks let go as it is joined, and the joins are the merge's alone
        # (it lets them go before making the columns: 5 × 8 MB at a million fiches, at the top of
        # the server's memory during the reread after a save).
        actors, prints = taking.merged(
            _drained(back_lines, np.int64),
            _drained(back_olds, np.intp),
            _drained(back_prints, np.uint64),
            actors,
            prints,
        )
    return Directory(
        actors=_to_frame(actors),
        rejected=pd.DataFrame(rejected, columns=["ligne", *[h for h in header if h], "erreurs"]),
        issues=_compacted(issues),  # last: once the columns are made
        prints=RowPrints(tuple(first), prints),
    )


#: From this many warnings, a reading's are made again at its end (:func:`_compacted`).
COMPACT_ISSUES = 1_000


def _compacted(issues: list[Issue]) -> list[Issue]:
    """The same warnings, made again once the reading's temporaries are gone (``issues`` is
    emptied). Made row by row among each block's temporaries, they kept Python's small-object
    memory of the whole reading: at a million fiches, 40,092 warnings held 53 MB more than their
    own size under every page the first start then drew (docs/mesures.md, « Quatorzième
    passage »). Held as Arrow columns while the old ones go, then made in a row, an equal value
    of a field one object."""
    if len(issues) < COMPACT_ISSUES:
        return issues
    try:
        held = [pa.array([getattr(i, f.name) for i in issues]) for f in dataclass_fields(Issue)]
    except (pa.ArrowException, OverflowError, TypeError, ValueError):  # a field of mixed kinds: kept as made
        return issues
    issues.clear()
    made = []
    for array in held:
        if array.type == pa.null():
            made.append([None] * len(array))
            continue
        encoded = array.dictionary_encode()
        distinct = encoded.dictionary.to_pylist()
        made.append([None if k is None else distinct[k] for k in encoded.indices.to_pylist()])
    return [Issue(*row) for row in zip(*made, strict=True)]


def _all_taken_back(
    taking: TakenBack, ids: list[str], block, olds, first_line_of_id: dict[str, int], issues: list[Issue]
) -> bool:
    """Take back at once a block whose every row is a row of the previous reading (the usual block
    of a reread), as the row by row loop of :func:`_validated` does: each keeps its identifier (of
    ``ids``, none held by an earlier row, none twice in the block) and its warnings, moved to its
    line. False, with nothing done, when one row of the block is not so."""
    if not block or min(olds) < 0:
        return False
    kept = [ids[old] for old in olds]
    if len(set(kept)) != len(kept) or not first_line_of_id.keys().isdisjoint(kept):
        return False
    lines = [entry[0] for entry in block]
    first_line_of_id.update(zip(kept, lines, strict=True))
    for at in np.flatnonzero(taking.has_said[np.asarray(olds, dtype=np.intp)]).tolist():
        issues.extend(taking.moved(taking.said[olds[at]], lines[at]))
    return True


def _joined(blocks: list[np.ndarray], dtype) -> np.ndarray:
    """The arrays kept a block at a time, as one."""
    return np.concatenate(blocks).astype(dtype, copy=False) if blocks else np.zeros(0, dtype=dtype)


def _drained(blocks: list[np.ndarray], dtype) -> np.ndarray:
    """:func:`_joined`, ``blocks`` emptied: not held beside their join."""
    joined = _joined(blocks, dtype)
    blocks.clear()
    return joined


#: Rows read at a time, to look their fingerprints up together (:func:`validate_rows`); a few
#: hundred: their cells are held meanwhile (4,096 rows were 8 MB at the top of a load).
BLOCK = 256


def _blocks(rows: Iterator[list[str]]) -> Iterator[list[tuple[int, list[str], str]]]:
    """The rows after the header that hold something, with their line (header = 1) and their
    cells joined by ``\\x1f`` (blank, as ``str.strip`` reads it, when every cell is), a block at a time."""
    block = []
    for index, cells in enumerate(rows, start=2):
        joined = "\x1f".join(cells)
        if joined.strip():
            block.append((index, cells, joined))
            if len(block) == BLOCK:
                yield block
                block = []
    if block:
        yield block


def _fingerprints(block: list[tuple[int, list[str], str]]) -> np.ndarray:
    """64 bits of each row's cells (SipHash with pandas' fixed key: the same in every process);
    0, never taken back, for a row where a cell holds the joining character (two rows could
    then join alike)."""
    joined = np.array([text for _, _, text in block], dtype=object)
    try:
        prints = pd.util.hash_array(joined, categorize=False)
    except UnicodeEncodeError:  # a lone surrogate (not from a file: its text is decoded): validated
        return np.zeros(len(block), dtype=np.uint64)
    prints[[text.count("\x1f") != len(cells) - 1 for _, cells, text in block]] = 0
    return prints


class TakenBack:
    """The rows of a previous reading that a reading of the next version may take back instead of
    validating them again: found by their fingerprint (a file, :func:`validate_rows`) or by their
    stored row's key (PostgreSQL, :func:`validate_changes`)."""

    def __init__(self, previous: Directory) -> None:
        self.actors = previous.actors
        self.header = previous.prints.header
        #: The fingerprint of each usable row of the previous reading.
        self.prints = previous.prints.prints
        #: The line of each usable row: increasing, the rows are in the file's order.
        self.lines = previous.actors["ligne"].to_numpy(dtype=np.int64)
        #: Position of a previous row → its warnings (most rows have none).
        self.said: dict[int, list[Issue]] = {}
        dated_lines: set[int] = set()
        if previous.issues and len(self.lines):
            dated = {c.name for c in columns.columns() if c.kind == columns.DATE}
            said_lines = np.array([i.line or 0 for i in previous.issues])
            at = np.minimum(np.searchsorted(self.lines, said_lines), len(self.lines) - 1)
            for issue, position, is_row in zip(previous.issues, at.tolist(), self.lines[at] == said_lines, strict=True):
                if is_row:
                    self.said.setdefault(position, []).append(issue)
                if issue.column in dated and issue.line:
                    dated_lines.add(issue.line)
        #: The lines (sorted) of the usable rows validated again from their cells even unchanged:
        #: a cell holds the joining character (no fingerprint: 0), or a warning on a date (a date
        #: is judged against the day it is read: tomorrow it may be fine).
        self.never = np.union1d(self.lines[self.prints == 0], np.array(sorted(dated_lines), dtype=np.int64))
        self.has_said = np.zeros(len(self.prints), dtype=bool)
        self.has_said[list(self.said)] = True

    def index_prints(self) -> np.ndarray:
        """Each usable row's fingerprint, 0 for a row never taken back (read again): made when
        asked, not held (8 MB at a million fiches, while the new reading makes its columns)."""
        prints = self.prints.copy()
        if len(self.lines):
            at = np.minimum(np.searchsorted(self.lines, self.never), len(self.lines) - 1)
            prints[at[self.lines[at] == self.never]] = 0
        return prints

    @classmethod
    def of(cls, previous: Directory | None, header) -> TakenBack | None:
        """What can be taken back from ``previous``: nothing unless it was read with the same header."""
        if previous is None or previous.prints is None or previous.prints.header != tuple(header):
            return None
        if len(previous.prints.prints) != len(previous.actors) or "id" not in previous.actors:
            return None
        return cls(previous)

    def to_read_again(self, records: int) -> np.ndarray:
        """The records of the next version (positions from 0, the spreadsheet line less 2, among
        ``records``) that its reading by changes reads from their cells: rows kept aside, blank,
        and those of :attr:`never`."""
        again = np.ones(records, dtype=bool)
        again[self.lines[self.lines - 2 < records] - 2] = False  # the usable rows, but:
        again[self.never[self.never - 2 < records] - 2] = True
        return np.flatnonzero(again)

    @staticmethod
    def moved(said: list[Issue], line: int) -> list[Issue]:
        """Warnings of a previous row, moved to ``line``."""
        return [issue if issue.line == line else replace(issue, line=line) for issue in said]

    def merged(self, lines: np.ndarray, olds: np.ndarray, prints: np.ndarray, fresh: pd.DataFrame, fresh_prints):
        """The rows taken back (at ``lines``, from positions ``olds``) and the ``fresh`` ones
        validated, in the order of their lines, with their fingerprints. A column takes the dtype
        a whole validation gives it (as :class:`_Records` joins chunks).

        A text column is made of slices of the previous one's (:func:`~reseaux.annuaire.model.shared_text`), not copied,
        when every fiche of the previous reading is still there (see :meth:`all_still_there`):
        after a save of one fiche among a million, its copy was 0.3 GB, held beside the previous
        reading, at the top of the server's memory. Otherwise each column is one new copy."""
        n_old = len(self.actors)
        fresh_lines = fresh["ligne"].to_numpy(dtype=np.int64) if len(fresh) else np.zeros(0, dtype=np.int64)
        order = np.argsort(np.concatenate([np.asarray(lines, dtype=np.int64), fresh_lines]), kind="stable")
        all_lines = np.concatenate([np.asarray(lines, dtype=np.int64), fresh_lines])[order]
        all_prints = np.concatenate([np.asarray(prints, dtype=np.uint64), fresh_prints])[order]
        # Row i of the result: previous row olds[k], or fresh row j (after the previous rows).
        source = np.concatenate([np.asarray(olds, dtype=np.intp), n_old + np.arange(len(fresh))])[order]
        runs = runs_of(source) if self.all_still_there(olds, fresh) else None
        # What the columns are made from, and no more: the arguments (the caller's joins) go now.
        del lines, olds, prints, order
        picking = _Picking(source, n_old)
        made = {}
        for name in self.actors.columns:
            ours = self.actors[name]
            theirs = fresh[name] if len(fresh) else ours.iloc[:0]
            shared = shared_text(ours, theirs, runs) if runs is not None else None
            if name == "ligne":
                column = pd.Series(all_lines, copy=False)
            elif shared is not None:
                column = shared
            elif ours.dtype.kind == "f" or theirs.dtype.kind == "f":
                # Numbers or None (a score, a position): numbers when one at least is, else None.
                values = picking.picked(ours.astype("float64").to_numpy(), theirs.astype("float64").to_numpy())
                column = pd.Series(values, copy=False)
                if not (~np.isnan(values)).any():
                    column = pd.Series([None] * len(values), dtype=object)
            elif ours.dtype == theirs.dtype and isinstance(ours.dtype, np.dtype):
                column = pd.Series(picking.picked(ours.to_numpy(), theirs.to_numpy()), copy=False)
            elif ours.dtype == theirs.dtype:
                column = pd.concat([ours, theirs], ignore_index=True).take(picking.source())
            else:  # two dtypes: the column made of its values, as a whole reading makes it
                values = ours.tolist() + theirs.tolist()
                column = pd.Series([values[k] for k in picking.source()])
            made[name] = column.reset_index(drop=True)
        return pd.DataFrame(made, copy=False), all_prints  # its columns as they are: not joined into blocks (a copy)

    def all_still_there(self, olds: np.ndarray, fresh: pd.DataFrame) -> bool:
        """Whether each fiche of the previous reading is in the new one, taken back (a position
        of ``olds``) or read again (among the ``fresh`` rows): :func:`none_gone`."""
        return none_gone(self.actors["id"], olds, fresh["id"] if len(fresh) else pd.Series([], dtype=object))


class _Picking:
    """Where each row of a merge comes from (:meth:`TakenBack.merged`): positions in the previous
    reading, or past it in the fresh rows. Held as an index into the previous rows (a fresh row's
    entry 0) and the few fresh rows apart, so that a column is picked in one new array, with no
    temporary array of a million positions or values (at a million fiches, 17 MB a column at
    the top of the reread)."""

    def __init__(self, source: np.ndarray, n_old: int):
        self.n_old = n_old
        self.at_fresh = np.flatnonzero(source >= n_old)
        self.fresh = source[self.at_fresh] - n_old
        source[self.at_fresh] = 0
        self.index = source

    def picked(self, ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
        """The values of ``ours`` (the previous rows) then ``theirs`` (the fresh rows), in order."""
        picked = ours.take(self.index) if len(ours) else np.empty(len(self.index), dtype=ours.dtype)
        picked[self.at_fresh] = theirs[self.fresh]
        return picked

    def source(self) -> np.ndarray:
        """Positions in ``ours`` then ``theirs``, as one array (a copy)."""
        source = self.index.copy()
        source[self.at_fresh] = self.fresh + self.n_old
        return source


def _in_france(lat: float, lon: float) -> bool:
    return any(a <= lat <= b and c <= lon <= d for a, b, c, d in _FRANCE_BOXES)


class _RowValidator:
    """Validates one raw row; caches referential look-ups, which repeat across rows."""

    def __init__(self, referential: Referential) -> None:
        self.referential = referential
        self._cache: dict[tuple[str, str], str | None] = {}
        self.columns = columns.columns()
        self.names = frozenset(c.name for c in self.columns)
        self._kinds: dict[str, tuple[columns.Column, ...]] = {}

    def _of_kind(self, kind: str) -> tuple[columns.Column, ...]:
        """The columns of ``kind`` (looked up once: every row asks)."""
        if kind not in self._kinds:
            self._kinds[kind] = tuple(c for c in self.columns if c.kind == kind)
        return self._kinds[kind]

    def _resolve(self, category: str, value: str) -> str | None:
        key = (category, value)
        if key not in self._cache:
            self._cache[key] = self.referential.resolve(category, value)
        return self._cache[key]

    def validate(self, raw: dict[str, str], line: int) -> tuple[dict, list[Issue]]:
        issues: list[Issue] = []
        record: dict = {c.name: raw.get(c.name, "") for c in self.columns}
        for extra, value in raw.items():
            if extra and extra not in self.names:
                record[extra] = value

        for column in self.columns:
            if column.required and not record[column.name]:
                issues.append(
                    Issue(line, column.name, "", f"la colonne « {column.name} » est obligatoire ; remplissez-la")
                )

        for column in self.columns:
            if column.kind == columns.REFERENTIAL:
                record[column.name], found = self._referential_cell(
                    column.category, column.name, record[column.name], column.multi, line
                )
                issues.extend(found)
            elif column.kind in (columns.LIST, columns.ZONES):
                record[column.name] = tuple(split_cell(record[column.name]))
        if not record["type"]:
            issues.append(Issue(line, "type", "", "type d'acteur absent : la fiche est « À classer »", WARNING))
            record["type"] = UNCLASSIFIED

        issues.extend(self._check_codes(record, line))
        issues.extend(self._check_position(record, line))
        issues.extend(self._check_contacts(record, line))
        issues.extend(self._check_geocoding(record, line))
        if not any(record[c] for c in PLACE_COLUMNS) and record["nom"]:
            issues.append(
                Issue(
                    line,
                    "adresse",
                    "",
                    (
                        "rien pour placer l'acteur : remplissez l'adresse, le code postal, la commune "
                        "ou la latitude et la longitude"
                    ),
                )
            )
        record["visibilite"], record[REASON_COLUMN], found = self._visibility(record, raw.get("type", ""), line)
        issues.extend(found)
        for column in self._of_kind(columns.DATE):
            record[column.name], found = self._parse_date(column.name, record[column.name], line)
            issues.extend(found)
        for column in self._of_kind(columns.YES_NO):
            answer = fields.yes_no(record[column.name])
            if answer.problem:
                issues.append(Issue(line, column.name, record[column.name], answer.problem, WARNING))
            record[column.name] = answer.value == "oui"
        if record["type"] == "professionnel" and not record["profession"]:
            issues.append(Issue(line, "profession", "", "un·e professionnel·le devrait avoir une profession", WARNING))
        if record["type"] == "aller_vers" and not record["zone_intervention"]:
            issues.append(
                Issue(
                    line,
                    "zone_intervention",
                    "",
                    ("une action d'aller-vers devrait indiquer les codes INSEE ou QPV qu'elle couvre"),
                    WARNING,
                )
            )
        return record, issues

    def _visibility(self, record: dict, written_type: str, line: int) -> tuple[str, str, list[Issue]]:
        """``(visibility, reason, issues)``: the cell as written when it says public or membres;
        else the rule of :mod:`reseaux.acces.access`, with a warning when it keeps an « À classer » fiche
        from visitors."""
        written = fields.visibility(record["visibilite"])
        if written.problem:
            return (
                DEFAULT_VISIBILITY,
                UNREADABLE,
                [
                    Issue(
                        line,
                        "visibilite",
                        record["visibilite"],
                        f"{written.problem} ; la fiche reste réservée aux membres",
                        WARNING,
                    )
                ],
            )
        if written.value:
            return written.value, WRITTEN, []
        visibility, reason = default_visibility(record, self.referential, written_type)
        if reason == NO_SIGN:
            return (
                visibility,
                reason,
                [
                    Issue(
                        line,
                        "visibilite",
                        "",
                        (
                            "fiche à classer, rien n'y dit un établissement : elle ne sera pas visible sans connexion ; "
                            "donnez-lui un type ou écrivez public dans « visibilite »"
                        ),
                        WARNING,
                    )
                ],
            )
        return visibility, reason, []

    def _referential_cell(self, category: str, column: str, value: str, multi: bool, line: int):
        issues: list[Issue] = []
        if not value:
            return (() if multi else ""), issues
        if multi:
            parts = split_cell(value)
            if len(parts) == 1 and not self._resolve(category, value):
                # A comma or a slash (« Tout public/Enfants 0-3 ans » in Santé.fr files) splits
                # only when every piece is a known entry: labels may hold both (« IST/VIH »).
                for separator in (",", "/"):
                    pieces = [p.strip() for p in value.split(separator) if p.strip()]
                    if len(pieces) > 1 and all(self._resolve(category, p) for p in pieces):
                        parts = pieces
                        break
        else:
            parts = [value]
        codes: list[str] = []
        for part in parts:
            code = self._resolve(category, part)
            if code is None:
                issues.append(self._unknown(category, column, part, line))
                # Kept as written: the fiche shows it, and no filter code ever equals it. A
                # type must be a referential entry (colour, legend): it becomes « À classer ».
                code = UNCLASSIFIED if category == "type" else part
            if code not in codes:
                codes.append(code)
        return (tuple(codes) if multi else (codes[0] if codes else "")), issues

    def _unknown(self, category: str, column: str, value: str, line: int) -> Issue:
        suggestion = self.referential.suggest(category, value)
        hint = (
            f" ; vouliez-vous dire « {suggestion} » ?"
            if suggestion
            else " ; ajoutez-la au référentiel ou recodez-la (page « Qualité de l'annuaire »)"
        )
        kept = "fiche « À classer »" if category == "type" else "valeur gardée telle quelle"
        return Issue(line, column, value, f"« {value} » : {UNKNOWN[category]}, {kept}{hint}", WARNING)

    def _check_codes(self, record: dict, line: int) -> list[Issue]:
        issues = []
        for column in self._of_kind(columns.POSTCODE):
            name = column.name
            postcode = fields.postcode(record[name])
            if postcode.problem:
                issues.append(Issue(line, name, record[name], postcode.problem, WARNING))
            record[name] = postcode.value
        for column in self._of_kind(columns.INSEE):
            name = column.name
            insee = fields.insee(record[name])
            if insee.problem:
                issues.append(Issue(line, name, record[name], f"{insee.problem} ; ignoré", WARNING))
            record[name] = "" if insee.problem else insee.value
        for column in self._of_kind(columns.ZONES):
            name = column.name
            zones = [fields.zone(code) for code in record[name]]
            for code, reading in zip(record[name], zones, strict=True):
                if reading.problem:
                    issues.append(Issue(line, name, code, f"{reading.problem} ; ignoré", WARNING))
            record[name] = tuple(r.value for r in zones if not r.problem)
        return issues

    @staticmethod
    def _check_position(record: dict, line: int) -> list[Issue]:
        """Keep a valid position; a bad one is ignored with a warning (the address can place it)."""
        lat_text, lon_text = record["latitude"], record["longitude"]
        record["latitude"] = record["longitude"] = None
        if not lat_text and not lon_text:
            return []
        issues = []
        for column, text in (("latitude", lat_text), ("longitude", lon_text)):
            reading = fields.coordinate(text)
            if reading.problem:
                issues.append(Issue(line, column, text, f"{reading.problem} : position ignorée", WARNING))
        if issues:
            return issues
        lat, lon = fields.decimal(lat_text) if lat_text else None, fields.decimal(lon_text) if lon_text else None
        if lat is None or lon is None:
            missing = "longitude" if lon is None else "latitude"
            return [
                Issue(
                    line,
                    missing,
                    "",
                    "latitude et longitude vont ensemble : remplissez les deux ou aucune ; position ignorée",
                    WARNING,
                )
            ]
        if not _in_france(lat, lon):
            if _in_france(lon, lat):
                record["latitude"], record["longitude"] = lon, lat
                return [
                    Issue(
                        line,
                        "latitude",
                        lat_text,
                        f"latitude {lat_text} et longitude {lon_text} semblent inversées : échangées ; "
                        "corrigez le fichier",
                        WARNING,
                    )
                ]
            return [
                Issue(
                    line,
                    "latitude",
                    lat_text,
                    f"la position ({lat_text}, {lon_text}) est hors de France : position ignorée ; vérifiez-la "
                    "ou videz latitude et longitude pour géocoder l'adresse",
                    WARNING,
                )
            ]
        record["latitude"], record["longitude"] = lat, lon
        return []

    def _check_contacts(self, record: dict, line: int) -> list[Issue]:
        """A bad address or link is dropped (it would make a broken link); a bad phone is kept, said."""
        issues = []
        for kind, rule, dropped in (
            (columns.EMAIL, fields.email, "adresse ignorée"),
            (columns.URL, fields.website, "lien non affiché"),
        ):
            for column in self._of_kind(kind):
                name = column.name
                reading = rule(record[name])
                if reading.problem:
                    issues.append(Issue(line, name, record[name], f"{reading.problem} ; {dropped}", WARNING))
                record[name] = "" if reading.problem else reading.value
        for column in self._of_kind(columns.PHONE):
            name = column.name
            phone = fields.phone(record[name])
            if phone.problem and phone.value != record[name]:  # read again with its lost leading 0
                issues.append(Issue(line, name, record[name], f"{phone.problem} ; corrigez le fichier", WARNING))
            elif phone.problem:
                issues.append(Issue(line, name, record[name], phone.problem, WARNING))
            record[name] = phone.value
        return issues

    def _check_geocoding(self, record: dict, line: int) -> list[Issue]:
        issues = []
        for column in self._of_kind(columns.GEOCODING_SOURCE):
            name = column.name
            source = record[name].strip().lower()
            if source and source not in GEOCODING_SOURCES:
                issues.append(
                    Issue(
                        line,
                        name,
                        source,
                        f"« {source} » : source inconnue (ban, cache, commune, manuel ou fichier)",
                        WARNING,
                    )
                )
            record[name] = source
        for column in self._of_kind(columns.SCORE):
            name = column.name
            score = fields.decimal(record[name]) if record[name] else None
            if record[name] and (score is None or not 0 <= score <= 1):
                issues.append(Issue(line, name, record[name], "le score doit être un nombre entre 0 et 1", WARNING))
                score = None
            record[name] = score
        return issues

    @staticmethod
    def _parse_date(name: str, value: str, line: int) -> tuple[str, list[Issue]]:
        reading = fields.update_date(value)
        if reading.problem:
            return value, [Issue(line, name, value, reading.problem, WARNING)]
        return reading.value, []


class _Records:
    """The validated records, kept column by column as they come — as ``pd.DataFrame(records)``
    makes them of a list of dicts (columns in the order keys first appear, NaN where a record
    lacks one), without the dicts: a million of thirty-odd keys were about 1.2 GB.

    Every ``CHUNK`` records the Python values are made pandas arrays (text in Arrow, a few bytes
    a value instead of a Python string of fifty): a million fiches held as Python objects until
    the end peaked at 2.3 GB. Equal tuples of codes (thématiques, publics…) are one tuple, shared
    (they cannot be changed in place): a million rows share a few hundred. Each column gets the
    dtype ``pd.Series`` would give the whole column at once; when its chunks disagree (a column
    empty in one chunk, text in another), it is made again from its values, as before."""

    CHUNK = 20_000
    #: Distinct tuples shared per column at most (beyond, each row keeps its own). At 4,096, the
    #: 11,155 lists of themes of a million synthetic fiches made 0.2 million tuples, kept among
    #: each block's temporaries (docs/mesures.md, « Quatorzième passage »).
    SHARED = 65_536

    def __init__(self) -> None:
        self._columns: dict[str, list] = {}
        self._chunks: dict[str, list[pd.Series]] = {}
        self._shared: dict[str, dict[tuple, tuple]] = {}
        self._n = 0
        self._flushed = 0  # rows already in chunks, in every column

    def append(self, record: dict) -> None:
        for key, value in record.items():
            column = self._columns.get(key)
            if column is None:  # a key no record had: NaN in the rows before
                self._chunks[key] = [pd.Series([np.nan] * self._flushed)] if self._flushed else []
                column = self._columns[key] = [np.nan] * (self._n - self._flushed)
            if type(value) is tuple and value:
                shared = self._shared.setdefault(key, {})
                value = shared.get(value, value) if len(shared) >= self.SHARED else shared.setdefault(value, value)
            column.append(value)
        self._n += 1
        if len(record) < len(self._columns):  # a key this record lacks
            for column in self._columns.values():
                if len(column) < self._n - self._flushed:
                    column.append(np.nan)
        if self._n - self._flushed >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        for key, column in self._columns.items():
            if column:
                self._chunks[key].append(pd.Series(column))
                self._columns[key] = []
        self._flushed = self._n

    def frame(self) -> pd.DataFrame:
        """The records as one frame; the chunks are let go as their columns are made."""
        self._flush()
        made = {}
        for key in list(self._chunks):
            chunks = self._chunks.pop(key)
            if len({str(chunk.dtype) for chunk in chunks}) == 1:
                made[key] = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
            else:  # chunks of different dtypes: the dtype of the whole column, as pd.Series gives it
                made[key] = pd.Series([value for chunk in chunks for value in chunk.tolist()])
        return pd.DataFrame(made)


def _to_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The actors, their positions as two columns of numbers (see :mod:`reseaux.annuaire.model`)."""
    if frame.empty:
        frame = pd.DataFrame(columns=[*columns.names(), "ligne"])
    for name in ("latitude", "longitude"):  # placed when both are there (model.placed_mask)
        if frame[name].dtype != np.float64:  # numbers already after a merge: not copied at its top
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    return frame
