"""How a parsed directory is written to the parse cache (``app_data``): as it is held, without
the copies the usual pickling makes of a million rows.

``pickle`` keeps every object it writes until the end of the write (its memo), and pandas and
pandas pickles its columns through copies: each Arrow text column joined into one piece, each
column of code tuples made a Python list. At 1,000,000 fiches those copies
were 0.4 GB on top of the directory, at the very top of a cold start. Here:

- Arrow text goes as its chunks' buffers, each once (protocol 5 writes them without copying);
- a column of tuples (thématiques, publics…) goes as one number per row and its distinct tuples
  (read back, equal tuples are one object, as the parse shares them).

Read back by ``pickle.load``, every column has its dtype and values (tests/test_directory_cache.py).
"""

from __future__ import annotations

import copyreg
import pickle
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.arrays import ArrowStringArray

from reseaux.text import held_text


def dump(kept, file: BinaryIO) -> None:
    """Write ``kept`` (a directory and its search text) to ``file``, for ``pickle.load``."""
    pickler = pickle.Pickler(file, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[ArrowStringArray] = _TextBuffers().reduce
    pickler.dispatch_table[np.ndarray] = _reduce_array
    pickler.dump(kept)


class _TextBuffers:
    """Arrow text written as its chunks' buffers, each buffer once. A column read as the changes
    of the one before is slices of its chunks (``model.shared_text``); Arrow writes a slice
    with its whole buffers, so the three slices of a column with one fiche changed were written
    as three columns. Here a buffer several chunks share is one object, written once by pickle's
    memo (it holds the buffers, which the directory holds anyway)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[int, int], pa.Buffer] = {}

    def reduce(self, column: ArrowStringArray):
        chunks = held_text(column)
        parts = [(len(c), c.null_count, c.offset, [self.once(b) for b in c.buffers()]) for c in chunks.chunks]
        return _text, (parts, chunks.type, column.dtype)

    def once(self, buffer: pa.Buffer | None) -> pa.Buffer | None:
        if buffer is None:
            return None
        return self.seen.setdefault((buffer.address, buffer.size), buffer)


def _text(parts: list, kind: pa.DataType, dtype) -> ArrowStringArray:
    chunks = [pa.Array.from_buffers(kind, length, buffers, nulls, offset) for length, nulls, offset, buffers in parts]
    return ArrowStringArray(pa.chunked_array(chunks, kind), dtype=dtype)


def _reduce_array(values: np.ndarray):
    """An array of objects whose columns (its rows: pandas keeps its object columns together, one
    per row of a block) are tuples written as codes and distinct tuples; any other as NumPy does."""
    if values.dtype != object or not values.size or values.ndim > 2:
        return values.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    rows = values.reshape(-1, values.shape[-1])
    parts = [_as_codes(row) for row in rows]
    if all(part is None for part in parts):
        return values.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    return _object_rows, ([row if part is None else part for row, part in zip(rows, parts, strict=True)], values.shape)


def _as_codes(row: np.ndarray) -> tuple[np.ndarray, list[tuple]] | None:
    """``row`` as a code per value and its distinct tuples; None unless every value is a tuple
    (a row of text is told at its first value, without hashing the million)."""
    if type(row[0]) is not tuple:
        return None
    try:
        codes, distinct = pd.factorize(row, use_na_sentinel=True)
    except TypeError:  # something unhashable (a list)
        return None
    if (codes < 0).any() or not all(type(value) is tuple for value in distinct):
        return None
    return codes.astype(np.min_scalar_type(max(len(distinct) - 1, 0))), list(distinct)  # 2 bytes a fiche, most often


def _object_rows(parts: list, shape: tuple[int, ...]) -> np.ndarray:
    values = np.empty(shape, dtype=object)
    rows = values.reshape(-1, shape[-1])  # a view: filling it fills ``values``
    for position, part in enumerate(parts):
        if isinstance(part, np.ndarray):
            rows[position] = part
        else:
            codes, distinct = part
            table = np.empty(len(distinct), dtype=object)
            for number, value in enumerate(distinct):  # one by one: NumPy would spread a tuple's items
                table[number] = value
            rows[position] = table[codes]
    return values
