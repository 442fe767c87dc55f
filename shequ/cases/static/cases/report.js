// 随手拍 / hotline entry: category search, a map to pick the location (ShequMap: grids, estates,
// buildings, the user's house; offline unless tiles are configured), "use my location", and
// refreshing the duplicate suggestions. No inline scripts (CSP).
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
  if (!mapEl || typeof L === "undefined" || typeof ShequMap === "undefined") { return; }
  // The map (ShequMap): the user's grid and house, estates and buildings close up.
  var map = ShequMap.create(mapEl, config);
  var buildingInput = document.getElementById("id_building");
  var autoBuilding = false;
  var marker = null;
  function setPin(lat, lng, pan, label, building) {
    latInput.value = lat.toFixed(6);
    lngInput.value = lng.toFixed(6);
    if (marker) {
      marker.setLatLng([lat, lng]);
    } else {
      marker = L.circleMarker([lat, lng], { radius: 9, color: "#b3261e", weight: 3, fillColor: "#ffd6d3", fillOpacity: 0.9, interactive: false }).addTo(map);
    }
    if (pan) { map.setView([lat, lng], Math.max(map.getZoom(), 17)); }
    // On the hotline form a picked building also fills its 楼栋编码 (cleared again when the
    // dispatcher picks a point that is not a building).
    if (buildingInput && (building || autoBuilding)) {
      if (building) {
        buildingInput.value = building;
        autoBuilding = true;
      } else if (autoBuilding) {
        buildingInput.value = "";
        autoBuilding = false;
      }
    }
    if (status) {
      status.classList.remove("map-status--error");
      status.textContent = (i18n.picked || "") + (label ? "：" + label : "") + " (" + lat.toFixed(5) + ", " + lng.toFixed(5) + ")";
    }
    mapEl.setAttribute("data-picked", "1");
    refreshDuplicates();
  }
  if (config.lat && config.lng) { setPin(parseFloat(config.lat), parseFloat(config.lng), false); }
  map.on("click", function (event) { setPin(event.latlng.lat, event.latlng.lng, false); });

  ShequMap.grids(map, config, { plain: true }).ready.then(function () {
    if (marker) { marker.bringToFront(); }
  }).catch(function () {
    if (status) { status.textContent = i18n.error || ""; }
  });
  ShequMap.features(map, config, {
    onBuilding: function (b, estate, name) { setPin(b.lat, b.lng, false, name, b.code); }
  });
  ShequMap.home(map, config, {
    onClick: function (house) { setPin(house.lat, house.lng, false, house.label); }
  });
  ShequMap.locator(map, {
    button: document.getElementById("use-location"),
    status: status,
    onPosition: function (lat, lng) { setPin(lat, lng, false); }
  });
})();
