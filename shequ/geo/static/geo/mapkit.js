// ShequMap: what every map page shares. Offline by default (grid polygons over a plain
// background); a tile base layer only when the server is configured with one. Estates and
// buildings load per view from the scoped features endpoint. Every name from the data is put
// into the page as text (DOM text nodes), never as HTML: Leaflet treats a string tooltip as HTML.
(function () {
  "use strict";

  function text(value, className) {
    var span = document.createElement("span");
    if (className) { span.className = className; }
    span.textContent = value == null ? "" : String(value);
    return span;
  }

  function escapeHtml(value) {
    var div = document.createElement("div");
    div.textContent = value == null ? "" : String(value);
    return div.innerHTML;
  }

  function strings(id) {
    var out = {};
    var tpl = document.getElementById(id || "mapkit-i18n");
    if (tpl) {
      tpl.content.querySelectorAll("[data-key]").forEach(function (el) {
        out[el.getAttribute("data-key")] = el.textContent;
      });
    }
    return out;
  }

  var i18n = {};
  function t(key, values) {
    if (!i18n._loaded) { i18n = strings("mapkit-i18n"); i18n._loaded = true; }
    var s = i18n[key] || "";
    for (var k in values || {}) { s = s.replace("{" + k + "}", values[k]); }
    return s;
  }

  function bindText(layer, value, options) {
    return layer.bindTooltip(text(value), options || {});
  }

  function fetchJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); });
  }

  function zooms(config) {
    return config.zooms || { communityLabels: 11, gridLabels: 13, estates: 13, buildings: 14, buildingLabels: 16 };
  }

  // A map with the configured base layer(s), opened on the configured view.
  function create(el, config, options) {
    options = options || {};
    var tiles = config.tiles || [];
    var map = L.map(el, {
      zoomSnap: 0.25,
      maxZoom: 19,
      attributionControl: tiles.length > 0,
      scrollWheelZoom: options.scrollWheelZoom !== false
    });
    tiles.forEach(function (url, i) {
      L.tileLayer(url, {
        subdomains: config.tileSubdomains || "abc",
        attribution: i === 0 ? escapeHtml(config.tileAttribution || "") : "",
        maxZoom: 19,
        maxNativeZoom: 18
      }).addTo(map);
    });
    if (tiles.length) { el.setAttribute("data-tiles", String(tiles.length)); }
    el.shequMap = map; // for the page's other scripts and the browser tests
    var bounds = options.bounds || config.bounds;
    if (bounds) {
      map.fitBounds(bounds, { padding: [12, 12], maxZoom: options.maxZoom || 17 });
    } else {
      map.setView([31.99, 119.585], 10);
    }
    return map;
  }

  // Permanent labels shown only between two zoom levels and inside the view (few DOM nodes).
  function labels(map, minZoom, maxZoom) {
    var group = L.layerGroup().addTo(map);
    var items = [];
    function refresh() {
      var z = map.getZoom();
      var view = map.getBounds().pad(0.25);
      var show = z >= minZoom && (maxZoom == null || z < maxZoom);
      items.forEach(function (item) {
        var wanted = show && view.contains(item.latlng);
        if (wanted && !item.shown) {
          if (!item.tooltip) {
            item.tooltip = L.tooltip({
              permanent: true, direction: item.direction || "center", interactive: false,
              offset: item.offset || [0, 0], className: "map-label " + (item.className || "")
            }).setLatLng(item.latlng).setContent(text(item.text));
          }
          group.addLayer(item.tooltip);
          item.shown = true;
        } else if (!wanted && item.shown) {
          group.removeLayer(item.tooltip);
          item.shown = false;
        }
      });
    }
    map.on("zoomend moveend", refresh);
    return {
      set: function (list) {
        group.clearLayers();
        items = list.map(function (x) {
          return { latlng: L.latLng(x.lat, x.lng), text: x.text, className: x.className, direction: x.direction, offset: x.offset };
        });
        refresh();
      },
      add: function (x) {
        items.push({ latlng: L.latLng(x.lat, x.lng), text: x.text, className: x.className, direction: x.direction, offset: x.offset });
        refresh();
      }
    };
  }

  var palette = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#5f7d95"]; // no orange: that is "mine"
  function colourFor(code) {
    var n = 0;
    for (var i = 0; i < code.length; i++) { n = (n * 31 + code.charCodeAt(i)) % 9973; }
    return palette[n % palette.length];
  }

  function isMine(config, code) {
    var mine = (config.mine && config.mine.grids) || [];
    return mine.indexOf(code) !== -1;
  }

  // Grid polygons (with the user's own grids highlighted), community outlines, and labels:
  // township names at city zoom, community names in between, grid names close up.
  function grids(map, config, options) {
    options = options || {};
    var z = zooms(config);
    var el = map.getContainer();
    var within = config.within && config.within.length > 6 ? config.within : "";
    var gridLabels = labels(map, z.gridLabels, null);
    var communityLabels = labels(map, z.communityLabels, z.gridLabels);
    var townshipLabels = options.townships ? labels(map, 0, z.communityLabels) : null;
    var ownRegions = (config.mine && config.mine.regions) || [];
    var layer = null;
    var selected = null;
    function baseStyle(f) {
      if (isMine(config, f.properties.code)) {
        return { color: "#c2410c", weight: 3, fillColor: "#f97316", fillOpacity: 0.14 };
      }
      if (options.plain) {
        return { color: "#0b5cad", weight: 1, fillColor: "#0b5cad", fillOpacity: 0.06 };
      }
      var c = colourFor(f.properties.community_code || f.properties.code);
      return { color: c, weight: 1, fillColor: c, fillOpacity: 0.16 };
    }
    var done = fetchJson(config.gridsUrl + (within ? "?within=" + within : "")).then(function (data) {
      layer = L.geoJSON(data, {
        style: baseStyle,
        onEachFeature: function (f, shape) {
          var name = f.properties.name;
          var mine = isMine(config, f.properties.code);
          bindText(shape, mine ? name + t("mineSuffix") : name, { sticky: true });
          shape.on("click", function (event) {
            if (options.select) {
              if (selected) { layer.resetStyle(selected); }
              selected = shape;
              shape.setStyle({ weight: 3, fillOpacity: 0.35 });
            }
            if (options.onClick) { options.onClick(f.properties, event, shape); }
          });
          shape.on("add", function () {
            var path = shape.getElement && shape.getElement();
            if (path) {
              path.setAttribute("data-grid-code", f.properties.code);
              if (mine) { path.setAttribute("data-mine", "1"); }
            }
          });
        }
      }).addTo(map);
      layer.bringToBack();
      gridLabels.set(data.features.map(function (f) {
        var c = f.properties.centroid || [];
        var mine = isMine(config, f.properties.code);
        return { lat: c[1], lng: c[0], text: f.properties.name + (mine ? t("mineSuffix") : ""), className: mine ? "map-label--mine" : "map-label--grid" };
      }).filter(function (x) { return x.lat != null && x.lng != null; }));
      el.setAttribute("data-grids-loaded", String(data.features.length));
      if (!config.regionsUrl) { return null; }
      return fetchJson(config.regionsUrl + "?level=community" + (within ? "&within=" + within.slice(0, 12) : ""));
    }).then(function (data) {
      if (!data) { return null; }
      L.geoJSON(data, {
        interactive: false,
        style: function (f) {
          var mine = ownRegions.indexOf(f.properties.code) !== -1;
          return mine ? { color: "#c2410c", weight: 4, dashArray: "8 4", fill: false }
            : { color: "#0b5cad", weight: 2, dashArray: "6 4", fill: false };
        }
      }).addTo(map);
      communityLabels.set(data.features.map(function (f) {
        var c = f.properties.centroid || [];
        return { lat: c[1], lng: c[0], text: f.properties.name, className: "map-label--community" };
      }).filter(function (x) { return x.lat != null && x.lng != null; }));
      if (!options.townships) { return null; }
      return fetchJson(config.regionsUrl + "?level=township" + (within.length >= 9 ? "&within=" + within.slice(0, 9) : ""));
    }).then(function (data) {
      if (!data) { return; }
      L.geoJSON(data, {
        interactive: false,
        style: function (f) {
          var mine = ownRegions.indexOf(f.properties.code) !== -1;
          return { color: mine ? "#c2410c" : "#7a1f1f", weight: mine ? 4 : 3, fill: false };
        }
      }).addTo(map);
      townshipLabels.set(data.features.map(function (f) {
        var c = f.properties.centroid || [];
        return { lat: c[1], lng: c[0], text: f.properties.name, className: "map-label--township" };
      }).filter(function (x) { return x.lat != null && x.lng != null; }));
    });
    return { ready: done, layer: function () { return layer; }, reset: function () { if (selected && layer) { layer.resetStyle(selected); selected = null; } } };
  }

  // Estates (outline around their buildings, name) and buildings (a point, names close up),
  // fetched for the current view from the scoped endpoint once the map is zoomed in.
  function features(map, config, options) {
    options = options || {};
    var z = zooms(config);
    var el = map.getContainer();
    var estateLayer = L.layerGroup().addTo(map);
    var buildingLayer = L.layerGroup().addTo(map);
    var estateLabels = labels(map, z.estates, null);
    var buildingLabels = labels(map, z.buildingLabels, null);
    var homeBuilding = config.mine && config.mine.house ? config.mine.house.building : null;
    var loaded = null; // { box: LatLngBounds, buildings: bool }
    var timer = null;
    var seq = 0;
    function clear() {
      estateLayer.clearLayers();
      buildingLayer.clearLayers();
      estateLabels.set([]);
      buildingLabels.set([]);
    }
    function draw(data) {
      clear();
      var estates = {};
      var estateItems = [];
      data.estates.forEach(function (e) {
        estates[e.id] = e;
        if (e.outline) {
          L.polygon(e.outline, { interactive: false, color: "#5b6b7a", weight: 1, dashArray: "3 3", fillColor: "#8aa0b3", fillOpacity: 0.12 }).addTo(estateLayer);
        }
        // Above the centre, so that a one-building estate's name does not hide its building.
        estateItems.push({ lat: e.lat, lng: e.lng, text: e.name, className: "map-label--estate", direction: "top", offset: [0, -10] });
      });
      estateLabels.set(estateItems);
      var buildingItems = [];
      data.buildings.forEach(function (b) {
        if (b.id === homeBuilding) { return; } // drawn as the home marker
        var estate = b.estate ? estates[b.estate] : null;
        var name = (estate && !b.rural ? estate.name + " " : "") + b.name;
        var marker = L.circleMarker([b.lat, b.lng], {
          radius: 5, color: "#37474f", weight: 1.5, fillColor: b.rural ? "#a1887f" : "#90a4ae", fillOpacity: 0.95,
          className: "map-building"
        }).addTo(buildingLayer);
        bindText(marker, name, { direction: "top", offset: [0, -4] });
        marker.on("add", function () {
          var path = marker.getElement && marker.getElement();
          if (path) { path.setAttribute("data-building", b.code); }
        });
        var pathEl = marker.getElement && marker.getElement();
        if (pathEl) { pathEl.setAttribute("data-building", b.code); }
        marker.on("click", function (event) {
          L.DomEvent.stopPropagation(event);
          if (options.onBuilding) { options.onBuilding(b, estate, name); }
        });
        buildingItems.push({ lat: b.lat, lng: b.lng, text: b.name, className: "map-label--building", direction: "bottom", offset: [0, 6] });
      });
      buildingLabels.set(buildingItems);
      el.setAttribute("data-estates-loaded", String(data.estates.length));
      el.setAttribute("data-buildings-loaded", String(data.buildings.length));
      el.setAttribute("data-features-truncated", data.truncated ? "1" : "0");
    }
    function load() {
      var zoom = Math.floor(map.getZoom());
      if (zoom < z.estates) {
        clear();
        loaded = null;
        el.setAttribute("data-buildings-loaded", "0");
        return;
      }
      var wantBuildings = zoom >= z.buildings;
      var view = map.getBounds();
      if (loaded && loaded.buildings === wantBuildings && loaded.box.contains(view)) { return; }
      var box = view.pad(0.3);
      var s = Math.max(box.getSouth(), -90), n = Math.min(box.getNorth(), 90);
      var w = Math.max(box.getWest(), -180), e = Math.min(box.getEast(), 180);
      var max = 0.5;
      if (e - w > max) { var cx = (e + w) / 2; w = cx - max / 2 + 1e-6; e = cx + max / 2 - 1e-6; }
      if (n - s > max) { var cy = (n + s) / 2; s = cy - max / 2 + 1e-6; n = cy + max / 2 - 1e-6; }
      var bbox = [w, s, e, n].map(function (v) { return v.toFixed(6); }).join(",");
      var mine = ++seq;
      fetchJson(config.featuresUrl + "?bbox=" + bbox + "&zoom=" + zoom).then(function (data) {
        if (mine !== seq) { return; }
        loaded = { box: L.latLngBounds([s, w], [n, e]), buildings: wantBuildings };
        draw(data);
      }).catch(function () {
        el.setAttribute("data-features-error", "1");
      });
    }
    map.on("moveend", function () {
      clearTimeout(timer);
      timer = setTimeout(load, 150);
    });
    load();
    return { reload: load };
  }

  // The user's own house (a resident's registry link): a marker and a "我家" label.
  function home(map, config, options) {
    var house = config.mine && config.mine.house;
    if (!house) { return null; }
    options = options || {};
    var icon = L.divIcon({ className: "map-home", html: text(t("home"), "map-home__text"), iconSize: [30, 30], iconAnchor: [15, 15] });
    var marker = L.marker([house.lat, house.lng], { icon: icon, keyboard: false, zIndexOffset: 500 }).addTo(map);
    bindText(marker, t("homeTitle", { label: house.label }), { direction: "top", offset: [0, -14] });
    marker.on("click", function (event) {
      L.DomEvent.stopPropagation(event);
      if (options.onClick) { options.onClick(house); }
    });
    var el = marker.getElement();
    if (el) { el.setAttribute("data-home", "1"); }
    return marker;
  }

  // "Where am I": the browser's position, asked only when the button is pressed, with a clear
  // message when it is refused or unavailable.
  function locator(map, options) {
    var button = options.button;
    var status = options.status;
    var dot = null;
    var ring = null;
    function say(message, isError) {
      if (!status) { return; }
      status.textContent = message;
      status.classList.toggle("map-status--error", !!isError);
    }
    if (!button) { return; }
    button.addEventListener("click", function () {
      if (!navigator.geolocation || window.isSecureContext === false) {
        say(t("unsupported"), true);
        return;
      }
      button.disabled = true;
      say(t("locating"), false);
      navigator.geolocation.getCurrentPosition(function (position) {
        button.disabled = false;
        var lat = position.coords.latitude;
        var lng = position.coords.longitude;
        var accuracy = Math.round(position.coords.accuracy || 0);
        if (dot) {
          dot.setLatLng([lat, lng]);
          ring.setLatLng([lat, lng]).setRadius(accuracy);
        } else {
          ring = L.circle([lat, lng], { radius: accuracy, interactive: false, color: "#1a73e8", weight: 1, fillColor: "#1a73e8", fillOpacity: 0.1 }).addTo(map);
          dot = L.circleMarker([lat, lng], { radius: 7, color: "#ffffff", weight: 2, fillColor: "#1a73e8", fillOpacity: 1, className: "map-me" }).addTo(map);
          bindText(dot, t("me"), { direction: "top" });
        }
        var el = dot.getElement && dot.getElement();
        if (el) { el.setAttribute("data-me", "1"); }
        map.getContainer().setAttribute("data-located", lat.toFixed(5) + "," + lng.toFixed(5));
        if (options.pan !== false) { map.setView([lat, lng], Math.max(map.getZoom(), 17)); }
        say(t("located", { m: String(accuracy) }), false);
        if (options.onPosition) { options.onPosition(lat, lng, accuracy); }
        dot.bringToFront(); // above a pin the page may have put at the same point
      }, function (error) {
        button.disabled = false;
        var key = error && error.code === 1 ? "denied" : error && error.code === 3 ? "timeout" : "unavailable";
        map.getContainer().setAttribute("data-locate-error", key);
        say(t(key), true);
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  window.ShequMap = {
    text: text,
    escapeHtml: escapeHtml,
    strings: strings,
    t: t,
    bindText: bindText,
    fetchJson: fetchJson,
    create: create,
    labels: labels,
    grids: grids,
    features: features,
    home: home,
    locator: locator
  };
})();
