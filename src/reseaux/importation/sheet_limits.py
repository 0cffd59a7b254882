"""What a spreadsheet costs to read, known before reading it: its XML elements counted, and a deadline.

A 300 KB workbook may unpack to 95 MB of XML: nine million empty styled cells, or millions of
shared strings, each one parsed by openpyxl at a few microseconds — minutes of a server's time
for a file that holds two rows. Counting the elements in the unpacked bytes (a regular
expression, no XML parsing) takes a second at most and tells the reader what it would cost.
"""

from __future__ import annotations

import re
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field

#: ``<c …>`` (a cell), ``<row …>`` and ``<si>`` (a shared string), with or without a namespace prefix.
_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,40}:)?(c|row|si)[\s/>]")
_CHUNK = 1 << 20


@dataclass
class PartCounts:
    """Elements counted in each part of a workbook: ``parts[name]["c"]`` cells, ``["row"]`` rows,
    ``["si"]`` shared strings."""

    parts: dict[str, Counter] = field(default_factory=dict)

    def total(self, element: str) -> int:
        return sum(counts[element] for counts in self.parts.values())

    def of(self, name: str | None, element: str) -> int:
        """In part ``name``; for a part not found (or ``None``), the most any part holds."""
        if name in self.parts:
            return self.parts[name][element]
        return max((counts[element] for counts in self.parts.values()), default=0)


def count_elements(archive: zipfile.ZipFile) -> PartCounts:
    """Cells, rows and shared strings in every part of ``archive``, read in chunks of 1 MB.

    A tag is counted by its opening ``<``: the chunk is cut at its last ``<`` (a tag is never cut
    in two), unless that ``<`` is far enough from the end to be complete already."""
    counts = PartCounts()
    for info in archive.infolist():  # every part: the sheet's may have any name (its path is in a .rels)
        found: Counter = Counter()
        pending = b""
        with archive.open(info) as source:
            while chunk := source.read(_CHUNK):
                text = pending + chunk
                cut = text.rfind(b"<")
                if cut < 0 or len(text) - cut > 64:
                    cut = len(text)
                found.update(_ELEMENT.findall(text, 0, cut))
                pending = text[cut:]
        found.update(_ELEMENT.findall(pending))
        counts.parts[info.filename] = Counter({k.decode(): v for k, v in found.items()})
    return counts


#: A document type declaration: the only place XML declares entities (« billion laughs »,
#: external entities). No spreadsheet program writes one.
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


def declares_entities(archive: zipfile.ZipFile) -> bool:
    """Whether an XML part of ``archive`` holds a document type declaration, read in chunks of
    1 MB (a declaration cut between two chunks is found: the end of one is kept for the next)."""
    for info in archive.infolist():
        pending = b""
        with archive.open(info) as source:
            while chunk := source.read(_CHUNK):
                if _DOCTYPE.search(pending + chunk):
                    return True
                pending = chunk[-16:]
    return False


class Deadline:
    """Seconds granted to a piece of work, checked between its steps (wall-clock time: what a
    person waits)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() > self._end


#: An OpenDocument table's rows and cells, with the attributes that repeat them.
_ODS_TAG = re.compile(rb"<(/?)(?:[\w.-]+:)?(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*)>")
_REPEAT = re.compile(rb"number-(?:rows|columns)-repeated\s*=\s*[\"'](\d{1,12})[\"']")


@dataclass
class OdsExtent:
    """What pandas would build from an OpenDocument workbook: for the sheet being counted,
    ``rows`` × ``width`` cells (it makes each table square), after ``before`` cells of the sheets
    before it; ``elements`` cell elements in all; ``complete`` is False when counting stopped at
    a bound (the figures are then at least that)."""

    rows: int = 0
    width: int = 0
    elements: int = 0
    complete: bool = True
    before: int = 0

    @property
    def cells(self) -> int:
        return self.before + self.rows * self.width


def ods_extent(archive: zipfile.ZipFile, *, max_rows: int, max_cells: int) -> OdsExtent:
    """The extent of the tables of ``content.xml`` (every sheet: pandas reads them all), counted as
    pandas' reader expands them: a cell or row « repeated » a billion times is a billion cells, but
    empty rows and cells count only before a filled one (a sheet's trailing blank area is not
    read). Stops past a bound: ``max_rows`` in one sheet, ``max_cells`` in all."""
    extent, state = OdsExtent(), {"tables": 0, "repeat": 1, "length": 0, "empty_cells": 0, "empty_rows": 0}
    pending = b""
    with archive.open("content.xml") as source:
        while chunk := source.read(_CHUNK):
            text = pending + chunk
            cut = text.rfind(b"<")
            if cut < 0 or text.find(b">", cut) >= 0:
                cut = len(text)
            if len(text) - cut > _CHUNK:  # a tag of more than a megabyte: no spreadsheet writes one
                extent.complete = False
                return extent
            for match in _ODS_TAG.finditer(text, 0, cut):
                if (
                    not _ods_step(match, extent, state)
                    or extent.rows > max_rows
                    or extent.cells > max_cells
                    or extent.elements > max_cells
                ):
                    extent.complete = (
                        extent.rows <= max_rows and extent.cells <= max_cells and extent.elements <= max_cells
                    )
                    return extent
            pending = text[cut:]
    return extent


def _ods_step(match: re.Match, extent: OdsExtent, state: dict) -> bool:
    """Account for one tag."""
    closing, name, attributes = match.group(1), match.group(2), match.group(3)
    found = _REPEAT.search(attributes)
    repeat = int(found.group(1)) if found else 1
    if name == b"table":
        if not closing and not attributes.endswith(b"/"):  # a new sheet: the one before is counted
            state["tables"] += 1
            extent.before += extent.rows * extent.width
            extent.rows = extent.width = 0
            state.update(empty_rows=0)
        return True
    if name == b"table-row" and not closing:
        state.update(repeat=repeat, length=0, empty_cells=0)
        if attributes.endswith(b"/"):
            state["empty_rows"] += repeat
        return True
    if name == b"table-row":  # its end: a filled row brings the blank rows before it
        if state["length"]:
            extent.rows += state["empty_rows"] + state["repeat"]
            extent.width = max(extent.width, state["length"])
            state["empty_rows"] = 0
        else:
            state["empty_rows"] += state["repeat"]
        return True
    if closing:
        return True
    extent.elements += 1
    if not attributes.endswith(b"/") or b"value-type" in attributes:  # may hold a value: counted (pandas may not)
        state["length"] += state["empty_cells"] + repeat
        state["empty_cells"] = 0
    else:
        state["empty_cells"] += repeat
    return True
