// The portfolio page's map: the concentration grid and the worst circles with their totals.
// Values reach the map as numbers and text nodes only.
(function () {
  "use strict";
  var el = document.getElementById("portfolio-map");
  var holder = document.getElementById("portfolio-data");
  if (!el || !holder || !window.L) return;
  var data = JSON.parse(holder.textContent);
  var key = data.basis + "_wan";
  var RAMP = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
  var map = window.L.map(el, { attributionControl: false });

  function wan(v) { return Number(v).toLocaleString("zh-CN", { maximumFractionDigits: 0 }) + " 万元"; }
  function label(text) { var s = document.createElement("span"); s.textContent = text; return s; }

  var max = Math.max.apply(null, data.cells.map(function (c) { return c[key]; }).concat([0]));
  var grid = window.L.layerGroup(data.cells.map(function (c) {
    // every cell holding exposure is coloured (never the near-white of the ramp's foot) and
    // outlined in its own colour, so a 1 km cell still shows as a dot at city zoom
    var level = max > 0 ? Math.max(1, Math.min(4, Math.ceil(4 * c[key] / max))) : 1;
    var ring = c.ring.map(function (p) { return [p[1], p[0]]; });
    return window.L.polygon(ring, { weight: 2, color: RAMP[level], fillColor: RAMP[level], fillOpacity: 0.8 })
      .bindTooltip(label(c.projects + " 个项目 · " + wan(c[key])));
  }));
  var circles = window.L.layerGroup(data.circles.map(function (c) {
    return window.L.circle([c.lat, c.lon], { radius: c.radius_m, color: "#b42318", weight: 2, fillOpacity: 0.15 })
      // the top three carry their labels, each on its own side so that they do not overlap
      .bindTooltip(label("#" + c.rank + " · " + c.projects + " 个项目 · " + wan(c[key])),
                   { permanent: c.rank <= 3, direction: ["right", "left", "top"][(c.rank - 1) % 3],
                     offset: [[12, 0], [-12, 0], [0, -12]][(c.rank - 1) % 3] });
  }));
  window.L.geoJSON({ type: "FeatureCollection", features: data.outlines.map(function (d) {
    return { type: "Feature", geometry: d.geometry, properties: {} }; }) },
    { style: { color: "#1d3557", weight: 1, fill: false }, interactive: false }).addTo(map);
  grid.addTo(map);
  circles.addTo(map);
  window.L.control.layers(null, { "累积网格": grid, "最大累积圆": circles }, { collapsed: false }).addTo(map);
  var bounds = window.L.latLngBounds([]);
  grid.eachLayer(function (l) { bounds.extend(l.getBounds()); });
  circles.eachLayer(function (l) { bounds.extend(l.getLatLng()); });
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8] }); else map.setView([25.04, 102.71], 10);
  window.RiskBasemap.add(map);
  el.setAttribute("data-cells", String(data.cells.length));
  el.setAttribute("data-circles", String(data.circles.length));
})();
