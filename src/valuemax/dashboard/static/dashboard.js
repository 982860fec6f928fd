// valuemax dashboard: draw the Plotly specs the server put in <script type="application/json">
// blocks, and submit a filter form when a select changes. No network use besides this server.
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("div.plotly-graph-div[data-spec]").forEach(function (el) {
      var spec = JSON.parse(document.getElementById(el.dataset.spec).textContent);
      // the tool bar down the right edge (not over the title); axis labels (long segment
      // names) get the room they need instead of being cut at the figure's edge
      var layout = Object.assign({modebar: {orientation: "v"}}, spec.layout);
      ["xaxis", "yaxis"].forEach(function (axis) {
        layout[axis] = Object.assign({automargin: true}, layout[axis] || {});
      });
      Plotly.newPlot(el, spec.data, layout,
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
