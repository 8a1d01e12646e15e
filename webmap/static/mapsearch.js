/* The risk map's search box (static/riskmap.js hands it the map's state and its fetch
 * helpers). */
(function () {
  "use strict";

  // Finds projects by name, community or organisation (/api/search), shows
  // them as a list and as markers; a result zooms the map to the project and opens it. Data
  // strings are set with textContent only (Leaflet parses string popups and tooltips as HTML).
  function searchBox(state, getJSON, query) {
    const map = state.map;
    const layer = L.layerGroup().addTo(map);
    const form = document.createElement("form");
    form.id = "riskmap-search";
    form.innerHTML = '<input name="q" type="search" maxlength="100" autocomplete="off" ' +
      'placeholder="搜索项目、小区、建设单位、保险公司…" aria-label="搜索项目">' +
      '<button type="submit">搜索</button><button type="button" class="clear" ' +
      'aria-label="清除搜索结果" hidden>×</button><p class="status" hidden></p><ol></ol>';
    const panel = document.getElementById("riskmap-panel");
    panel.insertBefore(form, panel.querySelector("h1").nextSibling);
    const list = form.querySelector("ol");
    const status = form.querySelector(".status");
    const clear = form.querySelector(".clear");
    let searches = 0;

    function el(tag, text, className) {
      const node = document.createElement(tag);
      node.textContent = text;
      if (className) node.className = className;
      return node;
    }
    function say(text) { status.textContent = text; status.hidden = !text; }
    function reset() { layer.clearLayers(); list.replaceChildren(); say(""); clear.hidden = true; }
    function popup(r) {
      const box = el("div", "", "project-popup search-popup");
      const link = el("a", "项目详情");
      link.href = state.options.api.project_page.replace(/0$/, String(r.id));
      link.target = "_blank";
      box.append(el("b", r.name), el("div", r.permit_no + " · " + r.district + " · " +
                 r.stage_zh), el("div", "匹配：" + r.matched), link);
      return box;
    }
    function show(results) {
      reset();
      clear.hidden = false;
      const f = state.filters;
      const narrowed = f.district || f.stage || f.insurer || f.tis ? "（按当前筛选条件）" : "";
      say((results.length ? "找到 " + results.length + " 个项目" : "没有找到匹配的项目") +
          narrowed);
      results.forEach(function (r) {
        const marker = L.circleMarker([r.lat, r.lon], { radius: 8, color: "#1d3557", weight: 2,
          fillColor: "#ffb703", fillOpacity: 0.95, pane: "markerPane" })
          .bindTooltip(el("span", r.name)).bindPopup(popup(r)).addTo(layer);
        const item = el("li", "");
        const pick = el("button", r.name, "pick");
        pick.type = "button";
        pick.dataset.project = String(r.id);
        pick.addEventListener("click", function () {
          // no animation: Leaflet drops a setView asked for while a zoom animation runs
          map.setView([r.lat, r.lon], Math.max(map.getZoom(), 15), { animate: false });
          marker.openPopup();
        });
        item.append(pick, el("span", r.district + " · 匹配：" + r.matched, "where"));
        list.append(item);
      });
      if (results.length) {
        map.fitBounds(L.latLngBounds(results.map(function (r) { return [r.lat, r.lon]; })),
                      { maxZoom: 15, padding: [30, 30], animate: false });
      }
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      const q = form.elements.q.value.trim();
      if (!q) { reset(); say("请输入搜索内容"); return; }
      const asked = ++searches;  // only the latest search's answer is shown
      say("搜索中…");
      getJSON(state.options.api.search + query(Object.assign({}, state.filters, { q: q })))
        .then(function (body) { if (asked === searches) show(body.results); })
        .catch(function (err) { if (asked === searches) { reset(); say("搜索失败：" + err.message); } });
    });
    clear.addEventListener("click", function () { form.elements.q.value = ""; reset(); });
    state.search = { layer: layer, form: form };
  }

  window.RiskMapSearch = searchBox;
})();
