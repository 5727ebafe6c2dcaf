/* Statistics: the station call-volume chart (ECharts).
 * Reads the curve embedded by the page (json_script "station-curve"): one line per station,
 * its airing slots shaded (markArea), a click on a point opens the calls of that bucket. */
(function () {
  "use strict";

  function render() {
    var el = document.getElementById("station-chart");
    var source = document.getElementById("station-curve");
    if (!el || !source || typeof echarts === "undefined") return;
    var curve = JSON.parse(source.textContent);
    var chart = echarts.init(el);
    var marks = 0;
    var points = 0;
    var series = curve.series.map(function (s) {
      var slots = curve.slots.filter(function (slot) { return slot.station === s.station; });
      marks += slots.length;
      var data = s.data.map(function (value, i) { points += 1; return [curve.buckets[i], value]; });
      return {
        name: s.name,
        type: "line",
        showSymbol: curve.buckets.length <= 200,
        symbolSize: 6,
        data: data,
        stationId: s.station,
        markArea: {
          silent: true,
          itemStyle: { opacity: 0.15 },
          data: slots.map(function (slot) {
            return [{ name: slot.product, xAxis: slot.start }, { xAxis: slot.end }];
          }),
        },
      };
    });
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { type: "scroll" },
      grid: { left: 50, right: 20, top: 40, bottom: 60 },
      xAxis: { type: "time" },
      yAxis: { type: "value", minInterval: 1 },
      dataZoom: [{ type: "inside" }, { type: "slider" }],
      series: series,
    });
    el.dataset.points = String(points);
    el.dataset.marks = String(marks);
    el.dataset.rendered = "1";
    chart.on("click", function (params) {
      if (params.componentType !== "series") return;
      var station = series[params.seriesIndex].stationId;
      var query = new URLSearchParams({
        station: station,
        bucket: params.value[0],
        resolution: curve.resolution,
      });
      window.location.href = el.dataset.pointUrl + "?" + query.toString();
    });
    window.addEventListener("resize", function () { chart.resize(); });
    window.reportsChart = chart;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", render);
  } else {
    render();
  }
})();
