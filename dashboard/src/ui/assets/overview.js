// Refreshes the overview in place every data-refresh-ms on <body>, while the tab is visible.
// Served as a file (not inline) so the page works under a CSP without 'unsafe-inline'.
(function () {
  'use strict';
  var refreshMs = Number(document.body.getAttribute('data-refresh-ms')) || 5000;

  function markStale() {
    var meta = document.querySelector('#content .meta');
    if (meta) meta.classList.add('stale');
  }

  function refresh() {
    if (document.visibilityState === 'hidden') return schedule();
    fetch(window.location.href, { headers: { Accept: 'text/html' }, cache: 'no-store' })
      .then(function (response) { return response.text(); })
      .then(function (text) {
        var next = new DOMParser().parseFromString(text, 'text/html').getElementById('content');
        var current = document.getElementById('content');
        if (next && current) current.replaceWith(next);
        else markStale();
      })
      .catch(markStale)
      .then(schedule);
  }

  function schedule() {
    window.setTimeout(refresh, refreshMs);
  }

  schedule();
})();
