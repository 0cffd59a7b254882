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
    """Cells, rows and shared strings in every XML part of ``archive``, read in chunks of 1 MB.

    A tag is counted by its opening ``<``: the chunk is cut at its last ``<`` (a tag is never cut
    in two), unless that ``<`` is far enough from the end to be complete already."""
    counts = PartCounts()
    for info in archive.infolist():
        if not info.filename.lower().endswith((".xml", ".rels")):
            continue
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


class Deadline:
    """Seconds granted to a piece of work, checked between its steps (wall-clock time: what a
    person waits)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() > self._end
