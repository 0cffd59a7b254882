"""A store that does not answer — the database of the directory, of the documents or of the
shared state — as one error type, found in an exception's causes, and what follows it: the
connection pool of that database forgotten. Imports nothing of reseaux (every store and the
pages' error handler use it)."""

from __future__ import annotations

import errno
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StorageUnavailable(OSError):
    """A store that cannot be reached, or that cut the connection (a transaction cut short is not
    committed: nothing was written): the database of the directory, of the documents or of the
    shared state. ``reason`` is what a person reads (French, no password); an OSError, so that
    the callers that report a disk that cannot be written report this too."""

    def __init__(self, where: str, cause: Exception | str) -> None:
        text = str(cause).strip()
        first = text.splitlines()[0] if text else type(cause).__name__
        self.reason = f"{where} ne répond pas ({first})"
        super().__init__(errno.EIO, self.reason)

    def __str__(self) -> str:
        return self.reason


def unavailable(exc: BaseException | None) -> str | None:
    """What to tell a person when ``exc`` (or what caused it) is a store that does not answer;
    None for any other error."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, StorageUnavailable):
            return exc.reason
        if type(exc).__module__.startswith(("psycopg", "psycopg_pool")) and _connection_error(exc):
            return f"La base PostgreSQL ne répond pas ({type(exc).__name__})"
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _connection_error(exc: BaseException) -> bool:
    """A driver's error that means the server is not there (not a lock waited for too long)."""
    import psycopg

    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) and not isinstance(
        exc, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled
    )


@contextmanager
def reaching(where: str, pools: tuple[dict, threading.Lock, str] | None = None) -> Iterator[None]:
    """Turn a driver's error that means the server is not there into :class:`StorageUnavailable`
    naming ``where`` (French, no password); ``pools`` (the pools, their lock, the URL): the pool
    of that URL is forgotten then (:func:`forget_pool`)."""
    try:
        yield
    except Exception as exc:
        if type(exc).__module__.startswith("psycopg") and _connection_error(exc):
            if pools is not None:
                forget_pool(*pools)
            raise StorageUnavailable(where, exc) from exc
        raise


def forget_pool(pools: dict, lock: threading.Lock, url: str) -> None:
    """Drop the connection pool of ``url`` after an outage: the next request opens a new one, which
    connects at once. A pool whose connections failed retries on a delay that doubles each time: a
    cut of twenty seconds left the clicks refused for ten more after the server was back."""
    with lock:
        found = pools.pop(url, None)
    if found is not None:  # closed aside: a click does not wait for its threads
        threading.Thread(target=found.close, kwargs={"timeout": 1.0}, daemon=True).start()
