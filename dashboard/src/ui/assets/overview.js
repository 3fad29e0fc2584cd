// Keeps the overview live: follows the Server-Sent Events stream named by data-stream-url on
// <body> (one shared server-side poll feeds every tab) and updates the page's cells in place:
// health, figures, sparklines, dead letters (count and per-minute line), paused badges and the banners. The stream is closed
// while the tab is hidden and reopened when it shows again (the server then sends the latest
// snapshot at once). On a stream error the "Updated" line is marked stale; EventSource
// reconnects by itself (the server ends every stream after a while, so that it checks the
// session again). The server says `signed-out` when the session has ended, and a stream it
// refused is probed with GET /api/overview: a 401 sends the page to /login, anything else
// reopens the stream after data-refresh-ms.
// Served as a file (not inline) so the page works under a CSP without 'unsafe-inline'.
(function () {
  'use strict';
  var body = document.body;
  var streamUrl = body.getAttribute('data-stream-url');
  var refreshMs = Number(body.getAttribute('data-refresh-ms')) || 5000;
  var HEIGHT = 10; // SPARKLINE_HEIGHT in src/ui/sparkline.ts
  var labels = { red: 'critical', amber: 'warning', green: 'healthy', paused: 'paused', unknown: 'unknown' }; // healthLabels in src/queue-health.ts
  var source = null;
  var reopenTimer = null;
  if (!streamUrl || typeof window.EventSource !== 'function') return;

  // The same path as sparklinePath() in src/ui/sparkline.ts.
  function sparklinePath(values) {
    var max = 0;
    values.forEach(function (v) { if (v !== null && v > max) max = v; });
    var d = '', command = '', previousY, flat = 0, segment = 0;
    function endFlat() {
      if (flat > 0) { d += 'h' + flat; command = 'h'; }
      flat = 0;
    }
    function endSegment() {
      endFlat();
      if (segment === 1) d += 'h0';
      segment = 0;
      previousY = undefined;
    }
    values.forEach(function (value, x) {
      if (value === null) return endSegment();
      var y = HEIGHT - (max > 0 ? Math.round((Math.max(0, value) / max) * HEIGHT) : 0);
      segment++;
      if (previousY === undefined) {
        d += 'M' + x + ' ' + y;
        command = 'M';
      } else if (y === previousY) {
        flat++;
      } else {
        endFlat();
        var dy = y - previousY;
        var pair = '1' + (dy < 0 ? '' : ' ') + dy;
        d += command === 'l' ? ' ' + pair : 'l' + pair;
        command = 'l';
      }
      previousY = y;
    });
    endSegment();
    return d;
  }

  function element(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function replaceContent(container, node) {
    if (!container) return;
    while (container.firstChild) container.removeChild(container.firstChild);
    if (node) container.appendChild(node);
  }

  function setStale(stale) {
    var meta = document.getElementById('overview-meta');
    if (meta) meta.classList.toggle('stale', stale);
  }

  function renderError(snapshot) {
    var error = snapshot.error;
    var refreshSec = Math.max(1, Math.round(snapshot.refreshMs / 1000));
    replaceContent(document.getElementById('overview-error'), error && element('div', { class: 'banner', role: 'alert' }, [
      element('strong', {}, [error.code === 'redis_unavailable' ? 'Redis unreachable.' : 'Queue figures unavailable.']),
      ' Queue figures are unavailable until it answers again; this page retries every ' + refreshSec + ' s. ',
      element('span', { class: 'reason' }, ['(' + error.message + ')']),
    ]));
  }

  function renderAlerts(alerts) {
    var n = alerts.length;
    replaceContent(document.getElementById('overview-alerts'), n > 0 && element('div', { class: 'banner alerts-firing', role: 'alert' }, [
      element('strong', {}, [n + ' alert' + (n === 1 ? '' : 's') + ' firing']),
      ' · ',
      element('a', { href: '/alerts' }, ['all alerts']),
      element('ul', {}, alerts.map(function (a) {
        return element('li', { 'data-rule': a.rule, 'data-queue': a.queue }, [
          element('strong', {}, [a.rule]), ' on ', element('code', {}, [a.queue]),
          ': ' + a.condition + ' ' + (a.value === null ? '–' : a.value) + ' (threshold ' + (a.threshold === null ? '–' : a.threshold) + ')',
        ]);
      })),
    ]));
  }

  function renderRow(row, queue) {
    var level = queue.health.level;
    var reasons = queue.health.reasons.join('; ');
    row.setAttribute('data-health', level);
    var healthCell = row.querySelector('td.health');
    if (healthCell) {
      replaceContent(healthCell, element('span', { class: 'health ' + level }, [labels[level] || level]));
      if (reasons) healthCell.appendChild(element('small', {}, [reasons]));
    }
    var name = row.querySelector('th');
    var badge = name && name.querySelector('.badge.paused');
    if (queue.paused && !badge && name) name.firstChild.after(' ', element('span', { class: 'badge paused' }, ['paused']));
    if (!queue.paused && badge) badge.remove();

    row.querySelectorAll('td[data-figure]').forEach(function (cell) {
      var key = cell.getAttribute('data-figure');
      var path = cell.querySelector('path');
      var seriesKey = key === 'deadLetters' ? 'deadLettered' : key;
      if (path && queue.series !== undefined) path.setAttribute('d', queue.series ? sparklinePath(queue.series[seriesKey]) : '');
      if (key === 'deadLetters') {
        // The count (a link, or – while unknown) goes before the sparkline, which stays.
        var n = queue.deadLetters;
        cell.classList.toggle('has-failed', n > 0);
        Array.prototype.slice.call(cell.childNodes).forEach(function (node) { if (node.nodeName.toLowerCase() !== 'svg') cell.removeChild(node); });
        cell.insertBefore(n === null
          ? document.createTextNode('–')
          : element('a', { href: '/dead-letters?queue=' + encodeURIComponent(queue.name) }, [String(n)]), cell.firstChild);
        return;
      }
      var value = cell.querySelector('span');
      if (value) value.textContent = queue.text[key];
    });
  }

  function render(snapshot) {
    setStale(false);
    var time = document.querySelector('#overview-meta time');
    if (time) {
      var at = new Date(snapshot.atMs);
      time.setAttribute('datetime', at.toISOString());
      time.textContent = at.toISOString();
    }
    renderError(snapshot);
    renderAlerts(snapshot.alerts);
    var rows = {};
    document.querySelectorAll('table.overview tbody tr[data-queue]').forEach(function (row) {
      rows[row.getAttribute('data-queue')] = row;
    });
    snapshot.queues.forEach(function (queue) {
      if (rows[queue.name]) renderRow(rows[queue.name], queue);
    });
  }

  function open() {
    if (source || document.visibilityState === 'hidden') return;
    source = new EventSource(streamUrl);
    source.addEventListener('overview', function (event) {
      try {
        render(JSON.parse(event.data));
      } catch (error) {
        setStale(true);
      }
    });
    source.addEventListener('signed-out', toLogin);
    source.onerror = function () {
      setStale(true);
      // CLOSED: the server refused the stream; EventSource will not retry. Signed out, or a server error?
      if (source && source.readyState === EventSource.CLOSED) {
        close();
        fetch('/api/overview', { headers: { accept: 'application/json' }, credentials: 'same-origin' })
          .then(function (response) {
            if (response.status === 401) return toLogin();
            reopenTimer = window.setTimeout(open, refreshMs);
          })
          .catch(function () {
            reopenTimer = window.setTimeout(open, refreshMs);
          });
      }
    };
  }

  function toLogin() {
    close();
    window.location.assign('/login?next=' + encodeURIComponent(window.location.pathname + window.location.search));
  }

  function close() {
    window.clearTimeout(reopenTimer);
    if (source) source.close();
    source = null;
  }

  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'hidden') close();
    else open();
  });
  window.addEventListener('pagehide', close);
  window.addEventListener('pageshow', open);
  open();
})();
