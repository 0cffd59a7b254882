"""A map's page is rendered once: what a template wrote is never read again as a template.

folium and branca build a map's page in two passes. Each element's macros are rendered (the
values a map holds: a perimeter's name, a layer's label, a title, a fiche in a popup), and
their output is put in the page as a ``branca.element.Element`` whose *template* is that output,
rendered again when the page is. A value holding ``{{ … }}`` was then run by Jinja, with Python
within reach (``{{ cycler.__init__.__globals__.os … }}``): a perimeter file, a layer's label, a
presentation's title or a fiche's name could run code on the server, or change what the page
says. And each of those outputs was compiled by Jinja at every run of a page (80 templates on the
map page, 40 ms at a million fiches).

:func:`install` makes an ``Element`` given a text hold it as it is (:class:`Verbatim`): the
value is written once, by the template that names it. The templates of folium's and branca's
classes, and a ``template_name`` (a file of their package), are untouched; ``branca.element.Div``,
whose own template is given as text, keeps it as a template. The one thing folium asked of the
second pass, a style naming another element (``{{'name'}}``, a fill pattern's) is not used here.
"""

from __future__ import annotations

import functools

import branca.element
from jinja2 import Template


class Verbatim:
    """Text that renders as itself: what ``Element`` asks of its template."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, *_args, **_values) -> str:
        return self.text


def _holding_text(init):
    @functools.wraps(init)
    def __init__(self, template: str | None = None, template_name: str | None = None) -> None:
        init(self, None, template_name)
        self._template_str = template
        if template is not None:
            self._template = Verbatim(template)

    return __init__


def _restoring_text(setstate):
    @functools.wraps(setstate)
    def __setstate__(self, state: dict) -> None:
        setstate(self, state)
        if state.get("_template_str") is not None:
            self._template = Verbatim(state["_template_str"])

    return __setstate__


def _div_template(init):
    @functools.wraps(init)
    def __init__(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        self.html._template = Template(self.html._template_str)  # branca's own: its children

    return __init__


@functools.cache
def install() -> None:
    """Once a process, before any map is built (``reseaux.carte`` does it when imported)."""
    element = branca.element.Element
    element.__init__ = _holding_text(element.__init__)
    element.__setstate__ = _restoring_text(element.__setstate__)
    branca.element.Div.__init__ = _div_template(branca.element.Div.__init__)
    check()


#: What Jinja would run, and what a page must show of it.
_PROBE = "«{{ 6*7 }}»"


def check() -> None:
    """Raise RuntimeError when an element given a text would be rendered as a template again, or
    a ``Div`` no longer lays out its children: a branca whose elements are made otherwise than
    :func:`install` expects. Then a map would run what a perimeter file says: the app does not
    start (``reseaux.carte`` is imported before any page) rather than serve such maps."""
    written = branca.element.Element(_PROBE).render()
    page = branca.element.Figure()
    box = branca.element.Div().add_to(page)
    box.html.add_child(branca.element.Element(_PROBE))
    if written != _PROBE or _PROBE not in page.render():
        raise RuntimeError(
            "branca rend de nouveau comme un gabarit le texte d'un élément de carte (carte/verbatim.py "
            "ne s'applique plus à cette version) : gardez la version de branca de requirements.lock."
        )
