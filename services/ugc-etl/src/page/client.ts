/**
 * The analytics page's script (served as /analytics/static/analytics.js, no inline code): draws
 * each `.chart` with ECharts (served from the service's own node_modules) from its `data-chart`
 * JSON, and marks it `data-points` with the number of values drawn. Tooltips are drawn on the
 * canvas (`renderMode: 'richText'`): a search query or endpoint never becomes markup.
 */
export const SCRIPT = `(function () {
  'use strict';
  var short = function (id) { return String(id).slice(0, 8); };
  var hhmm = function (iso) { return String(iso).slice(0, 16).replace('T', ' '); };
  var grid = { left: 56, right: 24, top: 40, bottom: 56, containLabel: true };
  var builders = {
    heatmap: function (d) {
      var films = d.films.map(function (f) { return f.film_id; });
      var maxMinute = d.cells.reduce(function (m, c) { return Math.max(m, c.minute); }, 0);
      var minutes = [];
      for (var i = 0; i <= maxMinute; i++) minutes.push(i);
      var max = d.cells.reduce(function (m, c) { return Math.max(m, c.pauses); }, 1);
      var data = d.cells.map(function (c) { return [c.minute, films.indexOf(c.film_id), c.pauses]; });
      return { points: data.length, option: {
        tooltip: { renderMode: 'richText', formatter: function (p) { return 'film ' + short(films[p.value[1]]) + ', minute ' + p.value[0] + ': ' + p.value[2] + ' pauses'; } },
        grid: grid,
        xAxis: { type: 'category', data: minutes, name: 'minute of the film', nameLocation: 'middle', nameGap: 28 },
        yAxis: { type: 'category', data: films.map(short) },
        visualMap: { min: 0, max: max, calculable: true, orient: 'horizontal', left: 'center', top: 0, itemHeight: 120 },
        series: [{ type: 'heatmap', data: data, progressive: 0 }]
      } };
    },
    quality: function (d) {
      var t = d.series.map(function (p) { return hhmm(p.t); });
      return { points: d.series.length, option: {
        tooltip: { renderMode: 'richText', trigger: 'axis' }, legend: {}, grid: grid,
        xAxis: { type: 'category', data: t }, yAxis: { type: 'value', name: 'switches' },
        series: [
          { name: 'up', type: 'bar', stack: 'q', data: d.series.map(function (p) { return p.up; }), itemStyle: { color: '#2e8b57' } },
          { name: 'down', type: 'bar', stack: 'q', data: d.series.map(function (p) { return p.down; }), itemStyle: { color: '#c0392b' } }
        ]
      } };
    },
    fullviews: function (d) {
      var rows = d.top.map(function (f) { return ['best ' + short(f.film_id), f.rate]; })
        .concat(d.bottom.map(function (f) { return ['worst ' + short(f.film_id), f.rate]; }));
      return { points: rows.length, option: {
        tooltip: { renderMode: 'richText', valueFormatter: function (v) { return (v * 100).toFixed(1) + ' %'; } }, grid: grid,
        xAxis: { type: 'value', max: 1, axisLabel: { formatter: function (v) { return v * 100 + ' %'; } } },
        yAxis: { type: 'category', data: rows.map(function (r) { return r[0]; }), inverse: true },
        series: [{ type: 'bar', data: rows.map(function (r) { return r[1]; }), itemStyle: { color: '#1a55c4' } }]
      } };
    },
    pageviews: function (d) {
      var times = [];
      d.series.forEach(function (p) { if (times.indexOf(p.t) < 0) times.push(p.t); });
      times.sort();
      var series = d.endpoints.map(function (e) {
        var by = {};
        d.series.forEach(function (p) { if (p.endpoint === e.endpoint) by[p.t] = p.views; });
        return { name: e.endpoint, type: 'line', showSymbol: times.length <= 60, data: times.map(function (t) { return by[t] || 0; }) };
      });
      return { points: d.series.length, option: {
        tooltip: { renderMode: 'richText', trigger: 'axis' }, legend: { type: 'scroll' }, grid: grid,
        xAxis: { type: 'category', data: times.map(hhmm) }, yAxis: { type: 'value', name: 'views' },
        series: series
      } };
    },
    searches: function (d) {
      return { points: d.top.length, option: {
        tooltip: { renderMode: 'richText', trigger: 'axis' }, legend: {}, grid: grid,
        xAxis: { type: 'value' },
        yAxis: { type: 'category', inverse: true, data: d.top.map(function (s) { return s.query; }) },
        series: [
          { name: 'searches', type: 'bar', data: d.top.map(function (s) { return s.searches; }), itemStyle: { color: '#1a55c4' } },
          { name: 'found nothing', type: 'bar', data: d.top.map(function (s) { return s.zero_results; }), itemStyle: { color: '#c0392b' } }
        ]
      } };
    },
    active: function (d) {
      return { points: d.series.length, option: {
        tooltip: { renderMode: 'richText', trigger: 'axis' }, grid: grid,
        xAxis: { type: 'category', data: d.series.map(function (p) { return hhmm(p.t); }) },
        yAxis: { type: 'value', name: 'viewers', minInterval: 1 },
        series: [{ type: 'line', areaStyle: {}, showSymbol: d.series.length <= 60, data: d.series.map(function (p) { return p.viewers; }) }]
      } };
    }
  };
  function draw() {
    var charts = [];
    document.querySelectorAll('.chart[data-chart]').forEach(function (el) {
      var build = builders[el.getAttribute('data-kind')];
      if (!build) return;
      var made = build(JSON.parse(el.getAttribute('data-chart')));
      var chart = echarts.init(el, null, { renderer: 'canvas' });
      made.option.animation = false;
      chart.setOption(made.option);
      el.setAttribute('data-points', String(made.points));
      charts.push(chart);
    });
    window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
    document.body.setAttribute('data-charts-drawn', String(charts.length));
  }
  var range = document.querySelector('select[name=range]');
  if (range) range.addEventListener('change', function () {
    if (range.value !== 'custom') range.form.submit();
  });
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw);
  else draw();
})();
`;
