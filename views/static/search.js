/* The similar-cases panel (templates/search_similar_panel.jinja2).
 *
 * Intake mode: while the clerk types the subject, the content, an ID number or chooses the
 * district, ask GET /api/similar (debounced) and list earlier cases with the reasons; offer the
 * suggested category; let the clerk choose "repeat of" or "join into" (hidden inputs
 * link_type / link_into go with the registration form).
 * Case mode: list the similar cases of a registered case (GET /api/cases/{n}/similar) and mark
 * it as a repeat or join it through the workflow API (POST .../actions/mark-repeat | join).
 */
(function () {
  "use strict";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function fieldsOf(form) {
    var pick = function (selector) { return form ? Array.prototype.slice.call(form.querySelectorAll(selector)) : []; };
    return {
      subject: pick('[name="subject"]')[0],
      content: pick('[name="content"]')[0],
      district: pick('[name="district"]')[0],
      category: pick('[name="category"]')[0],
      ids: pick('[name$="id_number"]')
    };
  }

  function Panel(root) {
    this.root = root;
    this.t = root.dataset;
    this.mode = root.dataset.mode;
    this.list = root.querySelector(".similar-list");
    this.cats = root.querySelector(".similar-categories");
    this.form = root.closest("form") || document.querySelector("form.register-form") || document.querySelector("form[method=post]");
    this.fields = fieldsOf(this.form);
    this.last = "";
    this.request = 0;
  }

  Panel.prototype.query = function () {
    var f = this.fields, params = new URLSearchParams();
    if (f.subject && f.subject.value.trim()) { params.append("subject", f.subject.value.trim().slice(0, 300)); }
    if (f.content && f.content.value.trim()) { params.append("content", f.content.value.trim().slice(0, 2000)); }
    if (f.district && f.district.value) { params.append("district", f.district.value); }
    f.ids.forEach(function (input) {
      // as typed: "4115 2219 ..." and full-width digits are the same number (app.js)
      var v = window.casefiles.idNumber(input.value);
      if (v.length === 18) { params.append("id_number", v); }
    });
    return params.toString();
  };

  Panel.prototype.refresh = function () {
    var self = this, url = this.root.dataset.endpoint;
    if (this.mode === "intake") {
      var q = this.query();
      if (!q || q === this.last) { return; }
      this.last = q;
      url += "?" + q;
    }
    var ticket = ++this.request;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { candidates: [], categories: [] }; })
      .then(function (data) { if (ticket === self.request) { self.render(data); } })
      .catch(function () { /* the panel is a help: a failed lookup shows nothing */ });
  };

  Panel.prototype.render = function (data) {
    var self = this;
    this.list.textContent = "";
    this.cats.textContent = "";
    var candidates = data.candidates || [];
    if (!candidates.length) {
      this.list.appendChild(el("li", { "class": "muted small" }, this.t.tNone));
    }
    candidates.forEach(function (c) {
      var li = el("li", { "class": "similar-item", "data-number": c.number });
      var head = el("div", { "class": "similar-head" });
      var link = el("a", { href: c.url, "class": "mono", target: "_blank", rel: "noopener" }, c.number);
      head.appendChild(link);
      head.appendChild(el("span", { "class": "badge tone-grey" }, c.status_title));
      head.appendChild(el("span", { "class": "similar-subject" }, c.subject));
      li.appendChild(head);
      li.appendChild(el("p", { "class": "similar-why small" }, c.why));
      var actions = el("div", { "class": "similar-actions" });
      [["repeat", self.t.tRepeat], ["join", self.t.tJoin]].forEach(function (pair) {
        var b = el("button", { type: "button", "class": "btn btn-small", "data-link": pair[0] }, pair[1]);
        b.addEventListener("click", function () { self.link(pair[0], c.number, li); });
        actions.appendChild(b);
      });
      if (self.mode === "intake" || self.root.dataset.status === "registered") { li.appendChild(actions); }
      self.list.appendChild(li);
    });
    var cats = data.categories || [];
    if (cats.length && this.fields.category) {
      this.cats.appendChild(el("span", { "class": "small muted" }, this.t.tCategory + "："));
      cats.forEach(function (c) {
        var b = el("button", { type: "button", "class": "chip", title: Math.round(c.weight * 100) + "%" },
                   c.category + " · " + self.t.tUse);
        b.addEventListener("click", function () {
          self.fields.category.value = c.category;
          self.fields.category.dispatchEvent(new Event("change", { bubbles: true }));
        });
        self.cats.appendChild(b);
      });
    }
  };

  Panel.prototype.link = function (type, number, li) {
    var self = this;
    if (this.mode === "intake") {
      var typeInput = this.root.querySelector(".similar-link-type");
      var intoInput = this.root.querySelector(".similar-link-into");
      var undo = typeInput.value === type && intoInput.value === number;
      typeInput.value = undo ? "" : type;
      intoInput.value = undo ? "" : number;
      Array.prototype.forEach.call(this.list.querySelectorAll(".similar-item"), function (item) {
        item.classList.remove("chosen");
        var note = item.querySelector(".similar-chosen");
        if (note) { note.remove(); }
      });
      if (!undo) {
        li.classList.add("chosen");
        li.appendChild(el("p", { "class": "similar-chosen small" },
          (type === "repeat" ? this.t.tMarkedRepeat : this.t.tMarkedJoin) + " " + number));
      }
      return;
    }
    var question = type === "repeat" ? this.t.tConfirmRepeat : this.t.tConfirmJoin;
    if (!window.confirm(question + " " + number)) { return; }
    fetch(this.root.dataset.actions + (type === "repeat" ? "mark-repeat" : "join"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRF-Token": this.root.dataset.csrf },
      body: JSON.stringify({ into: number })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (res.ok) { window.location.reload(); return; }
      window.alert(self.t.tFailed + " " + (res.body && res.body.message || ""));
    }).catch(function () { window.alert(self.t.tFailed); });
  };

  Panel.prototype.start = function () {
    var self = this;
    if (this.mode === "case") { this.refresh(); return; }
    var later = debounce(function () { self.refresh(); }, 600);
    var f = this.fields;
    [f.subject, f.content, f.district].concat(f.ids).forEach(function (input) {
      if (input) {
        input.addEventListener("input", later);
        input.addEventListener("change", later);
      }
    });
    if (this.form) {
      this.form.addEventListener("input", function (e) {
        if (e.target && e.target.name && /id_number$/.test(e.target.name)) { later(); }
      });
    }
    later();
  };

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".similar-panel"), function (root) {
      if (!root.dataset.started) {
        root.dataset.started = "1";
        new Panel(root).start();
      }
    });
  });
})();
