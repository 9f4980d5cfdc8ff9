// jetflow web UI: confirmation dialogs, JSON checks and live updates.
// The pages work without this script; it only makes them nicer.
(function () {
  'use strict';

  var body = document.body;

  // ---- Confirmation dialogs -------------------------------------------
  // A link with data-dialog="ID" opens the <dialog id="ID"> instead of the
  // confirmation page it points to; [data-close] closes its dialog.
  function openDialog(dlg) {
    if (!dlg || typeof dlg.showModal !== 'function') return false;
    if (!dlg.open) dlg.showModal();
    var first = dlg.querySelector('input:not([type=hidden]), textarea');
    if (first) first.focus();
    return true;
  }

  document.addEventListener('click', function (ev) {
    var opener = ev.target.closest('[data-dialog]');
    if (opener) {
      var dlg = document.getElementById(opener.getAttribute('data-dialog'));
      if (openDialog(dlg)) ev.preventDefault();
      return;
    }
    var closer = ev.target.closest('[data-close]');
    if (closer) {
      ev.preventDefault();
      var d = closer.closest('dialog');
      if (d) d.close();
    }
  });

  // A dialog the server reopened (a refused signal) opens at once.
  document.querySelectorAll('dialog[data-open]').forEach(openDialog);

  // ---- Forms ------------------------------------------------------------
  // A [data-json] field must hold JSON (or nothing): a mistake is shown
  // in the form and nothing is sent. An action form in a dialog is sent
  // in the background: the page the server answers with (the instance page
  // with its message) gives the message and the fresh sections, so the page
  // is not reloaded. Submit buttons are disabled while a form is sent.
  function showFlash(flash) {
    var main = document.querySelector('main');
    var old = document.querySelector('[data-testid="flash"]');
    if (old) old.remove();
    if (flash && main) main.insertBefore(flash, main.firstChild);
  }

  function makeFlash(kind, message) {
    var el = document.createElement('div');
    el.className = 'flash flash-' + kind;
    el.setAttribute('role', 'status');
    el.setAttribute('data-testid', 'flash');
    el.setAttribute('data-kind', kind);
    el.textContent = message;
    return el;
  }

  function sendInBackground(form) {
    var dlg = form.closest('dialog');
    var buttons = form.querySelectorAll('button[type=submit]');
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: 'POST',
      body: new URLSearchParams(new FormData(form)),
      credentials: 'same-origin',
      headers: { Accept: 'text/html' }
    })
      .then(function (res) {
        return res.text().then(function (html) { return { ok: res.ok, html: html }; });
      })
      .then(function (r) {
        var doc = new DOMParser().parseFromString(r.html, 'text/html');
        var flash = doc.querySelector('[data-testid="flash"]');
        if (!r.ok) {
          var msg = flash ? flash.textContent : (doc.querySelector('.error-message') || doc.body).textContent;
          var errBox = form.querySelector('.field-error');
          if (errBox) {
            errBox.textContent = msg;
            errBox.hidden = false;
          } else {
            if (dlg) dlg.close();
            showFlash(makeFlash('error', msg));
          }
          return;
        }
        if (dlg) dlg.close();
        form.reset();
        showFlash(flash ? document.importNode(flash, true) : null);
        swapFrom(doc);
      })
      .catch(function (e) {
        if (dlg) dlg.close();
        showFlash(makeFlash('error', 'The request failed: ' + e.message + '. Nothing may have been sent; reload the page.'));
      })
      .then(function () {
        buttons.forEach(function (b) { b.disabled = false; });
      });
  }

  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    var field = form.querySelector('[data-json]');
    var errBox = form.querySelector('.field-error');
    if (field) {
      var text = field.value.trim();
      if (text !== '') {
        try {
          JSON.parse(text);
        } catch (e) {
          ev.preventDefault();
          if (errBox) {
            errBox.textContent = 'Not valid JSON: ' + e.message + '. Nothing was sent.';
            errBox.hidden = false;
          }
          field.focus();
          return;
        }
      }
    }
    if (errBox) errBox.hidden = true;
    if (form.method.toLowerCase() !== 'post') return;
    if (form.closest('dialog') && window.fetch && window.DOMParser) {
      ev.preventDefault();
      sendInBackground(form);
      return;
    }
    form.querySelectorAll('button[type=submit]').forEach(function (b) {
      setTimeout(function () { b.disabled = true; }, 0);
    });
  });

  // The filter form applies a workflow picked from its list at once.
  document.querySelectorAll('form[data-autosubmit] input[list]').forEach(function (input) {
    input.addEventListener('change', function () { input.form.requestSubmit(); });
  });

  // ---- Relative times ---------------------------------------------------
  function roughDuration(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + (s % 60) + 's';
    var h = Math.floor(m / 60);
    if (h < 24) return h + 'h ' + (m % 60) + 'm';
    return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
  }

  function relative(t) {
    var d = Date.now() - t;
    if (d > -1000 && d < 1000) return 'just now';
    return d > 0 ? roughDuration(d) + ' ago' : 'in ' + roughDuration(-d);
  }

  function refreshTimes(root) {
    root.querySelectorAll('time[data-rel]').forEach(function (el) {
      var t = Date.parse(el.getAttribute('datetime'));
      if (!isNaN(t)) el.textContent = relative(t);
    });
  }
  setInterval(function () { refreshTimes(document); }, 5000);

  // ---- Live updates -----------------------------------------------------
  // The page names an event stream and a fragment. On each "change" the
  // fragment is fetched and its [data-live-section] elements replace the
  // ones of the page with the same id. Open stack traces stay open.
  var eventsURL = body.getAttribute('data-live-events');
  var fragmentURL = body.getAttribute('data-live-fragment');
  var indicator = document.querySelector('[data-testid="live-indicator"]');

  function setLive(state, title) {
    if (!indicator) return;
    indicator.hidden = false;
    indicator.setAttribute('data-state', state);
    indicator.title = title;
  }

  // swapFrom replaces the [data-live-section] elements of the page with
  // those of doc that have the same id.
  function swapFrom(doc) {
    doc.querySelectorAll('[data-live-section]').forEach(function (fresh) {
      var old = document.getElementById(fresh.id);
      if (!old) return;
      old.querySelectorAll('details[open][id]').forEach(function (d) {
        var same = fresh.querySelector('#' + CSS.escape(d.id));
        if (same) same.open = true;
      });
      old.replaceWith(document.importNode(fresh, true));
    });
    var n = parseInt(body.getAttribute('data-live-updates') || '0', 10) + 1;
    body.setAttribute('data-live-updates', String(n));
  }

  function swap(html) {
    var tpl = document.createElement('template');
    tpl.innerHTML = html;
    swapFrom(tpl.content);
  }

  if (eventsURL && fragmentURL && window.EventSource && window.fetch) {
    var busy = false;
    var again = false;
    var refresh = function () {
      if (busy) { again = true; return; }
      busy = true;
      again = false;
      fetch(fragmentURL, { headers: { Accept: 'text/html' }, cache: 'no-store', credentials: 'same-origin' })
        .then(function (res) {
          if (!res.ok) throw new Error('HTTP ' + res.status);
          return res.text();
        })
        .then(swap)
        .catch(function (e) { setLive('off', 'Live update failed: ' + e.message); })
        .then(function () {
          busy = false;
          if (again) refresh();
        });
    };

    var source = new EventSource(eventsURL);
    source.addEventListener('open', function () { setLive('on', 'Live: the page follows changes'); });
    source.addEventListener('error', function () {
      setLive('off', source.readyState === EventSource.CLOSED ? 'Live updates stopped; reload the page' : 'Reconnecting…');
    });
    source.addEventListener('change', refresh);
    source.addEventListener('gone', function () {
      source.close();
      setLive('off', 'The instance no longer exists');
    });
    window.addEventListener('pagehide', function () { source.close(); });
  }
})();
