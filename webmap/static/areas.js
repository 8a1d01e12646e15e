// The overview's map: each city or province filled in its class's colour; a click does what
// its row's button does (a province opens its cities, a city its risk map), so the map and
// the table cannot disagree on where a click leads. Names reach the map as text nodes only.
(function () {
  "use strict";
  var el = document.getElementById("area-map");
  var holder = document.getElementById("area-data");
  if (!el || !holder || !window.L) return;
  var data = JSON.parse(holder.textContent);
  var map = window.L.map(el, { attributionControl: false });

  function label(p) {
    var s = document.createElement("span");
    s.textContent = p.name + " · " + p.value_text;
    return s;
  }

  function open(code) {
    var row = document.querySelector("#areas tr[data-code='" + code + "']");
    if (!row) return;
    var link = row.querySelector("a.area-open");
    if (link) { window.location.href = link.href; return; }
    var form = row.querySelector("form.area-open");
    if (form) form.submit();
  }

  var areas = window.L.geoJSON(data, {
    style: function (f) {
      return { color: "#486581", weight: 1, fillColor: f.properties.colour, fillOpacity: 0.75,
               className: "area-" + f.properties.code };
    },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(label(f.properties), { sticky: true });
      layer.on("click", function () { open(f.properties.code); });
    }
  }).addTo(map);
  if (areas.getBounds().isValid()) map.fitBounds(areas.getBounds(), { padding: [8, 8] });
  else map.setView([35, 104], 4);
  var basemap = window.RiskBasemap.add(map);
  // the areas' names are the basemap's labels here (its 行政区名称 switch shows or hides them),
  // but not the nation's 345 cities, whose names would cover the map
  if (basemap && data.features.length <= 60) {
    data.features.forEach(function (f) {
      var span = document.createElement("span");
      span.textContent = f.properties.name;
      window.L.marker(f.properties.label, { pane: "riskmap-labels", interactive: false, keyboard: false,
        icon: window.L.divIcon({ className: "map-label map-label-district", iconSize: null, html: span })
      }).addTo(basemap.labels);
    });
  }
  el.setAttribute("data-areas", String(data.features.length));
})();
