"""Carte du réseau: the partners on the perimeters of public action, filtered."""

from reseaux import ui

ref, terr, acts = ui.load_or_stop()
flt, view = ui.sidebar(ref, terr, acts)
result = ui.filtered(ref, terr, acts, flt)
ui.header(acts, result)
ui.nobody(ref, terr, acts, flt, result)
ui.show_map(ref, terr, acts, view, result, flt)
ui.actor_table(ref, result)
