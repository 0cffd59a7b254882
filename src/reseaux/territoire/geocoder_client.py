"""The HTTP client of the Base Adresse Nationale's API (or addok): ``/search`` for one address,
``/search/csv`` for a batch, at most 50 requests per second, with a timeout and retries with
backoff; a server that cannot be reached or keeps failing is :class:`GeocoderUnavailable`.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from dataclasses import dataclass

import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential


class GeocoderUnavailable(Exception):
    """The geocoder could not be reached or kept failing (after retries)."""


@dataclass(frozen=True)
class Match:
    """A geocoder's best answer for one address."""

    latitude: float
    longitude: float
    score: float
    type: str
    label: str
    citycode: str = ""


class RateLimiter:
    """At most ``rate`` calls per second, shared by threads."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            time.sleep(delay)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (429, 500, 502, 503, 504)


class Geocoder:
    """A client of the BAN / addok API at ``base_url`` (e.g. ``https://data.geopf.fr/geocodage``)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        attempts: int = 3,
        rate: float = 50.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.limiter = RateLimiter(rate)
        self.requests = 0
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, read=max(timeout, 60.0)),
            transport=transport,
            headers={"User-Agent": "reseaux-carte/0.1"},
        )

    def search(self, query: str, *, postcode: str = "", citycode: str = "", limit: int = 1) -> list[Match]:
        """Return up to ``limit`` matches for one address, best first (empty when none)."""
        params = {"q": query[:200], "limit": str(limit)}
        if postcode:
            params["postcode"] = postcode
        if citycode:
            params["citycode"] = citycode
        response = self._call("GET", "/search", params=params)
        return [parse_feature(f) for f in response.json().get("features", [])]

    def search_csv(self, rows: list[dict[str, str]]) -> list[Match | None]:
        """Geocode ``rows`` (keys ``adresse``, ``code_postal``, ``commune``) in one ``/search/csv``."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["rx_id", "adresse", "code_postal", "commune"])
        writer.writeheader()
        for index, row in enumerate(rows):
            writer.writerow({"rx_id": index, **{k: row.get(k, "") for k in ("adresse", "code_postal", "commune")}})
        # The delimiter is said, not sniffed: the server's sniffer can guess wrong on some chunks.
        data = {"columns": ["adresse", "code_postal", "commune"], "delimiter": ","}
        files = {"data": ("adresses.csv", buffer.getvalue().encode("utf-8"), "text/csv")}
        response = self._call("POST", "/search/csv", data=data, files=files)
        return parse_csv_answer(response.content.decode("utf-8-sig"), len(rows))

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        @retry(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.5, max=4),
            reraise=True,
        )
        def attempt() -> httpx.Response:
            self.limiter.wait()
            self.requests += 1
            response = self.client.request(method, self.base_url + path, **kwargs)
            response.raise_for_status()
            return response

        try:
            return attempt()
        except httpx.TransportError as exc:
            raise GeocoderUnavailable(f"géocodeur {self.base_url} injoignable ({type(exc).__name__})") from exc
        except httpx.HTTPStatusError as exc:
            detail = exc.response.text[:200]
            raise GeocoderUnavailable(
                f"le géocodeur {self.base_url} a répondu {exc.response.status_code} ({detail})"
            ) from exc

    def close(self) -> None:
        self.client.close()


def parse_feature(feature: dict) -> Match:
    """Read one GeoJSON feature of a ``/search`` answer."""
    lon, lat = feature["geometry"]["coordinates"][:2]
    props = feature.get("properties", {})
    return Match(
        latitude=float(lat),
        longitude=float(lon),
        score=float(props.get("score", 0.0)),
        type=str(props.get("type", "")),
        label=str(props.get("label", "")),
        citycode=str(props.get("citycode", "") or ""),
    )


def parse_csv_answer(text: str, expected: int) -> list[Match | None]:
    """Read a ``/search/csv`` answer; rows come back in order, with ``rx_id`` to be sure."""
    results: list[Match | None] = [None] * expected
    for row in csv.DictReader(io.StringIO(text)):
        index = int(row["rx_id"])
        if not row.get("latitude") or not row.get("longitude"):
            continue
        results[index] = Match(
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
            score=float(row.get("result_score") or 0.0),
            type=row.get("result_type", ""),
            label=row.get("result_label", ""),
            citycode=row.get("result_citycode", "") or "",
        )
    return results
