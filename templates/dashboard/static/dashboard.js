// disco dashboard: live updates and small comforts. The pages work without it.
"use strict";

(function () {
  // Times: local time and "5 min ago", kept fresh.
  function relative(date) {
    var secs = Math.round((Date.now() - date.getTime()) / 1000);
    var future = secs < 0, n = Math.abs(secs), span;
    if (n < 5) return "just now";
    if (n < 60) span = n + " s";
    else if (n < 3600) span = Math.floor(n / 60) + " min";
    else if (n < 86400) span = Math.floor(n / 3600) + " h";
    else span = Math.floor(n / 86400) + " d";
    return future ? "in " + span : span + " ago";
  }
  function localTime(date) {
    return date.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }
  function showTimes(root) {
    (root || document).querySelectorAll("time[data-ago]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date)) { el.textContent = localTime(date) + " (" + relative(date) + ")"; el.title = date.toString(); }
    });
    (root || document).querySelectorAll("time[data-clock]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date)) { el.textContent = date.toLocaleTimeString(); el.title = date.toString(); }
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function field(root, name) { return root.querySelector('[data-field="' + name + '"]'); }

  function setState(target, item) {
    var state = field(target, "state");
    if (state) { state.textContent = item.state; state.className = "state " + item.tone; }
    var bar = field(target, "bar");
    if (bar) { bar.max = Math.max(item.total, 1); bar.value = item.done; bar.textContent = item.done + "/" + item.total; }
    var progress = field(target, "progress");
    if (progress) progress.textContent = item.progress;
    var reason = field(target, "reason");
    if (reason) reason.textContent = item.reason || "";
    var nodes = field(target, "nodes");
    if (nodes) nodes.textContent = item.nodes + " of " + item.wanted_nodes;
  }

  function when(at, text, ago) {
    var t = el("time", { datetime: at, "data-ago": "" }, text + " (" + ago + ")");
    return t;
  }

  function newRow(item) {
    var tr = el("tr", { "data-id": item.id });
    var name = el("td", { "data-label": "Cluster" });
    name.appendChild(el("a", { href: "/dashboard/clusters/" + item.id, "data-field": "name" }, item.title || "cluster " + item.short));
    name.appendChild(el("div", { "class": "muted small", "data-field": "frameworks" }, item.frameworks));
    var state = el("td", { "data-label": "State" });
    state.appendChild(el("span", { "class": "state " + item.tone, "data-field": "state" }, item.state));
    var progress = el("td", { "data-label": "Progress" });
    progress.appendChild(el("progress", { max: String(Math.max(item.total, 1)), value: String(item.done), "data-field": "bar" }));
    progress.appendChild(el("div", { "class": "small", "data-field": "progress" }, item.progress));
    progress.appendChild(el("div", { "class": "small error", "data-field": "reason" }, item.reason || ""));
    var nodes = el("td", { "data-label": "Nodes", "data-field": "nodes" }, item.nodes + " of " + item.wanted_nodes);
    var created = el("td", { "data-label": "Created" });
    created.appendChild(when(item.created_at, item.created_text, item.created_ago));
    var life = el("td", { "data-label": "Lifetime" });
    if (item.expires_at) {
      life.appendChild(document.createTextNode(item.lifetime + ", ends "));
      life.appendChild(when(item.expires_at, item.expires_text, item.expires_in));
    } else {
      life.appendChild(el("span", { "class": "muted" }, "until deleted"));
    }
    [name, state, progress, nodes, created, life].forEach(function (td) { tr.appendChild(td); });
    return tr;
  }

  function listPage() {
    var table = document.getElementById("clusters");
    var body = table.querySelector("tbody");
    var empty = document.getElementById("empty");
    return function (items) {
      var seen = {};
      items.forEach(function (item) {
        seen[item.id] = true;
        var row = body.querySelector('tr[data-id="' + item.id + '"]');
        if (!row) { row = newRow(item); body.appendChild(row); showTimes(row); }
        setState(row, item);
      });
      body.querySelectorAll("tr[data-id]").forEach(function (row) {
        if (!seen[row.getAttribute("data-id")]) row.remove();
      });
      var none = items.length === 0;
      table.classList.toggle("gone", none);
      empty.classList.toggle("gone", !none);
    };
  }

  function clusterPage(main, history) {
    var id = main.getAttribute("data-cluster");
    var built = main.getAttribute("data-built") === "true";
    var refreshing = false;
    function refreshDetails() {
      // The cluster was just built: fetch its access details (key, SSH, UI links).
      if (refreshing) return;
      refreshing = true;
      fetch(location.pathname, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("details");
        var details = document.getElementById("details");
        if (fresh && details) { details.replaceWith(document.importNode(fresh, true)); enableCopy(); }
        refreshing = false;
      }).catch(function () { refreshing = false; });
    }
    return function (items) {
      var item = null;
      items.forEach(function (i) { if (i.id === id) item = i; });
      if (!item) {
        history.close();
        var state = field(main, "state");
        if (state) { state.textContent = "deleted"; state.className = "state idle"; }
        document.getElementById("deleted-note").classList.remove("gone");
        main.querySelectorAll(".actions button, .actions input, .actions a").forEach(function (b) { b.setAttribute("disabled", ""); b.classList.add("gone"); });
        return;
      }
      setState(main, item);
      var rows = document.getElementById("node-rows");
      if (rows) {
        rows.textContent = "";
        item.node_list.forEach(function (n) {
          var tr = el("tr");
          tr.appendChild(el("td", {}, n.name));
          tr.appendChild(el("td", {}, n.role));
          var td = el("td"); td.appendChild(el("code", {}, n.address)); tr.appendChild(td);
          rows.appendChild(tr);
        });
        var none = document.getElementById("no-nodes");
        if (none && item.node_list.length) none.remove();
      }
      item.actions.forEach(function (a) {
        var form = main.querySelector('form[data-action="' + a.name + '"]');
        if (!form) return;
        form.querySelectorAll("button, input[type=number]").forEach(function (b) { b.disabled = !a.allowed; });
        var why = form.querySelector(".why");
        if (why) why.textContent = a.why;
        var count = form.querySelector("input[type=number]");
        if (count && document.activeElement !== count && !a.allowed) count.value = item.slaves;
      });
      var isBuilt = item.node_list.length > 0 && ["ready", "degraded", "scaling", "suspending", "suspended", "resuming"].indexOf(item.state) >= 0;
      if (isBuilt && !built) { built = true; refreshDetails(); }
    };
  }

  function followHistory(main) {
    var id = main.getAttribute("data-cluster");
    var list = document.getElementById("events");
    var since = main.getAttribute("data-last-event") || "0";
    var source = new EventSource("/disco/" + id + "/events?since=" + encodeURIComponent(since));
    source.onmessage = function (message) {
      var e;
      try { e = JSON.parse(message.data); } catch (err) { return; }
      if (list.querySelector('li[data-id="' + e.id + '"]')) return;
      var li = el("li", { "data-id": String(e.id) });
      li.appendChild(el("time", { datetime: e.at, "data-clock": "" }, e.at));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", { "class": "kind" }, e.kind));
      if (e.node) { li.appendChild(document.createTextNode(" ")); li.appendChild(el("span", { "class": "node" }, "[" + e.node + "]")); }
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", { "class": "message" }, e.message));
      list.appendChild(li);
      showTimes(li);
      list.scrollTop = list.scrollHeight;
    };
    source.onerror = function () { if (source.readyState === EventSource.CLOSED) source.close(); };
    return source;
  }

  function follow(update) {
    var source = new EventSource("/dashboard/feed");
    source.addEventListener("clusters", function (message) {
      var items;
      try { items = JSON.parse(message.data); } catch (err) { return; }
      update(items);
      document.documentElement.setAttribute("data-feed", "live");
    });
    var note = document.querySelector(".live-note");
    if (note) note.hidden = false;
  }

  function enableCopy() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = !navigator.clipboard;
      button.onclick = function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source) return;
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 1500);
        });
      };
    });
  }

  function createForm() {
    var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="framework"]'));
    function byName(name) { return document.getElementById("fw-" + name); }
    function update() {
      var needed = {};
      function need(name, by) {
        var box = byName(name);
        if (!box) return;
        needed[name] = needed[name] || [];
        if (needed[name].indexOf(by) < 0) needed[name].push(by);
        (box.getAttribute("data-dependencies") || "").split(" ").filter(Boolean).forEach(function (d) { need(d, name); });
      }
      boxes.forEach(function (box) {
        if (box.checked && !box.disabled) {
          (box.getAttribute("data-dependencies") || "").split(" ").filter(Boolean).forEach(function (d) { need(d, box.value); });
        }
      });
      boxes.forEach(function (box) {
        var wrap = box.closest(".framework");
        var pulled = wrap.querySelector('[data-field="required-by"]');
        var by = needed[box.value];
        if (by) { pulled.textContent = "Pulled in by " + by.join(", ") + "."; pulled.hidden = false; }
        else { pulled.hidden = true; }
        var params = wrap.querySelector("details.params");
        if (params && box.checked) params.open = true;
      });
    }
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    showTimes();
    setInterval(showTimes, 30000);
    enableCopy();
    var main = document.getElementById("main");
    var page = main && main.getAttribute("data-page");
    if (page === "list") follow(listPage());
    if (page === "cluster") follow(clusterPage(main, followHistory(main)));
    if (page === "new") createForm();
  });
})();
