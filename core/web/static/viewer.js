// The document page: a viewer of the pages (zoom, page navigation, lazy loading), the fields
// shown on the page (boxes over the words that gave them), tabs, and live states (the state
// badge and the export rows refreshed while something is under way). No inline script (CSP).
(function () {
  "use strict";
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // -- Actions: one confirmation open at a time; Escape closes it ---------------------------
  const actions = Array.prototype.slice.call(document.querySelectorAll(".doc-actions > details"));
  actions.forEach(function (details) {
    details.addEventListener("toggle", function () {
      if (!details.open) return;
      actions.forEach(function (other) { if (other !== details) other.open = false; });
      const input = details.querySelector("input[type=text], select");
      if (input) input.focus();
    });
    details.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && details.open) {
        details.open = false;
        details.querySelector("summary").focus();
      }
    });
  });

  // -- Tabs: "Pages" / "Données de la facture électronique" --------------------------------
  document.querySelectorAll(".viewer-tab").forEach(function (tab) {
    tab.addEventListener("click", function () {
      document.querySelectorAll(".viewer-tab").forEach(function (other) {
        other.setAttribute("aria-selected", other === tab ? "true" : "false");
      });
      document.querySelectorAll("[data-tab-panel]").forEach(function (panel) {
        panel.hidden = panel.dataset.tabPanel !== tab.dataset.tab;
      });
    });
  });

  // -- Viewer -----------------------------------------------------------------------------
  const viewer = document.getElementById("viewer");
  if (viewer) {
    const total = parseInt(viewer.dataset.pages, 10) || 0;
    const scroller = document.getElementById("viewer-scroll");
    const pagesBox = document.getElementById("viewer-pages");
    const indicator = document.getElementById("page-indicator");
    const zoomLabel = document.getElementById("zoom-level");
    const note = document.getElementById("locate-note");
    const pages = Array.prototype.slice.call(viewer.querySelectorAll(".viewer-page"));
    const ZOOMS = [0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 2.5, 3];
    let zoom = 1;
    let current = 1;

    function load(page) {
      const img = page.querySelector("img");
      if (img && !img.getAttribute("src") && img.dataset.src) {
        img.addEventListener("load", function () { page.classList.add("loaded"); });
        img.setAttribute("src", img.dataset.src);
      }
    }

    function showIndicator() {
      indicator.textContent = indicator.dataset.label
        .replace("{n}", String(current)).replace("{total}", String(total));
      document.getElementById("page-prev").disabled = current <= 1;
      document.getElementById("page-next").disabled = current >= total;
    }

    // Lazy loading: a page's image is asked for when it comes near the visible area.
    if ("IntersectionObserver" in window) {
      const near = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) { load(entry.target); near.unobserve(entry.target); }
        });
      }, { root: scroller, rootMargin: "600px 0px" });
      pages.forEach(function (page) { near.observe(page); });
    } else {
      pages.forEach(load);
    }

    // The current page: the one whose top is the last above the middle of the visible area.
    function track() {
      const top = scroller.getBoundingClientRect().top + scroller.clientHeight / 3;
      let found = 1;
      pages.forEach(function (page) {
        if (page.getBoundingClientRect().top <= top) found = parseInt(page.dataset.page, 10);
      });
      if (found !== current) { current = found; showIndicator(); }
    }
    scroller.addEventListener("scroll", track, { passive: true });

    function goTo(n) {
      n = Math.max(1, Math.min(total, n));
      const page = pages[n - 1];
      if (!page) return;
      load(page);
      scroller.scrollTop = page.offsetTop - pagesBox.offsetTop;
      current = n;
      showIndicator();
    }
    document.getElementById("page-prev").addEventListener("click", function () { goTo(current - 1); });
    document.getElementById("page-next").addEventListener("click", function () { goTo(current + 1); });

    function setZoom(value) {
      const anchor = pages[current - 1];
      zoom = Math.max(ZOOMS[0], Math.min(ZOOMS[ZOOMS.length - 1], value));
      pagesBox.style.width = (zoom * 100) + "%";
      zoomLabel.textContent = Math.round(zoom * 100) + " %";
      if (anchor) scroller.scrollTop = anchor.offsetTop - pagesBox.offsetTop;
    }
    function step(direction) {
      const next = direction > 0
        ? ZOOMS.find(function (z) { return z > zoom + 0.001; })
        : ZOOMS.slice().reverse().find(function (z) { return z < zoom - 0.001; });
      if (next !== undefined) setZoom(next);
    }
    document.getElementById("zoom-in").addEventListener("click", function () { step(1); });
    document.getElementById("zoom-out").addEventListener("click", function () { step(-1); });
    document.getElementById("zoom-fit").addEventListener("click", function () { setZoom(1); });
    scroller.addEventListener("wheel", function (event) {
      if (!event.ctrlKey) return;
      event.preventDefault();
      step(event.deltaY < 0 ? 1 : -1);
    }, { passive: false });
    showIndicator();

    // -- Fields located on the page --------------------------------------------------------
    let words = null;
    function fetchWords() {
      if (!words) {
        words = fetch(viewer.dataset.wordsUrl, {
          credentials: "same-origin", headers: { Accept: "application/json" },
        }).then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        });
      }
      return words;
    }
    function clearBoxes() {
      viewer.querySelectorAll(".word-box").forEach(function (box) { box.remove(); });
      document.querySelectorAll(".field-value.selected").forEach(function (b) {
        b.classList.remove("selected");
      });
    }
    document.querySelectorAll(".field-value").forEach(function (button) {
      button.addEventListener("click", function () {
        clearBoxes();
        button.classList.add("selected");
        note.textContent = "";
        const pagesTab = document.querySelector('.viewer-tab[data-tab="pages"]');
        if (pagesTab && pagesTab.getAttribute("aria-selected") !== "true") pagesTab.click();
        fetchWords().then(function (data) {
          const boxes = (data.fields || {})[button.dataset.field] || [];
          if (!boxes.length) { note.textContent = note.dataset.missing; return; }
          boxes.forEach(function (box) {
            const page = pages[box.page - 1];
            if (!page) return;
            load(page);
            const mark = document.createElement("div");
            mark.className = "word-box";
            mark.dataset.field = button.dataset.field;
            mark.style.left = (box.x0 * 100) + "%";
            mark.style.top = (box.y0 * 100) + "%";
            mark.style.width = ((box.x1 - box.x0) * 100) + "%";
            mark.style.height = ((box.y1 - box.y0) * 100) + "%";
            page.appendChild(mark);
          });
          goTo(boxes[0].page);
          const first = viewer.querySelector(".word-box");
          if (first) {
            const page = first.parentElement;
            const y = page.offsetTop - pagesBox.offsetTop + first.offsetTop - scroller.clientHeight / 3;
            scroller.scrollTop = Math.max(0, y);
            // The viewer column is sticky; if the box is still out of the window (a narrow
            // screen, the column not yet stuck), bring it into view.
            const rect = first.getBoundingClientRect();
            if (rect.top < 0 || rect.bottom > window.innerHeight) {
              first.scrollIntoView({ block: "center", inline: "nearest" });
            }
          }
        }).catch(function () {
          words = null;
          note.textContent = note.dataset.error;
        });
      });
    });
  }

  // -- Live states --------------------------------------------------------------------------
  const head = document.getElementById("document-head");
  const rowsBox = document.getElementById("export-rows");
  const resendError = document.getElementById("resend-error");
  let timer = null;

  function refresh() {
    timer = null;
    fetch(head.dataset.liveUrl, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (data) {
      const badge = document.getElementById("state");
      const reading = ["received", "extracting"];
      if (reading.indexOf(head.dataset.state) >= 0 && reading.indexOf(data.state) < 0) {
        // Read: its fields, checks and pages are now known, the page shows them.
        window.location.reload();
        return;
      }
      head.dataset.state = data.state;
      if (badge && badge.textContent !== data.state_label) {
        badge.textContent = data.state_label;
        badge.className = "state state-" + data.state;
      }
      if (rowsBox) { rowsBox.innerHTML = data.exports_html; bindResend(); }
      head.dataset.busy = data.busy ? "true" : "false";
      if (data.busy) schedule();
    }).catch(function () { schedule(5000); });
  }
  function schedule(delay) {
    if (timer === null) timer = window.setTimeout(refresh, delay || 2500);
  }

  // « Renvoyer » without leaving the page: the row follows the new send.
  function bindResend() {
    if (!rowsBox) return;
    rowsBox.querySelectorAll("form.resend").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        const button = form.querySelector("button");
        if (button) button.disabled = true;
        if (resendError) resendError.hidden = true;
        fetch(form.action, {
          method: "POST", body: new FormData(form), credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRFToken": csrf },
        }).then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        }).then(function (answer) {
          if (!answer.ok && resendError) {
            resendError.textContent = answer.data.message || "";
            resendError.hidden = false;
          }
          if (timer !== null) { window.clearTimeout(timer); timer = null; }
          refresh();
        }).catch(function () { form.submit(); });
      });
    });
  }
  if (head) {
    bindResend();
    if (head.dataset.busy === "true") schedule();
  }
})();
