"""One way to write HTML: autoescaping Jinja templates.

Every piece of HTML the app builds from data (a legend, a popup, a tooltip, a title, a layer's
name in the map's layer control) is rendered here, from a template where every value is escaped
unless it is itself :class:`Markup` made here. Nothing a person types or uploads — a layer's
label, a file name, a field, a fiche — can then become markup or script, whichever page, export
or image shows it. There is no escaping by hand elsewhere (a test looks for ``html.escape``
outside this module).

- :func:`render` renders a template (compiled once per source);
- :func:`text` is a plain value made safe to stand in HTML (what Leaflet writes with
  ``innerHTML``: the names of the layer control, tooltips, attributions).
"""

from __future__ import annotations

import re
from functools import lru_cache

from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup, escape

__all__ = ["Markup", "is_color", "render", "text"]

_ENV = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=False)


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return _ENV.from_string(source)


def render(source: str, /, **values) -> Markup:
    """The HTML of template ``source`` with ``values``, each escaped unless already Markup.

    Raises ``jinja2.UndefinedError`` for a value the template names and the call omits."""
    return Markup(_compiled(source).render(**values))


def text(value: object) -> Markup:
    """``value`` as text within HTML (``<``, ``>``, ``&``, quotes escaped); Markup as it is."""
    return escape("" if value is None else value)


_COLOR = re.compile(r"#[0-9A-Fa-f]{6}(?:[0-9A-Fa-f]{2})?|#[0-9A-Fa-f]{3}")


def is_color(value: object) -> bool:
    """True for a hexadecimal colour (#RGB, #RRGGBB, #RRGGBBAA): the only thing a registry or the
    referential may put into a style attribute (escaping keeps a value inside its attribute, not
    out of CSS: « red;background:url(…) » would still fetch)."""
    return isinstance(value, str) and _COLOR.fullmatch(value) is not None
