"""Write a bench's section into bench/results.md (the sections of bench_load, bench_chaos and
bench_webinar: each run replaces its own, the others stay)."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.md"


def replace_section(lines: list[str], title: str) -> None:
    """Put ``lines`` (starting with ``title``) in place of the section of that title, or at the end."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if title in text:
        head, rest = text.split(title, 1)
        tail = rest.split("\n## ", 1)
        text = head + ("## " + tail[1] if len(tail) > 1 else "")
    RESULTS.write_text(text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
