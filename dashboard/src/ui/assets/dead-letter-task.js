// Keeps a background redrive's page current: asks data-task-url on <body> for the task's
// counts every data-poll-ms, updates the progress bar and the counts, and reloads the page
// (server-rendered with the outcome) once the task is no longer running. A file, not inline
// script: the CSP allows scripts only from this origin.
(function () {
  'use strict';
  var url = document.body.getAttribute('data-task-url');
  var pollMs = Number(document.body.getAttribute('data-poll-ms')) || 500;
  if (!url) return;

  function show(task) {
    var bar = document.getElementById('dl-task-progress');
    if (bar) {
      bar.max = Math.max(task.total, 1);
      bar.value = task.done;
      bar.textContent = task.done + ' of ' + task.total;
    }
    ['done', 'total', 'state', 'redriven', 'skipped', 'errors'].forEach(function (field) {
      var element = document.querySelector('[data-field="' + field + '"]');
      if (element) element.textContent = String(task[field]);
    });
  }

  function poll() {
    fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (body) {
        show(body.task);
        if (body.task.state === 'running') schedule();
        else window.location.reload();
      })
      // Redis away or the server restarting: keep asking.
      .catch(schedule);
  }

  function schedule() {
    window.setTimeout(poll, pollMs);
  }

  schedule();
})();
