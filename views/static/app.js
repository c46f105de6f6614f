/* Behaviour of the web UI. No inline script: everything is bound here, from data- attributes.
 * Every form works without this file; the script only makes intake faster:
 *  - petitioner look-up by ID number (GET /api/petitioners?id_number=...) with earlier cases;
 *  - petitioner rows beyond the first are folded until "add" is pressed;
 *  - the accused fieldset shows only for accusations;
 *  - a warning when a chosen file is over the upload limit. */
(function () {
  "use strict";

  var ID_PATTERN = /^\d{17}[\dXx]$/;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function sizeText(bytes) {
    if (bytes < 1024) { return bytes + " B"; }
    if (bytes < 1048576) { return (bytes / 1024).toFixed(1) + " KB"; }
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  /* a size over the limit, said so that it differs from the limit (in bytes when it is close) */
  function overText(bytes, limit) {
    if (sizeText(bytes) !== sizeText(limit)) { return [sizeText(bytes), sizeText(limit)]; }
    return [bytes.toLocaleString("en-US") + " B", limit.toLocaleString("en-US") + " B"];
  }

  /* an ID number as typed: spaces and full-width digits (４１１５…) allowed, x for X
     (also search.js's, which runs after this file) */
  function idNumber(value) {
    return value.replace(/[\s\u3000]+/g, "").replace(/[\uff10-\uff19\uff38\uff58]/g, function (ch) {
      return String.fromCharCode(ch.charCodeAt(0) - 0xfee0);
    }).toUpperCase();
  }
  window.casefiles = window.casefiles || {};
  window.casefiles.idNumber = idNumber;

  function formatDate(iso) {
    return iso ? String(iso).replace("T", " ").slice(0, 16) : "";
  }

  /* ---------- petitioner look-up ---------- */
  function setupLookup(form) {
    var url = form.getAttribute("data-lookup-url");
    var statuses = {};
    try { statuses = JSON.parse(form.getAttribute("data-statuses") || "{}"); } catch (e) { statuses = {}; }
    var msg = function (name) { return form.getAttribute("data-msg-" + name) || ""; };
    var timers = {};
    var lastAsked = {};

    function box(row) {
      return form.querySelector('[data-lookup-for="' + row + '"]');
    }

    function rowInput(row, name) {
      return form.querySelector('[name="petitioners.' + row + '.' + name + '"]');
    }

    function show(row, node) {
      var target = box(row);
      if (!target) { return; }
      target.textContent = "";
      if (node) { target.appendChild(node); }
    }

    function render(row, data) {
      if (!data.petitioner) {
        show(row, el("div", { "class": "lookup-box none", "data-result": "none", text: msg("none") }));
        return;
      }
      var person = data.petitioner;
      var fill = el("button", { type: "button", "class": "btn btn-small", text: msg("fill") });
      fill.addEventListener("click", function () {
        [["name", person.name], ["phone", person.phone], ["address", person.address]].forEach(function (pair) {
          var input = rowInput(row, pair[0]);
          if (input && !input.value && pair[1]) { input.value = pair[1]; }
        });
      });
      var head = el("div", {}, [el("strong", { text: person.name || "" }),
        " · " + msg("earlier") + " " + data.cases.length, fill]);
      var list = el("ul");
      data.cases.forEach(function (c) {
        list.appendChild(el("li", {}, [
          el("a", { href: c.url, target: "_blank", rel: "noopener", "class": "mono", text: c.number }),
          " " + formatDate(c.received_at) + " " + (c.subject || "") + " ",
          el("span", { "class": "badge", text: statuses[c.status] || c.status })
        ]));
      });
      show(row, el("div", { "class": "lookup-box", "data-result": "found" }, data.cases.length ? [head, list] : [head]));
    }

    function ask(row, value) {
      if (lastAsked[row] === value) { return; }
      lastAsked[row] = value;
      show(row, el("div", { "class": "lookup-box none", text: msg("loading") }));
      fetch(url + "?id_number=" + encodeURIComponent(value), {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (result) {
        if (lastAsked[row] !== value) { return; }
        if (result.ok) {
          render(row, result.body);
        } else {
          show(row, el("div", { "class": "lookup-box bad", "data-result": "error", text: result.body.message || msg("failed") }));
        }
      }).catch(function () {
        lastAsked[row] = null;
        show(row, el("div", { "class": "lookup-box bad", text: msg("failed") }));
      });
    }

    form.querySelectorAll("input[data-lookup]").forEach(function (input) {
      var row = input.getAttribute("data-lookup");
      input.addEventListener("input", function () {
        var value = idNumber(input.value);
        clearTimeout(timers[row]);
        if (value.length < 18) {
          lastAsked[row] = null;
          show(row, null);
          return;
        }
        if (!ID_PATTERN.test(value)) {
          lastAsked[row] = null;
          show(row, el("div", { "class": "lookup-box bad", text: msg("bad") }));
          return;
        }
        timers[row] = setTimeout(function () { ask(row, value); }, 200);
      });
    });
  }

  /* ---------- petitioner rows: fold the empty ones ---------- */
  function setupRows(form) {
    var container = form.querySelector(".people");
    var button = form.querySelector(".add-row");
    if (!container || !button) { return; }
    var rows = Array.prototype.slice.call(container.querySelectorAll(".person-row"));

    function filled(row) {
      return Array.prototype.some.call(row.querySelectorAll("input[type=text], input:not([type])"), function (i) {
        return i.value.trim() !== "";
      }) || row.querySelector(".field-error, .lookup-box") !== null
        || row.querySelector("input[type=checkbox]:checked") !== null;
    }

    var lastUsed = 0;
    rows.forEach(function (row, i) { if (filled(row)) { lastUsed = i; } });
    rows.forEach(function (row, i) { if (i > lastUsed) { row.hidden = true; } });

    function update() {
      var hidden = rows.filter(function (row) { return row.hidden; });
      button.hidden = hidden.length === 0;
    }
    button.addEventListener("click", function () {
      var next = rows.filter(function (row) { return row.hidden; })[0];
      if (next) {
        next.hidden = false;
        var first = next.querySelector("input:not([type=radio]):not([type=checkbox])");
        if (first) { first.focus(); }
      }
      update();
    });
    update();
  }

  /* ---------- accused fields only for accusations ---------- */
  function setupAccused(form) {
    var fieldset = form.querySelector("[data-show-for]");
    var type = form.querySelector('[name="petition_type"]');
    if (!fieldset || !type) { return; }
    var wanted = fieldset.getAttribute("data-show-for");
    function update() {
      fieldset.hidden = type.value !== wanted && !fieldset.classList.contains("has-error");
    }
    type.addEventListener("change", function () { fieldset.classList.remove("has-error"); update(); });
    update();
  }

  /* ---------- file size warning ---------- */
  function setupFiles(root) {
    root.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
      var limit = parseInt(input.getAttribute("data-max-bytes"), 10) || 0;
      var warning = input.parentNode.querySelector(".file-warning");
      input.addEventListener("change", function () {
        if (!warning) { return; }
        var over = Array.prototype.filter.call(input.files || [], function (f) { return limit && f.size > limit; });
        if (over.length) {
          warning.textContent = over.map(function (f) { return f.name + "（" + overText(f.size, limit)[0] + "）"; }).join("、")
            + " " + (input.getAttribute("data-msg-over") || "") + " " + overText(over[0].size, limit)[1];
          warning.hidden = false;
        } else {
          warning.hidden = true;
          warning.textContent = "";
        }
      });
    });
  }

  /* ---------- a form is sent once ---------- */
  function setupSubmitOnce(root) {
    root.querySelectorAll("form[method=post]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type=submit]");
        if (button) { setTimeout(function () { button.disabled = true; }, 0); }
      });
    });
  }

  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[method=post] button[type=submit]").forEach(function (b) { b.disabled = false; });
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.intake").forEach(function (form) {
      setupLookup(form);
      setupRows(form);
      setupAccused(form);
    });
    setupFiles(document);
    setupSubmitOnce(document);
  });
})();
