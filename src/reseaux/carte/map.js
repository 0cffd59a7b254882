/* Réseaux: the map's one module, and the one name it puts on the page: ``reseaux``.
 *
 * The map's code (folium's, written by reseaux.carte.mapbits and the elements of actor_layer and
 * mapview) is a classic script that runs before this module (a module runs once its page, or
 * the map's frame, is ready). It asks for the module's functions with
 *     (window.reseaux = window.reseaux || []).push(function (rx) { rx.mapControls(map, …); });
 * so what it asks before the module has run waits in that array, and is run, in order, when the
 * module installs itself; once it has, ``reseaux.push`` runs what it is given at once. */
import {decodePayload, frNumber} from "./actors_layer.js";
import {blobFiches, fold, httpFiches, renderFiche, searchWords, useFiches} from "./fiches.js";
import {focusPerimeter, frenchLayersButton, mapControls, notice} from "./map_controls.js";
import {mapActors} from "./served_layer.js";

/* ``actorCluster``: the actors' layer, drawn from the positions the payload carries or, for a
 * directory too large to carry, from what the server says is in view (served_layer.js). */
export const reseaux = Object.freeze({
  actorCluster: mapActors, decodePayload, frNumber,
  blobFiches, fold, httpFiches, renderFiche, searchWords, useFiches,
  focusPerimeter, mapControls, notice,
  push(callback) {
    callback(reseaux);
  }
});

/* Puts ``reseaux`` on ``root`` (the page's window) and runs the callbacks that waited for it. */
export function install(root) {
  const waiting = Array.isArray(root.reseaux) ? root.reseaux : [];
  root.reseaux = reseaux;
  frenchLayersButton(root.document);
  waiting.forEach((callback) => callback(reseaux));
}

if (typeof window !== "undefined" && window.document) install(window);
