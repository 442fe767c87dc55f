// The cockpit's charts (ECharts), grid map (Leaflet, offline polygons) and PNG export.
// Data comes from the page (json_script "cockpit-data"); no CDN, no inline script (CSP).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cockpit-data").textContent);
  var dark = !!data.big;
  var text = dark ? "#dce8f5" : "#1d2430";
  var grid = dark ? "#1f4470" : "#d4dae3";
  var charts = {};

  function axis(extra) {
    var base = { axisLabel: { color: text }, axisLine: { lineStyle: { color: grid } }, splitLine: { lineStyle: { color: grid } } };
    for (var k in extra) { base[k] = extra[k]; }
    return base;
  }

  function initChart(id, option) {
    var el = document.getElementById(id);
    if (!el || typeof echarts === "undefined") { return; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    option.animation = false;
    option.textStyle = { color: text, fontFamily: "Noto Sans CJK SC, sans-serif" };
    chart.setOption(option);
    charts[id] = chart;
    el.setAttribute("data-ready", "1");
  }

  var t = data.trend;
  initChart("trend-chart", {
    tooltip: { trigger: "axis" },
    legend: { textStyle: { color: text }, top: 0 },
    grid: { left: 48, right: 48, top: 32, bottom: 28 },
    xAxis: axis({ type: "category", data: t.keys }),
    yAxis: [axis({ type: "value" }), axis({ type: "value", min: 0, max: 100, splitLine: { show: false } })],
    series: [
      { name: t.labels.reports, type: "bar", data: t.reports, itemStyle: { color: "#4e8fd6" } },
      { name: t.labels.registered, type: "line", data: t.registered, itemStyle: { color: "#f0a030" } },
      { name: t.labels.closed, type: "line", data: t.closed, itemStyle: { color: "#3fae6a" } },
      { name: t.labels.onTimeRate, type: "line", yAxisIndex: 1, data: t.onTimeRate, itemStyle: { color: "#e0524a" }, connectNulls: true }
    ]
  });

  var c = data.categories;
  initChart("category-chart", {
    tooltip: { trigger: "axis" },
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: axis({ type: "value" }),
    yAxis: axis({ type: "category", data: c.names.slice().reverse() }),
    series: [{ name: c.label, type: "bar", data: c.reports.slice().reverse(), itemStyle: { color: "#4ea3ff" },
      label: { show: true, position: "right", color: text } }]
  });

  var map = null;
  window.addEventListener("resize", function () {
    for (var id in charts) { charts[id].resize(); }
    if (map) { map.invalidateSize(); }
  });

  // PNG export of a chart (ECharts getDataURL).
  document.querySelectorAll("[data-png]").forEach(function (button) {
    button.addEventListener("click", function () {
      var chart = charts[button.getAttribute("data-png")];
      if (!chart) { return; }
      var link = document.createElement("a");
      link.href = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: dark ? "#0d2440" : "#ffffff" });
      link.download = "cockpit-" + button.getAttribute("data-name") + ".png";
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  });

  // --- map: grids coloured by the chosen indicator, hotspots as circles ---
  var m = data.map;
  var el = document.getElementById("cockpit-map");
  if (!el || typeof L === "undefined") { return; }
  map = L.map(el, { zoomSnap: 0.25, attributionControl: false, scrollWheelZoom: false });
  var palette = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"]; // bad → good
  var numbers = Object.keys(m.values).map(function (k) { return m.values[k].value; })
    .filter(function (v) { return v !== null && v !== undefined; });
  var lo = numbers.length ? Math.min.apply(null, numbers) : 0;
  var hi = numbers.length ? Math.max.apply(null, numbers) : 0;

  function colour(value) {
    if (value === null || value === undefined) { return dark ? "#29415f" : "#c9d1db"; }
    var f = hi > lo ? (value - lo) / (hi - lo) : 1;
    if (!m.higherIsBetter) { f = 1 - f; }
    return palette[Math.min(palette.length - 1, Math.floor(f * palette.length))];
  }

  // Leaflet puts a string tooltip in as HTML: names from the data go in as text nodes.
  function textNode(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span;
  }

  function format(value) {
    if (value === null || value === undefined) { return m.noData; }
    if (m.kind === "rate") { return (value * 100).toFixed(1) + "%"; }
    if (m.kind === "hours") { return value.toFixed(1); }
    return String(value);
  }

  var legend = document.getElementById("map-legend");
  if (legend && numbers.length) {
    var steps = hi > lo ? palette.length : 1;
    for (var i = 0; i < steps; i++) {
      var idx = steps === 1 ? (m.higherIsBetter ? palette.length - 1 : 0) : (m.higherIsBetter ? i : steps - 1 - i);
      var span = document.createElement("span");
      var sw = document.createElement("i");
      sw.style.background = palette[idx];
      span.appendChild(sw);
      span.appendChild(document.createTextNode(steps === 1 ? format(lo)
        : format(lo + (hi - lo) * i / steps) + " – " + format(lo + (hi - lo) * (i + 1) / steps)));
      legend.appendChild(span);
    }
  }

  fetch(m.gridsUrl, { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (geojson) {
      var layer = L.geoJSON(geojson, {
        style: function (feature) {
          var v = m.values[feature.properties.code];
          return { color: dark ? "#0a1d35" : "#ffffff", weight: 1, fillOpacity: 0.8, fillColor: colour(v ? v.value : null) };
        },
        onEachFeature: function (feature, l) {
          var v = m.values[feature.properties.code];
          l.bindTooltip(textNode(feature.properties.name + "：" + m.indicatorLabel + " " + (v ? v.text : m.noData)));
          l.on("click", function () {
            window.location.search = m.drillUrl.slice(1).replace("__CODE__", feature.properties.code);
          });
        }
      }).addTo(map);
      var bounds = layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [8, 8] }); } else { map.setView([31.99, 119.6], 10); }
      var maxCount = 1;
      m.hotspots.forEach(function (h) { maxCount = Math.max(maxCount, h.count); });
      m.hotspots.forEach(function (h) {
        L.circleMarker([h.lat, h.lng], {
          radius: 3 + 9 * Math.sqrt(h.count / maxCount), color: "#b3261e", weight: 1,
          fillColor: "#ff5a4e", fillOpacity: 0.55, interactive: true
        }).bindTooltip(textNode(h.count + " " + m.casesLabel)).addTo(map);
      });
      el.setAttribute("data-ready", "1");
    })
    .catch(function () { el.setAttribute("data-ready", "error"); });
})();
