// valuemax dashboard: draw the Plotly specs the server put in <script type="application/json">
// blocks, and submit a filter form when a select changes. No network use besides this server.
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("div.plotly-graph-div[data-spec]").forEach(function (el) {
      var spec = JSON.parse(document.getElementById(el.dataset.spec).textContent);
      Plotly.newPlot(el, spec.data, spec.layout,
                     {displaylogo: false, responsive: true, showLink: false,
                      showSendToCloud: false, showEditInChartStudio: false});
    });
  }
  document.querySelectorAll("select.autosubmit").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
