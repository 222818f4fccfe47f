// "Déposer des documents": upload each file with its own progress bar into the chosen binder,
// then follow its processing state until it is ready or failed. No inline script (CSP).
(function () {
  "use strict";
  const zone = document.getElementById("dropzone");
  if (!zone) return;
  const input = document.getElementById("files");
  const select = document.getElementById("binder");
  const binderError = document.getElementById("binder-error");
  const binderField = document.getElementById("binder-field");
  const rows = document.querySelector("#uploads tbody");
  const template = document.getElementById("upload-row");
  const labels = document.getElementById("labels").dataset;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const maxBytes = parseInt(zone.dataset.maxBytes, 10);
  const FINAL = new Set(["to_review", "validated", "failed", "trashed"]);

  function badge(row) {
    return row.querySelector(".status .state");
  }

  function setStatus(row, text, state) {
    const span = badge(row);
    span.textContent = text;
    span.className = "state state-" + (state || "received");
    row.dataset.state = state || "";
  }

  function documentLink(id, text) {
    const link = document.createElement("a");
    link.href = "/documents/" + id;
    link.textContent = text;
    return link;
  }

  function follow(row, id) {
    const name = row.querySelector(".name");
    name.replaceChildren(documentLink(id, name.textContent));
    const poll = () => {
      fetch("/api/v1/documents/" + id, { credentials: "same-origin" })
        .then((r) => r.json())
        .then((doc) => {
          let text = labels[doc.state] || doc.state;
          if (doc.state === "failed" && doc.failure_reason) text += " : " + doc.failure_reason;
          setStatus(row, text, doc.state);
          if (!FINAL.has(doc.state)) setTimeout(poll, 1000);
        })
        .catch(() => setTimeout(poll, 3000));
    };
    poll();
  }

  // The same file was already in this binder: say so and point at the existing document;
  // its state is not followed (it would replace this message).
  function duplicate(row, doc) {
    const name = row.querySelector(".name");
    name.replaceChildren(documentLink(doc.id, name.textContent));
    const span = badge(row);
    span.className = "state state-duplicate";
    span.replaceChildren(labels.duplicate + " ", documentLink(doc.id, doc.filename));
    row.dataset.state = "duplicate";
  }

  function chosenBinder() {
    if (select.value) return select.options[select.selectedIndex];
    binderError.hidden = false;
    binderField.classList.add("has-error");
    select.setAttribute("aria-invalid", "true");
    select.focus();
    return null;
  }

  select.addEventListener("change", () => {
    binderError.hidden = true;
    binderField.classList.remove("has-error");
    select.removeAttribute("aria-invalid");
  });

  function upload(file, option) {
    const row = template.content.firstElementChild.cloneNode(true);
    row.querySelector(".name").textContent = file.name;
    row.querySelector(".binder").textContent = option.textContent.trim();
    row.dataset.binder = option.value;
    rows.appendChild(row);
    const bar = row.querySelector("progress");
    if (file.size > maxBytes) {
      setStatus(row, labels.tooLarge, "failed");
      return;
    }
    const form = new FormData();
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/binders/" + encodeURIComponent(option.value) + "/documents");
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    };
    setStatus(row, labels.sending, "received");
    xhr.onload = () => {
      bar.value = 100;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      if (xhr.status === 202 && body.documents && body.documents.length) {
        const doc = body.documents[0];
        if (doc.duplicate) duplicate(row, doc);
        else follow(row, doc.id);
      } else {
        const message = (body.error && body.error.message) || xhr.statusText;
        setStatus(row, message, "failed");
      }
    };
    xhr.onerror = () => setStatus(row, labels.network, "failed");
    xhr.send(form);
  }

  function handle(files) {
    const option = chosenBinder();
    if (!option) return;
    Array.from(files).forEach((file) => upload(file, option));
  }

  input.addEventListener("change", () => { handle(input.files); input.value = ""; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    handle(e.dataTransfer.files);
  });
})();
