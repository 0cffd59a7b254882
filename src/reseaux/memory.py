"""How the process takes memory from the system: what a cold start frees goes back to it.

A cold start parses the directory twenty thousand rows at a time: each chunk's Arrow text stays,
the rows' temporaries go. With pyarrow's own allocator (mimalloc) and glibc's moving threshold
for mapping large blocks, the two interleave and the memory freed stays with the process: at
1,000,000 fiches a cold start held about 0.5 GB more than a start from the parse cache, for the
same directory. Arrow taking its buffers from the system allocator, and glibc mapping every block
of 128 KiB or more on its own (a fixed threshold, not raised as blocks are freed), give it back as
it is freed (docs/mesures.md, « Septième passage »).
"""

from __future__ import annotations

import ctypes
import os
import sys

#: Blocks from this size up are mapped on their own, and unmapped when freed (glibc's default
#: start, kept fixed: glibc raises it up to 32 MiB as large blocks are freed).
MMAP_THRESHOLD = 128 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>


def return_freed_memory() -> None:
    """Make Arrow and the C library give freed memory back (idempotent; an administrator's own
    ``ARROW_DEFAULT_MEMORY_POOL`` or ``MALLOC_MMAP_THRESHOLD_`` is left as set)."""
    import pyarrow as pa

    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pa.set_memory_pool(pa.system_memory_pool())
    if sys.platform.startswith("linux") and not os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # the process's own C library
        if mallopt is not None:
            mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
