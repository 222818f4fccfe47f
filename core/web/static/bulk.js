// Selection bar of a list of documents (trays, « À valider », search results).
// Rows carry <input class="bulk-select" name="ids" form="bulk-form">. Without this script
// the form posts and the page flashes a summary. With it, an action runs 20 documents at a
// time (the form's data-chunk) through the same route answering JSON, shows « 12 / 40 »
// meanwhile, then one result per document, and refreshes the parts of the page marked
// data-live. « Télécharger (ZIP) » stays a plain form post (the browser saves the file).
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) { return; }
  var countLabel = document.getElementById("bulk-count");
  var selectAll = document.getElementById("select-all");
  var progress = document.getElementById("bulk-progress");
  var report = document.getElementById("bulk-report");
  var summary = document.getElementById("bulk-summary");
  var list = document.getElementById("bulk-results");
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var chunkSize = parseInt(form.dataset.chunk || "20", 10) || 20;
  var running = false;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("input.bulk-select"));
  }

  function selected() {
    return boxes().filter(function (b) { return b.checked; });
  }

  function refreshBar() {
    var all = boxes();
    var n = selected().length;
    countLabel.textContent = fill(n > 1 ? form.dataset.labelMany : form.dataset.labelOne, { n: n });
    form.querySelectorAll("button.bulk-action").forEach(function (b) { b.disabled = running || n === 0; });
    if (selectAll) {
      selectAll.checked = all.length > 0 && n === all.length;
      selectAll.indeterminate = n > 0 && n < all.length;
      selectAll.disabled = running || all.length === 0;
    }
    form.classList.toggle("has-selection", n > 0);
  }

  document.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("bulk-select")) { refreshBar(); }
  });
  if (selectAll) {
    selectAll.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = selectAll.checked; });
      refreshBar();
    });
  }

  function showProgress(done, total) {
    progress.hidden = false;
    var bar = progress.querySelector("progress");
    bar.max = total;
    bar.value = done;
    progress.querySelector("span").textContent = fill(form.dataset.labelProgress, { done: done, total: total });
  }

  function addResult(result) {
    var li = document.createElement("li");
    li.className = result.ok ? "ok" : "ko";
    li.dataset.document = result.id;
    var name = document.createElement("strong");
    name.textContent = result.name;
    li.appendChild(name);
    var text = document.createElement("span");
    text.className = "result-message";
    text.textContent = " — " + result.message;
    li.appendChild(text);
    list.appendChild(li);
  }

  // « Renvoyer » only queues the sends: follow the exports of the documents sent until
  // none waits nor runs (or about a minute passed), then say how each one ended.
  function sleep(ms) { return new Promise(function (resolve) { window.setTimeout(resolve, ms); }); }

  function followExports(ids) {
    var url = form.dataset.exportsUrl;
    if (!url || !ids.length) { return Promise.resolve(); }
    var query = ids.map(function (id) { return "ids=" + encodeURIComponent(id); }).join("&");
    var rounds = 0;
    summary.textContent = fill(form.dataset.labelFollowing, { n: ids.length });
    function poll() {
      rounds += 1;
      return fetch(url + "?" + query, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          var docs = data.documents || [];
          var busy = docs.filter(function (d) { return d.busy; }).length;
          if (busy && rounds < 30) { return sleep(2000).then(poll); }
          var sent = 0;
          docs.forEach(function (d) {
            var li = list.querySelector('li[data-document="' + d.id + '"]');
            if (d.ok) { sent += 1; }
            if (!li) { return; }
            li.className = d.ok ? "ok" : "ko";
            li.querySelector(".result-message").textContent = " — " + (d.busy ? form.dataset.labelStillPending + " " : "") + d.message;
          });
          summary.textContent = fill(form.dataset.labelSent, { ok: sent, ko: docs.length - sent });
          summary.className = "bulk-summary " + (sent === docs.length ? "ok" : "ko");
        });
    }
    return sleep(1500).then(poll).catch(function () { /* the queued results stay shown */ });
  }

  function post(action, ids, binderId) {
    var body = new FormData();
    body.append("csrf_token", form.querySelector('input[name="csrf_token"]').value);
    body.append("action", action);
    if (binderId) { body.append("binder_id", binderId); }
    ids.forEach(function (id) { body.append("ids", id); });
    return fetch(form.getAttribute("action"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf ? csrf.content : "" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok || !data.results) {
          var message = (data.error && data.error.message) || response.statusText || String(response.status);
          throw new Error(message);
        }
        return data.results;
      });
    });
  }

  function refreshPage() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live][id]").forEach(function (el) {
          var next = fresh.getElementById(el.id);
          if (next) { el.replaceWith(document.importNode(next, true)); }
        });
        var menu = document.getElementById("menu-to-review");
        var freshMenu = fresh.getElementById("menu-to-review");
        if (menu && freshMenu) { menu.innerHTML = freshMenu.innerHTML; }
      })
      .catch(function () { /* the results stay shown; a reload shows the rows */ });
  }

  function run(action, ids, binderId) {
    running = true;
    refreshBar();
    list.innerHTML = "";
    summary.textContent = "";
    report.hidden = true;
    var chunks = [];
    for (var i = 0; i < ids.length; i += chunkSize) { chunks.push(ids.slice(i, i + chunkSize)); }
    var done = 0;
    var ok = 0;
    var queued = [];
    showProgress(0, ids.length);
    form.setAttribute("aria-busy", "true");
    var chain = Promise.resolve();
    chunks.forEach(function (chunk) {
      chain = chain.then(function () {
        return post(action, chunk, binderId).then(function (results) {
          results.forEach(function (r) {
            if (r.ok) { ok += 1; queued.push(r.id); }
            addResult(r);
          });
        }, function (error) {
          chunk.forEach(function (id) {
            var box = document.querySelector('input.bulk-select[value="' + id + '"]');
            addResult({ id: id, ok: false, name: box ? box.dataset.name : "n° " + id,
                        message: fill(form.dataset.labelError, { message: error.message }) });
          });
        }).then(function () {
          done += chunk.length;
          showProgress(done, ids.length);
          report.hidden = false;
        });
      });
    });
    return chain.then(function () {
      var following = action === "resend" && queued.length > 0;
      var label = following ? form.dataset.labelQueued : form.dataset.labelSummary;
      summary.textContent = fill(label, { ok: ok, ko: ids.length - ok });
      summary.className = "bulk-summary " + (ok === ids.length ? "ok" : "ko");
      if (following) {
        return refreshPage().then(function () { return followExports(queued); }).then(refreshPage);
      }
      return refreshPage();
    }).then(function () {
      running = false;
      form.removeAttribute("aria-busy");
      form.dataset.done = String(Date.now());
      refreshBar();
    });
  }

  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (!submitter || submitter.dataset.plain) { return; }  // the ZIP: a plain post
    event.preventDefault();
    if (running) { return; }
    var ids = selected().map(function (b) { return b.value; });
    if (!ids.length) { return; }
    var binderId = "";
    if (submitter.value === "trash" && !window.confirm(fill(form.dataset.confirmTrash, { n: ids.length }))) {
      return;
    }
    if (submitter.value === "move") {
      var select = document.getElementById("bulk-binder");
      binderId = select ? select.value : "";
      if (!binderId) {
        report.hidden = false;
        list.innerHTML = "";
        summary.textContent = form.dataset.labelChooseBinder;
        summary.className = "bulk-summary ko";
        if (select) { select.focus(); }
        return;
      }
    }
    run(submitter.value, ids, binderId);
  });

  refreshBar();
})();
