// The grid map: township, community and grid polygons over a plain background (works offline);
// a tile layer is added only when the server is configured with a tile URL.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var i18n = {};
  document.getElementById("map-i18n").content.querySelectorAll("[data-key]").forEach(function (el) {
    i18n[el.getAttribute("data-key")] = el.textContent;
  });
  var map = L.map("map", { preferCanvas: false, zoomSnap: 0.25, attributionControl: !!config.tileUrl });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution || "", maxZoom: 18 }).addTo(map);
  }
  if (config.focusPolygon) {
    map.fitBounds(L.geoJSON(config.focusPolygon).getBounds(), { padding: [10, 10] });
  } else {
    map.setView([31.99, 119.585], 10);
  }
  var palette = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#ff7f0e"];
  function colourFor(code) {
    var n = 0;
    for (var i = 0; i < code.length; i++) { n = (n * 31 + code.charCodeAt(i)) % 9973; }
    return palette[n % palette.length];
  }
  var details = document.getElementById("map-info-details");
  var empty = document.getElementById("map-info-empty");
  var link = document.getElementById("map-info-link");
  var selected = null;
  function show(props, layer) {
    if (selected) { selected.setStyle({ weight: 1, fillOpacity: 0.18 }); }
    selected = layer;
    layer.setStyle({ weight: 3, fillOpacity: 0.4 });
    details.querySelector('[data-field="name"]').textContent = props.name;
    details.querySelector('[data-field="code"]').textContent = props.code;
    details.querySelector('[data-field="community"]').textContent = props.community_name || "";
    details.querySelector('[data-field="workers"]').textContent =
      (props.grid_workers && props.grid_workers.length) ? props.grid_workers.join("、") : i18n.none;
    details.hidden = false;
    empty.hidden = true;
    link.href = "/regions/" + props.code + "/";
    link.hidden = false;
  }
  function fetchJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }
  var within = config.focus && config.focus.length > 6 ? "?within=" + config.focus : "";
  fetchJson(config.gridsUrl + within).then(function (data) {
    var grids = L.geoJSON(data, {
      style: function (f) {
        var c = colourFor(f.properties.community_code || f.properties.code);
        return { color: c, weight: 1, fillColor: c, fillOpacity: 0.18 };
      },
      onEachFeature: function (f, layer) {
        layer.on("click", function () { show(f.properties, layer); });
        // Leaflet puts a string tooltip in as HTML: pass an element holding plain text.
        var label = document.createElement("span");
        label.textContent = f.properties.name;
        layer.bindTooltip(label, { sticky: true });
        if (layer.getElement) {
          layer.on("add", function () {
            var el = layer.getElement();
            if (el) { el.setAttribute("data-grid-code", f.properties.code); }
          });
        }
      }
    }).addTo(map);
    grids.eachLayer(function (layer) {
      var el = layer.getElement && layer.getElement();
      if (el) { el.setAttribute("data-grid-code", layer.feature.properties.code); }
    });
    document.getElementById("map").setAttribute("data-grids-loaded", String(data.features.length));
    return fetchJson(config.regionsUrl + "?level=community" + (within ? "&within=" + config.focus : ""));
  }).then(function (data) {
    L.geoJSON(data, { style: { color: "#0b5cad", weight: 2, dashArray: "6 4", fill: false }, interactive: false }).addTo(map);
    return fetchJson(config.regionsUrl + "?level=township" + (config.focus.length >= 9 ? "&within=" + config.focus.slice(0, 9) : ""));
  }).then(function (data) {
    L.geoJSON(data, { style: { color: "#7a1f1f", weight: 3, fill: false }, interactive: false }).addTo(map);
  }).catch(function () {
    empty.textContent = i18n.error;
  });
})();
