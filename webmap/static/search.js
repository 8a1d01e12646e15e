/* The results on a small map: read from the table's rows, names set as text, never as HTML. */
(function () {
  "use strict";
  const map = L.map("search-map", { attributionControl: false });
  const markers = {};
  const rows = document.querySelectorAll("#search-results tbody tr");
  rows.forEach(function (row) {
    const link = row.querySelector("a");
    const latlng = [Number(row.dataset.lat), Number(row.dataset.lon)];
    const box = document.createElement("div");
    const title = document.createElement("a");
    title.href = link.href;
    title.textContent = link.textContent;
    const where = document.createElement("div");
    where.textContent = row.cells[3].textContent + " · " + row.cells[4].textContent;
    box.append(title, where);
    const tip = document.createElement("span");  // a string tooltip would be parsed as HTML
    tip.textContent = link.textContent;
    markers[row.dataset.id] = L.circleMarker(latlng, {
      radius: 7, color: "#fff", weight: 1, fillColor: "#d62728", fillOpacity: 0.9 })
      .bindPopup(box).bindTooltip(tip).addTo(map);
    row.addEventListener("click", function (e) {
      if (e.target.closest("a")) return;  // the name opens the project page
      rows.forEach(function (r) { r.classList.toggle("picked", r === row); });
      map.setView(latlng, Math.max(map.getZoom(), 14));
      markers[row.dataset.id].openPopup();
    });
  });
  const points = Object.values(markers).map(function (m) { return m.getLatLng(); });
  map.fitBounds(L.latLngBounds(points).pad(0.2), { maxZoom: 14 });
  window.RiskBasemap.add(map);
  window.SearchMap = { map: map, markers: markers };
})();
