// 随手拍 / hotline entry: category search, a map to pick the location (offline grid polygons),
// "use my location", and refreshing the duplicate suggestions. No inline scripts (CSP).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var i18n = {};
  var tpl = document.getElementById("map-i18n");
  if (tpl) {
    tpl.content.querySelectorAll("[data-key]").forEach(function (el) {
      i18n[el.getAttribute("data-key")] = el.textContent;
    });
  }
  var latInput = document.getElementById("id_lat");
  var lngInput = document.getElementById("id_lng");
  var status = document.getElementById("pin-status");
  var categorySelect = document.getElementById("id_category");
  var search = document.getElementById("category-search");

  function refreshDuplicates() {
    document.body.dispatchEvent(new Event("refresh-duplicates"));
  }

  // Category search: hide options that do not match the keywords.
  if (search && categorySelect) {
    search.addEventListener("input", function () {
      var term = search.value.trim();
      var firstMatch = null;
      categorySelect.querySelectorAll("option[data-keywords]").forEach(function (option) {
        var match = !term || option.getAttribute("data-keywords").indexOf(term) !== -1;
        option.hidden = !match;
        option.disabled = !match;
        if (match && !firstMatch) { firstMatch = option; }
      });
      categorySelect.querySelectorAll("optgroup").forEach(function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
      if (term && firstMatch && (categorySelect.selectedIndex <= 0 || categorySelect.options[categorySelect.selectedIndex].hidden)) {
        categorySelect.value = firstMatch.value;
        categorySelect.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }
  if (categorySelect) {
    categorySelect.addEventListener("change", refreshDuplicates);
  }

  var mapEl = document.getElementById("pick-map");
  if (!mapEl || typeof L === "undefined") { return; }
  var map = L.map(mapEl, { zoomSnap: 0.25, attributionControl: !!config.tileUrl });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }
  if (config.focusPolygon) {
    map.fitBounds(L.geoJSON(config.focusPolygon).getBounds(), { padding: [10, 10] });
  } else {
    map.setView([31.99, 119.585], 11);
  }
  var marker = null;
  function setPin(lat, lng, pan) {
    latInput.value = lat.toFixed(6);
    lngInput.value = lng.toFixed(6);
    if (marker) {
      marker.setLatLng([lat, lng]);
    } else {
      marker = L.circleMarker([lat, lng], { radius: 9, color: "#b3261e", weight: 3, fillColor: "#ffd6d3", fillOpacity: 0.9 }).addTo(map);
    }
    if (pan) { map.setView([lat, lng], Math.max(map.getZoom(), 16)); }
    if (status) { status.textContent = (i18n.picked || "") + " (" + lat.toFixed(5) + ", " + lng.toFixed(5) + ")"; }
    mapEl.setAttribute("data-picked", "1");
    refreshDuplicates();
  }
  if (config.lat && config.lng) { setPin(parseFloat(config.lat), parseFloat(config.lng), false); }
  map.on("click", function (event) { setPin(event.latlng.lat, event.latlng.lng, false); });

  fetch(config.gridsUrl + (config.focus && config.focus.length > 6 ? "?within=" + config.focus.slice(0, 12) : ""), {
    credentials: "same-origin", headers: { Accept: "application/json" }
  }).then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        style: { color: "#0b5cad", weight: 1, fillColor: "#0b5cad", fillOpacity: 0.06 },
        onEachFeature: function (feature, shape) {
          shape.bindTooltip(feature.properties.name, { sticky: true });
          shape.on("click", function (event) { setPin(event.latlng.lat, event.latlng.lng, false); });
        }
      }).addTo(map);
      if (marker) { marker.bringToFront(); }
      mapEl.setAttribute("data-grids-loaded", String(data.features.length));
      return layer;
    }).catch(function () {
      if (status) { status.textContent = i18n.error || ""; }
    });

  var locateButton = document.getElementById("use-location");
  if (locateButton) {
    locateButton.addEventListener("click", function () {
      if (!navigator.geolocation) { status.textContent = i18n.nogeo; return; }
      navigator.geolocation.getCurrentPosition(function (position) {
        setPin(position.coords.latitude, position.coords.longitude, true);
      }, function () { status.textContent = i18n.nogeo; }, { enableHighAccuracy: true, timeout: 10000 });
    });
  }
})();
