/*
 * The queue detail page's charts, drawn with uPlot (/assets/vendor/uplot.js) from
 * <body data-history-url> (GET /api/queues/<name>/history?range=…). Fetched again every
 * data-refresh-ms, redrawn to the container's width when the window resizes. A null figure is
 * a gap in its line, never a zero. A line needs two neighbouring values, so a series with few
 * values is drawn as dots, and a value alone between gaps gets a dot of its own. Without this
 * script the page's table shows the same figures.
 */
(function () {
  'use strict';

  var body = document.body;
  var url = body.dataset.historyUrl;
  var refreshMs = Number(body.dataset.refreshMs) || 0;
  var status = document.getElementById('qd-status');
  var plots = document.querySelectorAll('#qd-charts [data-chart]');
  if (!url || plots.length === 0 || typeof window.uPlot !== 'function') return;

  var css = getComputedStyle(document.documentElement);
  function color(name, fallback) {
    return css.getPropertyValue(name).trim() || fallback;
  }
  var theme = {
    fg: color('--fg', '#1d2330'),
    line: color('--line', '#dde1e7'),
    accent: color('--accent', '#2457c5'),
    failed: color('--failed', '#b42318'),
    active: color('--active', '#1570ef'),
    delayed: color('--delayed', '#b54708'),
  };

  function fixed(digits, unit) {
    return function (_u, value) {
      return value == null ? '–' : value.toFixed(digits) + unit;
    };
  }
  function millis(_u, value) {
    if (value == null) return '–';
    return value < 1000 ? Math.round(value) + ' ms' : (value / 1000).toFixed(2) + ' s';
  }
  function pick(path) {
    return function (point) {
      var value = point;
      for (var i = 0; i < path.length && value != null; i++) value = value[path[i]];
      return value == null ? null : value;
    };
  }
  function percentOf(point) {
    return point.failureRate == null ? null : point.failureRate * 100;
  }

  /* One entry per chart container (data-chart): its series, each with a colour, a label, how
   * to read it from a point and how to show a value. */
  var charts = {
    rates: [
      { label: 'λ arrivals', stroke: theme.delayed, get: pick(['arrivalRate']), value: fixed(2, '/s') },
      { label: 'θ completions', stroke: theme.accent, get: pick(['completionRate']), value: fixed(2, '/s') },
    ],
    wait: [
      { label: 'p50', stroke: theme.accent, get: pick(['wait', 'p50Ms']), value: millis },
      { label: 'p95', stroke: theme.delayed, get: pick(['wait', 'p95Ms']), value: millis },
      { label: 'p99', stroke: theme.failed, get: pick(['wait', 'p99Ms']), value: millis },
    ],
    service: [
      { label: 'p50', stroke: theme.accent, get: pick(['service', 'p50Ms']), value: millis },
      { label: 'p95', stroke: theme.delayed, get: pick(['service', 'p95Ms']), value: millis },
      { label: 'p99', stroke: theme.failed, get: pick(['service', 'p99Ms']), value: millis },
    ],
    failures: [{ label: 'failed attempts', stroke: theme.failed, get: percentOf, value: fixed(1, ' %') }],
    backlog: [{ label: 'in queue', stroke: theme.active, get: pick(['inQueue']), value: fixed(0, '') }],
  };

  var drawn = [];

  /* At most this many values in a series: every one of them is drawn as a dot too. */
  var FEW_VALUES = 3;

  function valueCount(values) {
    var n = 0;
    for (var i = 0; i < values.length; i++) if (values[i] != null) n++;
    return n;
  }

  /* Indexes of values with no value on either side: no line segment reaches them. */
  function loneIndexes(values) {
    var lone = [];
    for (var i = 0; i < values.length; i++) {
      if (values[i] == null) continue;
      if ((i === 0 || values[i - 1] == null) && (i === values.length - 1 || values[i + 1] == null)) lone.push(i);
    }
    return lone;
  }

  var pointStyle = {
    show: function (u, seriesIdx) {
      return valueCount(u.data[seriesIdx] || []) <= FEW_VALUES;
    },
    // Called with what show() said: when it said no, dots only where no line is drawn.
    filter: function (u, seriesIdx, show) {
      if (show) return null;
      var lone = loneIndexes(u.data[seriesIdx] || []);
      return lone.length > 0 ? lone : null;
    },
  };

  function heightFor() {
    return window.innerWidth < 640 ? 180 : 220;
  }

  function options(series, width) {
    var axis = { stroke: theme.fg, grid: { stroke: theme.line, width: 1 }, ticks: { stroke: theme.line, width: 1 } };
    return {
      width: width,
      height: heightFor(),
      // Every figure here is ≥ 0; an empty chart still gets a sensible scale.
      scales: { y: { range: function (_u, _min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
      axes: [axis, Object.assign({ size: 56 }, axis)],
      series: [{ label: 'time' }].concat(
        series.map(function (s) {
          return { label: s.label, stroke: s.stroke, width: 2, spanGaps: false, points: { show: pointStyle.show, filter: pointStyle.filter, fill: s.stroke }, value: s.value };
        }),
      ),
    };
  }

  function dataOf(points, series) {
    var xs = points.map(function (p) { return p.fromMs / 1000; });
    return [xs].concat(series.map(function (s) { return points.map(s.get); }));
  }

  function draw(points) {
    plots.forEach(function (el, i) {
      var series = charts[el.dataset.chart];
      if (!series) return;
      var data = dataOf(points, series);
      if (drawn[i]) {
        drawn[i].setData(data);
        return;
      }
      el.textContent = '';
      drawn[i] = new window.uPlot(options(series, el.clientWidth), data, el);
    });
  }

  function say(text, failed) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle('qd-error', Boolean(failed));
  }

  function load() {
    return fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (history) {
        draw(history.points);
        say('Points of ' + history.stepSec / 60 + ' min, the last one so far; gaps are minutes nobody measured. Updated ' + new Date().toLocaleTimeString() + '.', false);
      })
      .catch(function (error) {
        say('Could not load the history (' + error.message + '); the charts show the last figures received.', true);
      });
  }

  var pending = 0;
  window.addEventListener('resize', function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () {
      plots.forEach(function (el, i) {
        if (drawn[i]) drawn[i].setSize({ width: el.clientWidth, height: heightFor() });
      });
    });
  });

  load();
  if (refreshMs > 0) setInterval(load, refreshMs);
})();
