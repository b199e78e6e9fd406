/*
 * Cumulus dashboard: reads the gateway's frames (server-sent events from dashboard/stream, one a
 * second) and draws them. Plain JavaScript, no build step; charts by uPlot (vendored, MIT).
 * Every figure is computed on the gateway; this page only keeps the last five minutes for the charts.
 * Its state is window.cumulusDashboard (frames seen, the last frame, the charts and their data).
 */
(function () {
  'use strict';

  var WINDOW_S = 300;      // the charts show at most the last five minutes
  var MIN_WINDOW_S = 30;   // and at least half a minute
  var GAP_S = 2.5;         // two points further apart than this are not joined (nobody watched)
  var CHART_HEIGHT = 150;
  var COUNT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6];

  var style = getComputedStyle(document.documentElement);
  function color(name) { return style.getPropertyValue('--' + name).trim(); }
  function alpha(hex, a) {
    var m = /^#([0-9a-f]{6})$/i.exec(hex);
    if (!m) { return hex; }
    var n = parseInt(m[1], 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }

  var state = {
    frames: 0,          // frames received
    last: null,         // the last frame, as the gateway sent it
    now: null,          // its time, in seconds
    connected: false,
    runtime: { t: [], carriers: [], cpu: [], keys: ['carriers', 'cpu'] },
    functions: {},      // name -> { name, card, series: { t, inFlight, queued }, chart, q: the card's fields }
    charts: {}          // 'runtime' and each function's name -> its uPlot
  };
  window.cumulusDashboard = state;

  // ---------------------------------------------------------------------------------------------
  // Formatting

  function dash(x) { return x === null || x === undefined || Number.isNaN(x); }
  function count(n) { return dash(n) ? '–' : Math.round(n).toLocaleString('en-US'); }
  function rate(x) {
    if (dash(x)) { return '–'; }
    if (x === 0) { return '0'; }
    if (x < 10) { return x.toFixed(1); }
    return Math.round(x).toLocaleString('en-US');
  }
  /** Two significant digits below 1, cents above: 0.00012, 0.50, 12.34, 1,234. */
  function money(x) {
    if (dash(x)) { return '–'; }
    if (x === 0) { return '0'; }
    if (x >= 1000) { return Math.round(x).toLocaleString('en-US'); }
    if (x >= 1) { return x.toFixed(2); }
    var digits = Math.min(10, 1 - Math.floor(Math.log10(x)));
    return x.toFixed(Math.max(2, digits));
  }
  function millis(ms) {
    if (dash(ms)) { return '–'; }
    if (ms === 0) { return '0'; }
    if (ms < 1) { return ms.toFixed(2) + ' ms'; }
    if (ms < 10) { return ms.toFixed(1) + ' ms'; }
    if (ms < 1000) { return Math.round(ms) + ' ms'; }
    return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  }
  function text(el, value) { if (el.textContent !== value) { el.textContent = value; } }
  function $(id) { return document.getElementById(id); }

  // ---------------------------------------------------------------------------------------------
  // Series: arrays aligned on their own time axis, a null where nobody watched

  function push(series, t, values) {
    var times = series.t;
    var last = times.length ? times[times.length - 1] : null;
    if (last !== null && t <= last) { return; } // the history and the live frames overlap by one
    if (last !== null && t - last > GAP_S) {
      times.push(last + 1);
      values.forEach(function (v, i) { series[series.keys[i]].push(null); });
    }
    times.push(t);
    values.forEach(function (v, i) { series[series.keys[i]].push(dash(v) ? null : v); });
    var horizon = t - WINDOW_S - 5;
    var drop = 0;
    while (drop < times.length && times[drop] < horizon) { drop++; }
    if (drop > 0) {
      times.splice(0, drop);
      series.keys.forEach(function (k) { series[k].splice(0, drop); });
    }
  }

  function record(point) {
    var t = point.t / 1000;
    state.now = Math.max(state.now || 0, t);
    push(state.runtime, t, [point.carrierThreads, point.total ? point.total.cpuMsPerSec : null]);
    (point.functions || []).forEach(function (f) {
      push(fn(f.name).series, t, [f.inFlight, f.queued]);
    });
  }

  function xRange() {
    var now = state.now || Date.now() / 1000;
    var first = state.runtime.t.length ? state.runtime.t[0] : now;
    return [Math.max(now - WINDOW_S, Math.min(first, now - MIN_WINDOW_S)), now];
  }

  // ---------------------------------------------------------------------------------------------
  // Charts

  function pad(n) { return n < 10 ? '0' + n : '' + n; }
  function clock(u, splits) {
    return splits.map(function (v) {
      var d = new Date(v * 1000);
      return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    });
  }

  function axis(extra) {
    var base = {
      stroke: color('muted'),
      grid: { stroke: color('grid'), width: 1 },
      ticks: { stroke: color('grid'), width: 1, size: 4 },
      font: '11px system-ui, sans-serif'
    };
    return Object.assign(base, extra || {});
  }

  function countRange(u, min, max) {
    return [0, Math.max(1, Math.ceil((max || 0) * 1.15))];
  }

  /** A chart; legend(u, idx) shows the values under the cursor (idx), or the latest (idx null). */
  function makeChart(el, series, scales, axes, data, legend) {
    var u = new uPlot({
      width: Math.max(200, el.clientWidth),
      height: CHART_HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: Object.assign({ x: { time: true, range: function () { return xRange(); } } }, scales),
      axes: [axis({ space: 72, size: 30, values: clock })].concat(axes),
      series: [{}].concat(series),
      hooks: { setCursor: [function (u) { legend(u, u.cursor.idx); }] }
    }, data, el);
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var w = Math.max(200, el.clientWidth);
        if (w !== u.width) { u.setSize({ width: w, height: CHART_HEIGHT }); }
      }).observe(el);
    }
    return u;
  }

  function stepped() { return uPlot.paths.stepped({ align: 1 }); }

  function runtimeChart() {
    var s = state.runtime;
    return makeChart($('runtime-chart'), [
      { label: 'carrier threads', scale: 'n', stroke: color('carriers'), width: 2, paths: stepped(),
        fill: alpha(color('carriers'), 0.10), points: { show: false } },
      { label: 'CPU-ms/s', scale: 'cpu', stroke: color('cpu'), width: 1.5, points: { show: false } }
    ], {
      n: { range: countRange },
      cpu: { range: function (u, min, max) { return [0, Math.max(1, (max || 0) * 1.15)]; } }
    }, [
      axis({ scale: 'n', incrs: COUNT_INCRS, size: 36, values: function (u, v) { return v.map(count); } }),
      axis({ scale: 'cpu', side: 1, size: 48, grid: { show: false }, values: function (u, v) { return v.map(rate); } })
    ], [s.t, s.carriers, s.cpu], runtimeLegend);
  }

  /** The value at idx of a chart's series, or the latest when idx is null. */
  function at(u, idx, series) {
    var d = u.data[series];
    return idx === null || idx === undefined ? d[d.length - 1] : d[idx];
  }

  function runtimeLegend(u, idx) {
    text($('leg-carriers'), count(at(u, idx, 1)));
    text($('leg-cpu'), state.last && state.last.meteringMode !== 'EXACT' ? '–' : rate(at(u, idx, 2)));
  }

  function functionChart(el, s) {
    return makeChart(el, [
      { label: 'in flight', stroke: color('inflight'), width: 2, paths: stepped(),
        fill: alpha(color('inflight'), 0.12), points: { show: false } },
      { label: 'queued', stroke: color('queued'), width: 2, dash: [5, 3], paths: stepped(), points: { show: false } }
    ], {
      y: { range: countRange }
    }, [
      axis({ incrs: COUNT_INCRS, size: 40, values: function (u, v) { return v.map(count); } })
    ], [s.t, s.inFlight, s.queued], function (u, idx) {
      var q = state.functions[s.name].q;
      text(q['leg-inflight'], count(at(u, idx, 1)));
      text(q['leg-queued'], count(at(u, idx, 2)));
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Function cards

  function fn(name) {
    var f = state.functions[name];
    if (f) { return f; }
    var card = document.getElementById('function-card').content.firstElementChild.cloneNode(true);
    card.dataset.function = name;
    card.querySelector('.name').textContent = name;
    $('functions').appendChild(card);
    var series = { name: name, t: [], inFlight: [], queued: [], keys: ['inFlight', 'queued'] };
    f = { name: name, card: card, series: series, chart: null, q: {} };
    ['pill', 'limits', 'leg-inflight', 'leg-queued', 'warm', 'cold', 'calls', 'cpu', 'throttles',
      'errors', 'p99', 'p50', 'cost', 'per-month', 'per-hour'].forEach(function (k) { f.q[k] = card.querySelector('.' + k); });
    state.functions[name] = f;
    return f;
  }

  function limits(f) {
    var c = f.maxConcurrency === null || f.maxConcurrency === undefined
      ? 'no reserved concurrency' : 'up to ' + count(f.maxConcurrency) + ' at once';
    var q = dash(f.queueCapacity) ? '' : ' · queue of ' + count(f.queueCapacity);
    return f.registered ? c + q : 'unregistered: its usage stays on the bill';
  }

  function pill(f) {
    if (!f.registered) { return ['', 'unregistered']; }
    if (f.queued > 0) { return ['queueing', count(f.inFlight) + ' running · ' + count(f.queued) + ' queued']; }
    if (f.inFlight > 0) { return ['busy', count(f.inFlight) + ' running']; }
    if (f.warm > 0) { return ['warm', 'idle · ' + count(f.warm) + ' warm']; }
    return ['zero', 'scaled to zero'];
  }

  function renderFunction(frame, f) {
    var entry = fn(f.name);
    var q = entry.q;
    var p = pill(f);
    q.pill.className = 'pill ' + p[0];
    text(q.pill, p[1]);
    text(q.limits, limits(f));
    entry.card.classList.toggle('unregistered', !f.registered);
    text(q.warm, count(f.warm));
    text(q.cold, count(f.coldStarts));
    text(q.calls, rate(f.callsPerSec));
    text(q.cpu, frame.meteringMode === 'EXACT' ? rate(f.cpuMsPerSec) : 'not metered');
    text(q.throttles, count(f.throttles));
    q.throttles.classList.toggle('bad', f.throttles > 0);
    text(q.errors, count(f.errors));
    q.errors.classList.toggle('bad', f.errors > 0);
    q.errors.title = f.errors > 0 ? count(f.failures) + ' failed, ' + count(f.timeouts) + ' timed out' : '';
    text(q.p99, millis(f.p99Ms));
    text(q.p50, dash(f.p50Ms) ? 'no call ended yet' : 'p50 ' + millis(f.p50Ms));
    text(q.cost, money(f.cost));
    text(q['per-month'], money(f.costPerMonth));
    text(q['per-hour'], money(f.costPerHour) + ' /hour');
  }

  // ---------------------------------------------------------------------------------------------
  // Frames

  function render(frame) {
    var total = frame.total;
    text($('mode'), frame.meteringMode);
    text($('model'), frame.priceModel);
    var carriers = frame.carrierThreads;
    text($('carriers'), count(carriers));
    $('tile-carriers').classList.toggle('zero', carriers === 0);
    text($('carriers-note'), carriers === 0 ? 'scaled to zero: no thread held'
      : 'platform threads running functions');
    text($('inflight'), count(total.inFlight));
    text($('queued'), count(total.queued));
    var exact = frame.meteringMode === 'EXACT';
    text($('cpu'), exact ? rate(total.cpuMsPerSec) : '–');
    text($('cpu-note'), exact ? 'CPU-milliseconds per second' : 'CPU is not metered (' + frame.meteringMode + ')');
    text($('cost'), frame.billError ? '–' : money(total.cost));
    text($('cost-note'), frame.billError || 'since the runtime started');
    text($('per-hour'), money(total.costPerHour));
    text($('per-month'), money(total.costPerMonth));

    frame.functions.forEach(function (f) { renderFunction(frame, f); });
    // Cards in the gateway's order (by name), also when a function is registered later.
    var order = frame.functions.map(function (f) { return f.name; }).join('\n');
    var shown = Array.prototype.map.call($('functions').children, function (c) { return c.dataset.function; });
    if (shown.join('\n') !== order) {
      frame.functions.forEach(function (f) { $('functions').appendChild(state.functions[f.name].card); });
    }
    $('no-functions').hidden = frame.functions.length > 0;
  }

  function redraw() {
    if (!state.charts.runtime) { state.charts.runtime = runtimeChart(); }
    var r = state.runtime;
    var rt = state.charts.runtime;
    rt.setData([r.t, r.carriers, r.cpu]);
    runtimeLegend(rt, rt.cursor.idx);
    Object.keys(state.functions).forEach(function (name) {
      var f = state.functions[name];
      var s = f.series;
      if (!f.chart) {
        f.chart = functionChart(f.card.querySelector('.chart'), s);
        state.charts[name] = f.chart;
      }
      f.chart.setData([s.t, s.inFlight, s.queued]);
      text(f.q['leg-inflight'], count(at(f.chart, f.chart.cursor.idx, 1)));
      text(f.q['leg-queued'], count(at(f.chart, f.chart.cursor.idx, 2)));
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Connection

  function status(s, message) {
    $('conn').dataset.state = s;
    text($('conn-text'), message);
  }

  function connect() {
    var source = new EventSource('dashboard/stream');
    source.onopen = function () {
      state.connected = true;
      status('live', 'live');
    };
    source.addEventListener('history', function (e) {
      JSON.parse(e.data).forEach(record);
      redraw();
    });
    source.onmessage = function (e) {
      var frame = JSON.parse(e.data);
      state.frames++;
      state.last = frame;
      record(frame);
      render(frame);
      redraw();
      status('live', 'live · ' + new Date(frame.t).toLocaleTimeString());
    };
    source.onerror = function () {
      state.connected = false;
      if (source.readyState === EventSource.CLOSED) {
        status('closed', 'disconnected: reload the page (sign in again if the gateway restarted)');
      } else {
        status('connecting', 'reconnecting…');
      }
    };
  }

  // A link's '#token=...' (see signin.js) has no use once the page is open: out of the address bar.
  if (/^#token=/.test(location.hash)) {
    history.replaceState(null, '', location.pathname + location.search);
  }
  connect();
}());
