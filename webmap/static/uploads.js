/* An upload's job page: poll the job until it ends, then show its report (the page again). */
(function () {
  "use strict";
  const job = document.getElementById("job");
  if (!job) { return; }
  function poll() {
    fetch(job.dataset.statusUrl, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status !== 202) { window.location.reload(); return null; }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        const page = new DOMParser().parseFromString(html, "text/html");
        ["job-state", "job-step", "job-rows"].forEach(function (id) {
          const fresh = page.getElementById(id);
          if (fresh) { document.getElementById(id).textContent = fresh.textContent; }
        });
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
}());
