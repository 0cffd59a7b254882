// The actors' payload (decodePayload in actors_layer.js), made here by hand as the server
// describes it (reseaux.carte.actor_layer.actor_payload): gzip, in base64, of four little-endian arrays
// of n values — latitude and longitude × 100,000 (Int32), the fiche rows as differences (Int32),
// the colour index (Uint8).
import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";

import { decodePayload, frNumber } from "../../src/reseaux/carte/actors_layer.js";

function payloadOf(points) {
  const n = points.length;
  const bytes = Buffer.alloc(13 * n);
  let previous = 0;
  points.forEach(([lat, lon, row, color], i) => {
    bytes.writeInt32LE(Math.round(lat * 1e5), 4 * i);
    bytes.writeInt32LE(Math.round(lon * 1e5), 4 * (n + i));
    bytes.writeInt32LE(row - previous, 4 * (2 * n + i));
    bytes.writeUInt8(color, 12 * n + i);
    previous = row;
  });
  return { n, colors: ["#7b2d8e", "#1a4a9c", "#c0392b"], data: gzipSync(bytes).toString("base64") };
}

test("the payload gives back each actor's place, fiche row and colour", async () => {
  // Rouen's town hall, a pin west of it, Saint-Denis de La Réunion (south and east: signs kept);
  // rows out of order, as a filtered directory's are not.
  const points = [[49.44301, 1.09902, 12, 1], [49.5, 1.0, 3, 0], [-20.87889, 55.44806, 40000, 2]];
  const decoded = await decodePayload(payloadOf(points));
  assert.equal(decoded.n, 3);
  assert.deepEqual(Array.from(decoded.lat), [49.44301, 49.5, -20.87889]);
  assert.deepEqual(Array.from(decoded.lon), [1.09902, 1.0, 55.44806]);
  assert.deepEqual(Array.from(decoded.rows), [12, 3, 40000]);
  assert.deepEqual(Array.from(decoded.colors), [1, 0, 2]);
});

test("an empty payload gives no actor and asks nothing to inflate", async () => {
  const decoded = await decodePayload({ n: 0, colors: [], data: "" });
  assert.equal(decoded.n, 0);
  assert.equal(decoded.lat.length + decoded.lon.length + decoded.rows.length + decoded.colors.length, 0);
});

test("a cluster's count is written the French way, a narrow no-break space between thousands", () => {
  assert.deepEqual([0, 7, 999, 1000, 12345, 1234567].map(frNumber),
                   ["0", "7", "999", "1\u202f000", "12\u202f345", "1\u202f234\u202f567"]);
});
