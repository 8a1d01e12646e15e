// Starts a report in the background, shows its progress and fetches the file when it is done:
// the web server never waits on a long export.
(function () {
  "use strict";
  var box = document.getElementById("report-progress");
  if (!box) return;
  var bar = box.querySelector("progress"), step = box.querySelector(".report-step");
  var token = document.getElementById("csrf-token").value;

  function show(text, fraction, failed) {
    box.hidden = false;
    box.classList.toggle("failed", !!failed);
    step.textContent = text;
    if (fraction !== null) bar.value = fraction;
  }

  function poll(statusUrl, fileUrl) {
    fetch(statusUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (answer) {
        var job = answer.job;
        if (job.state === "done") {
          show("已完成：" + job.filename, 1);
          window.location.href = fileUrl;
        } else if (job.state === "failed") {
          show("生成失败：" + job.error, null, true);
        } else {
          show(job.state_zh + " · " + job.step + " · " + Math.round(job.progress * 100) + "%", job.progress);
          setTimeout(function () { poll(statusUrl, fileUrl); }, 500);
        }
      });
  }

  function start(button) {
    var url = new URL(button.getAttribute("data-url"), window.location.href);
    url.searchParams.set("format", button.getAttribute("data-format"));
    var period = document.getElementById("period");
    if (period) url.searchParams.set("period", period.value.trim());
    show("提交中…", 0);
    fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": token } })
      .then(function (r) { return r.json().then(function (body) { return [r.status, body]; }); })
      .then(function (answer) {
        if (answer[0] !== 202) { show("无法生成：" + (answer[1].error || answer[0]), null, true); return; }
        poll(answer[1].status_url, answer[1].file_url);
      })
      .catch(function () { show("无法生成：请刷新页面后重试", null, true); });
  }

  document.querySelectorAll(".report-download").forEach(function (button) {
    button.addEventListener("click", function () { start(button); });
  });
})();

/* The periodic report's form is never sent: its buttons start reports (Enter does nothing). */
(function () {
  "use strict";
  const form = document.getElementById("periodic-form");
  if (form) { form.addEventListener("submit", function (event) { event.preventDefault(); }); }
}());
