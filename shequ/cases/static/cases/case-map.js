// A case's location on its grid (offline polygons; tiles only when configured, via ShequMap).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var el = document.getElementById("case-map");
  if (!el || typeof L === "undefined" || typeof ShequMap === "undefined" || !config.marker) { return; }
  var map = ShequMap.create(el, config, { scrollWheelZoom: false, bounds: null });
  if (config.focusPolygon) {
    var grid = L.geoJSON(config.focusPolygon, { style: { color: "#0b5cad", weight: 2, fillOpacity: 0.08 } }).addTo(map);
    map.fitBounds(grid.getBounds(), { padding: [10, 10] });
  } else {
    map.setView([config.marker.lat, config.marker.lng], 16);
  }
  L.circleMarker([config.marker.lat, config.marker.lng], {
    radius: 9, color: "#b3261e", weight: 3, fillColor: "#ffd6d3", fillOpacity: 0.9
  }).addTo(map);
  el.setAttribute("data-ready", "1");
})();
