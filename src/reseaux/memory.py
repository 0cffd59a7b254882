"""How the process takes memory from the system: what a cold start frees goes back to it.

A cold start parses the directory twenty thousand rows at a time: each chunk's Arrow text stays,
the rows' temporaries go. With pyarrow's own allocator (mimalloc) and glibc's moving threshold
for mapping large blocks, the two interleave and the memory freed stays with the process: at
1,000,000 fiches a cold start held about 0.5 GB more than a start from the parse cache, for the
same directory. While a directory is read, Arrow takes its buffers from the system allocator,
and glibc maps every block of 128 KiB or more on its own (a fixed threshold, not raised as blocks
are freed), so that what is freed goes back (docs/mesures.md, « Septième passage »).

Only while reading: the filters' Arrow work is three times slower on the system allocator (or
jemalloc) than on mimalloc, which keeps the pages it has already touched (0.09 s against 0.31 s for
one filter on a million fiches), and what a filter allocates is freed at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
import threading
from collections.abc import Iterator

#: Blocks from this size up are mapped on their own, and unmapped when freed (kept fixed: glibc
#: raises its own, from 128 KiB, up to 32 MiB as large blocks are freed). At 128 KiB, a cold
#: reading of a million fiches peaked at 784 MB, at 32 KiB at 702 MB, as fast (39 s); the short
#: columns' buffers of a 20,000-row block (offsets, postcodes) stayed in the heap between the
#: block's temporaries (docs/mesures.md, « Quatorzième passage »).
MMAP_THRESHOLD = 32 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>

_lock = threading.Lock()
_readers = 0
_pool_before = None


@contextlib.contextmanager
def reading() -> Iterator[None]:
    """Read a directory in this block with memory given back as it is freed (several threads may
    read at once: the allocator is set back when the last one is done). An administrator's own
    ``ARROW_DEFAULT_MEMORY_POOL`` or ``MALLOC_MMAP_THRESHOLD_`` is left as set."""
    global _readers, _pool_before
    import pyarrow as pa

    _fixed_mmap_threshold()
    own_pool = not os.environ.get("ARROW_DEFAULT_MEMORY_POOL")
    with _lock:
        _readers += 1
        if _readers == 1 and own_pool:
            _pool_before = pa.default_memory_pool()
            pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        with _lock:
            _readers -= 1
            if _readers == 0 and _pool_before is not None:
                pa.set_memory_pool(_pool_before)
                _pool_before = None
            if _readers == 0:
                give_back()


def give_back() -> None:
    """glibc: hand the free pages of the heap back to the system (``malloc_trim``). A reading
    frees millions of small blocks (the rows' cells, as Python objects, a block at a time) among
    those it keeps: the freed ones stayed with the process, 92 MB after a cold reading of a
    million fiches (828 → 736 MB resident), on which the map's first page then built its own.
    Tens of milliseconds, once a reading."""
    if sys.platform.startswith("linux"):
        trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
        if trim is not None:
            trim(0)


@functools.cache
def _fixed_mmap_threshold() -> None:
    """glibc: blocks of :data:`MMAP_THRESHOLD` and more mapped on their own, for good (numpy's
    large arrays too: as fast, measured on the filters). Once a process: it stays set."""
    if sys.platform.startswith("linux") and not os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # the process's own C library
        if mallopt is not None:
            mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
