"""Geocode a directory file in place: read it raw, geocode, write it back atomically.

The file is handled as the spreadsheet holds it — every row, valid or not, every column,
unknown ones included, in its separator — so geocoding never loses anything; only the
position and ``geocodage_*`` cells change, and new columns are appended when missing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from reseaux import config
from reseaux.directory import map_header, read_table
from reseaux.exports import write_atomic
from reseaux.geocoding import DEFAULT_MIN_SCORE, CommuneLocator, GeoCache, Geocoder, Summary, geocode_rows

WRITTEN = ("latitude", "longitude", "code_insee", "geocodage_score", "geocodage_type",
           "geocodage_label", "geocodage_source")


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
) -> Summary:
    """Geocode the rows of the directory at ``path`` that need it and rewrite the file.

    Raises DirectoryError when the file cannot be read. The write is atomic: a crash leaves
    the previous file whole.
    """
    data = Path(path).read_bytes()
    table, encoding, delimiter = read_table(data)
    header, _ = map_header(table[0])
    names = list(header)
    raw_header = list(table[0])
    for column in WRITTEN:
        if column not in names:
            names.append(column)
            raw_header.append(column)
    rows = [dict(zip(names, cells + [""] * (len(names) - len(cells)), strict=False))
            for cells in table[1:]]
    blank = [not any(v.strip() for v in row.values()) for row in rows]
    work = [row for row, empty in zip(rows, blank, strict=True) if not empty]
    lines = [i + 2 for i, empty in enumerate(blank) if not empty]

    summary = geocode_records(work, offline=offline, min_score=min_score, force=force, geocoder_url=geocoder_url,
                              cache_path=cache_path, communes_path=communes_path, progress=progress)
    # Problems were numbered as if rows were contiguous; give them their spreadsheet line.
    summary.problems = [(lines[line - 2], message) for line, message in summary.problems]

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n" if b"\r\n" in data[:4096] else "\n")
    writer.writerow(raw_header)
    for cells, row in zip(table[1:], rows, strict=True):
        out = [row[name] if name else (cells[i] if i < len(cells) else "") for i, name in enumerate(names)]
        writer.writerow(out + cells[len(names):])  # cells beyond the header are kept too
    write_atomic(Path(path), _encode(buffer.getvalue(), encoding))
    return summary


def _encode(text: str, encoding: str) -> bytes:
    """Write back in the file's encoding; fall back to UTF-8 with BOM (Excel reads it)."""
    try:
        return text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return text.encode("utf-8-sig")
