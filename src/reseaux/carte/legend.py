"""The legend: what the actors' colours and the perimeters drawn mean.

A legend is built server-side from an autoescaping template (:func:`legend_html`) and shown by a Leaflet
control, either fixed (:class:`Legend`) or coming and going with a layer (:class:`LegendLayer`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from reseaux.annuaire.referential import Referential
from reseaux.carte.mapbits import script_json
from reseaux.markup import Markup, render
from reseaux.territoire.layers import LayerSpec

#: colour-by choice -> (directory column, referential category, French label)
COLOR_BY: dict[str, tuple[str, str, str]] = {
    "type": ("type", "type", "Type d'acteur"),
    "thematique": ("thematiques", "thematique", "Thématique"),
    "profession": ("profession", "profession", "Profession"),
}


OTHER_COLOR = "#9E9E9E"


def legend_codes(actors: pd.DataFrame, color_by: str) -> list[str]:
    """Codes of the colour-by category that appear in ``actors`` (for the legend); ``""`` when
    some actor has none (the legend then explains the grey dot)."""
    column = COLOR_BY[color_by][0]
    seen: set[str] = set()
    try:  # each distinct value once: at 1,000,000 actors a few distinct values stand for them all
        values = pd.unique(actors[column])
    except TypeError:  # lists in the column (a frame not read by the loader)
        values = actors[column]
    for value in values:
        if isinstance(value, tuple | list):
            seen.update(value or [""])
        else:
            seen.add(value or "")
    return sorted(seen)


_LEGEND = """\
<details class="rx-legend" open><summary>Légende</summary><div class="rx-sec">Acteurs — {{ title }}</div>
{%- for color, label in items %}<div class="rx-item"><span class="rx-dot" style="background:{{ color }}"></span>{{ label }}</div>{% endfor %}
{%- if other %}<div class="rx-item"><span class="rx-dot" style="background:{{ other_color }}"></span>{{ other }}</div>{% endif %}
{%- if items or other %}<div class="rx-item rx-cluster-key"><span class="rx-bubble" aria-hidden="true"><div><span>N</span></div></span>\
Groupe de N acteurs — zoomez ou cliquez pour les séparer</div>{% endif %}
{%- if layers %}<div class="rx-sec">Périmètres</div>{% endif %}
{%- for color, style, label in layers %}<div class="rx-item"><span class="rx-swatch" style="border-color:{{ color }};\
border-style:{{ style }};background:{{ color }}22"></span>{{ label }}</div>{% endfor %}</details>"""


def legend_html(referential: Referential, color_by: str, codes: Sequence[str], layers: Sequence[LayerSpec]) -> Markup:
    """Return the legend's HTML (every label escaped by the template): actor colours, the cluster
    bubbles (``.rx-bubble``, drawn by map.css's rule for ``.rx-cluster``; shown only while the map
    draws one), then each shown perimeter layer."""
    _, category, title = COLOR_BY[color_by]
    items = [
        (referential.color(category, code), referential.label(category, code))
        for code in referential.codes(category)
        if code in codes
    ]
    other = ""
    if color_by != "type" and "" in codes:
        other = "sans profession (structure, action…)" if color_by == "profession" else "sans thématique"
    shown = [(spec.color, "dashed" if spec.dash else "solid", spec.label) for spec in layers]
    return render(_LEGEND, title=title, items=items, other=other, other_color=OTHER_COLOR, layers=shown)


class Legend(MacroElement):
    """A Leaflet control (bottom right) holding the legend's HTML; folded (« ▸ Légende ») on a
    map narrower than ``fold_below`` px."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomright"});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div");
            div.innerHTML = {{ this.html_json }};
            var details = div.querySelector("details");
            if (details && {{ this.fold_below }} && map.getSize().x < {{ this.fold_below }}) details.open = false;
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, legend: str, *, fold_below: int = 0) -> None:
        super().__init__()
        self._name = "Legend"
        self.html_json = script_json(legend)
        self.fold_below = int(fold_below)


class LegendLayer(MacroElement):
    """A legend that comes and goes with the layer it belongs to (a Leaflet layer whose onAdd shows
    the legend control and onRemove takes it away): when the actors' layer or a scene is swapped,
    its legend goes with it. Folded (« ▸ Légende ») on a map narrower than ``fold_below`` px."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (html, foldBelow) {
          var legend = L.control({position: "bottomright"});
          legend.onAdd = function (map) {
            var div = L.DomUtil.create("div");
            div.innerHTML = html;  /* built server-side from escaped text */
            var details = div.querySelector("details");
            if (details && foldBelow && map.getSize().x < foldBelow) details.open = false;
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          var Layer = L.Layer.extend({
            onAdd: function (map) { legend.addTo(map); },
            onRemove: function () { legend.remove(); },
            getBounds: function () { return L.latLngBounds([]); }  /* no extent of its own */
          });
          return new Layer();
        })({{ this.legend_json }}, {{ this.fold_below }});
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, legend: str, *, fold_below: int = 0) -> None:
        super().__init__()
        self._name = "LegendLayer"
        self.legend_json = script_json(legend)
        self.fold_below = int(fold_below)
