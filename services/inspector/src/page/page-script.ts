/**
 * The page's JavaScript, run as is by the browser (no build step). It is plain
 * ES2020 kept in a raw string: no template literals inside, every DOM text set
 * through `textContent` (actor ids come from the cluster, never trusted as HTML).
 */
export const pageScript = String.raw`
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("inspector-config").textContent || "{}");
  var SVGNS = "http://www.w3.org/2000/svg";
  var SEP = "\u0001";

  var S = {
    reply: { instances: [], actors: [] },
    haveSnapshot: false,
    snapshotAt: 0,
    stats: null,
    connected: false,
    machines: {},
    charts: {},
    overlay: {},
    prevStates: {},
    primed: false,
    activity: {},
    changedAt: {},
    selected: null,
    timeline: [],
    timelineFetching: false,
    clientMalformed: 0,
    filters: { user: "", batch: "", state: "", machine: "" },
    renderQueued: false,
    renderError: null,
    // Actor tiles and cards by key, drawn last time and this time (see actorButton).
    lastNodes: {},
    actorNodes: {}
  };

  // ---------- colours ----------
  var STATE_COLORS = {
    idle: "#94a3b8", planning: "#f59e0b", aggregating: "#2563eb", reportingOutcome: "#9333ea",
    closed: "#475569", collecting: "#0891b2", completed: "#16a34a", failed: "#dc2626", cancelled: "#ea580c",
    processingJob: "#2563eb"
  };
  var STATE_ORDER = ["collecting", "planning", "aggregating", "reportingOutcome", "idle", "completed", "failed", "cancelled", "closed"];
  function leaf(state) {
    var s = String(state || "");
    var first = s.split(",")[0];
    var parts = first.split(".");
    return parts[parts.length - 1] || s;
  }
  function colorOf(state) {
    var l = leaf(state);
    if (STATE_COLORS[l]) return STATE_COLORS[l];
    var h = 0;
    for (var i = 0; i < l.length; i++) h = (h * 31 + l.charCodeAt(i)) % 360;
    return "hsl(" + h + ", 55%, 45%)";
  }
  function tint(hex, alpha) {
    if (hex.charAt(0) !== "#") return "rgba(148, 163, 184, " + alpha + ")";
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + ((n >> 16) & 255) + ", " + ((n >> 8) & 255) + ", " + (n & 255) + ", " + alpha + ")";
  }
  function stateRank(state) {
    var i = STATE_ORDER.indexOf(leaf(state));
    return i < 0 ? 50 : i;
  }

  // ---------- tiny DOM helpers ----------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function $(id) { return document.getElementById(id); }
  function keyOf(instance, id) { return instance + SEP + id; }
  function fmtInt(n) { return typeof n === "number" ? n.toLocaleString("en-US") : "–"; }
  function fmtCompact(n) {
    if (typeof n !== "number") return "–";
    if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
    if (n >= 1e4) return Math.round(n / 1e3) + "k";
    if (n >= 1e3) return (n / 1e3).toFixed(1) + "k";
    return String(n);
  }
  function fmtAgo(ms) {
    if (ms < 1500) return "just now";
    var s = Math.round(ms / 1000);
    if (s < 60) return s + " s ago";
    return Math.floor(s / 60) + " min " + (s % 60) + " s ago";
  }
  function fmtDuration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + "s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + "m " + (s % 60) + "s";
    var h = Math.floor(m / 60);
    return h + "h " + (m % 60) + "m";
  }
  function fmtTime(at) {
    var d = new Date(at);
    function p(n, w) { var s = String(n); while (s.length < w) s = "0" + s; return s; }
    return p(d.getHours(), 2) + ":" + p(d.getMinutes(), 2) + ":" + p(d.getSeconds(), 2) + "." + p(d.getMilliseconds(), 3);
  }
  function shortBatch(id) { return id && id.length > 14 ? id.slice(0, 8) + "…" + id.slice(-4) : id || ""; }
  function prettyEvent(e) {
    if (!e) return "";
    if (e === "xstate.init") return "start";
    if (e === "xstate.stop") return "stop";
    var m = /^xstate\.done\.actor\.(.+)$/.exec(e);
    if (m) return "done: " + m[1];
    m = /^xstate\.error\.actor\.(.+)$/.exec(e);
    if (m) return "error: " + m[1];
    m = /^xstate\.after\.([^.]+)\./.exec(e);
    if (m) return "after " + m[1];
    return e;
  }
  function pill(state) {
    var p = el("span", "state-pill", leaf(state) || "?");
    p.style.setProperty("--c", colorOf(state));
    p.style.setProperty("--sc", colorOf(state));
    p.title = state;
    return p;
  }
  function stateWord(state) {
    var w = el("span", "state-word", leaf(state));
    w.style.color = colorOf(state);
    w.title = state;
    return w;
  }
  function chip(text, color, count) {
    var c = el("span", "chip");
    if (color) { var d = el("span", "dot"); d.style.background = color; c.appendChild(d); }
    c.appendChild(el("span", "", text));
    if (count !== undefined) c.appendChild(el("span", "n", count));
    return c;
  }
  function progressBar(done, failed, skipped, total) {
    var bar = el("div", "bar");
    var t = Math.max(total || 0, done + failed + skipped, 1);
    [["done", done], ["failed", failed], ["skipped", skipped]].forEach(function (p) {
      var i = el("i", p[0]);
      i.style.width = (100 * p[1] / t).toFixed(2) + "%";
      bar.appendChild(i);
    });
    return bar;
  }

  // ---------- the model: snapshot + live overlay ----------
  function num(ctx, k) { return ctx && typeof ctx[k] === "number" ? ctx[k] : undefined; }

  /** The actors to draw: the last snapshot, corrected by inspection events that arrived after it. */
  function currentActors() {
    var out = [];
    var seen = {};
    var now = Date.now();
    (S.reply.actors || []).forEach(function (a) {
      var k = keyOf(a.instance, a.id);
      seen[k] = true;
      var o = S.overlay[k];
      if (o && o.receivedAt > S.snapshotAt - 150) {
        var merged = Object.assign({}, a, { state: o.state || a.state, stopped: o.stopped });
        if (o.counts) merged.context = Object.assign({}, a.context || {}, o.counts);
        out.push(merged);
      } else out.push(a);
    });
    // Actors born since the snapshot, as the live stream told.
    Object.keys(S.overlay).forEach(function (k) {
      var o = S.overlay[k];
      if (seen[k] || !o.actor || o.stopped || now - o.receivedAt > 3000) return;
      out.push(Object.assign({}, o.actor, { context: o.counts || {}, provisional: true }));
    });
    return out;
  }

  function matches(a) {
    var f = S.filters;
    if (f.user) {
      var needle = f.user.toLowerCase();
      var hay = ((a.userId || "") + " " + a.id).toLowerCase();
      if (hay.indexOf(needle) < 0) return false;
    }
    if (f.batch && a.batchId !== f.batch) return false;
    if (f.state && leaf(a.state) !== f.state && a.state !== f.state) return false;
    if (f.machine && a.machine !== f.machine) return false;
    return true;
  }

  function instancesToShow() {
    var list = (S.reply.instances || []).map(function (i) {
      var silent = i.answered === false || i.status === "silent" || i.status === "unreachable";
      return { id: i.id, info: i, silent: silent, lastSeenAt: undefined };
    });
    var known = {};
    list.forEach(function (i) { known[i.id] = true; });
    ((S.stats && S.stats.silentInstances) || []).forEach(function (s) {
      if (!known[s.id]) list.push({ id: s.id, info: { id: s.id }, silent: true, lastSeenAt: s.lastSeenAt });
    });
    list.sort(function (a, b) { return a.id < b.id ? -1 : a.id > b.id ? 1 : 0; });
    return list;
  }

  // ---------- rendering ----------
  function scheduleRender() {
    if (S.renderQueued) return;
    S.renderQueued = true;
    requestAnimationFrame(function () {
      S.renderQueued = false;
      try {
        render();
        S.renderError = null;
      } catch (err) {
        S.renderError = String(err && err.message || err);
        renderFooter();
      }
    });
  }

  /** Compares with the previous drawing: what changed pulses, and goes into its instance's recent changes. */
  function noteChanges(actors, now) {
    var next = {};
    actors.forEach(function (a) {
      var k = keyOf(a.instance, a.id);
      var name = a.userId || (a.batchId ? "batch " + shortBatch(a.batchId) : a.id);
      var prev = S.prevStates[k];
      next[k] = { state: a.stopped ? "stopped" : a.state, instance: a.instance, name: name, state0: a.state };
      if (!S.primed) return;
      if (!prev) recordActivity(a.instance, { at: now, name: name, to: a.state });
      else if (prev.state0 !== a.state) {
        S.changedAt[k] = now;
        recordActivity(a.instance, { at: now, name: name, from: prev.state0, to: a.state });
      }
    });
    if (S.primed) {
      Object.keys(S.prevStates).forEach(function (k) {
        if (next[k]) return;
        var gone = S.prevStates[k];
        recordActivity(gone.instance, { at: now, name: gone.name, from: gone.state0 });
      });
    }
    S.prevStates = next;
    if (S.haveSnapshot) S.primed = true;
  }

  function recordActivity(instance, entry) {
    var list = S.activity[instance] || (S.activity[instance] = []);
    list.push(entry);
    if (list.length > 40) list.splice(0, list.length - 40);
  }

  function render() {
    var actors = currentActors();
    var now = Date.now();
    noteChanges(actors, now);
    var instances = instancesToShow();
    $("prefix").textContent = config.prefix || "agg";
    $("count-instances").textContent = String(instances.filter(function (i) { return !i.silent; }).length);
    $("count-actors").textContent = String(actors.length);
    renderFilters(actors);
    renderLegend(actors);
    renderBatches(actors);
    renderInstances(instances, actors);
    renderDrawer(actors);
    renderFooter();
  }

  function renderFilters(actors) {
    var batches = {}, states = {}, machines = {};
    actors.forEach(function (a) {
      if (a.batchId) batches[a.batchId] = true;
      states[leaf(a.state)] = true;
      machines[a.machine] = true;
    });
    Object.keys(S.machines).forEach(function (m) { machines[m] = true; });
    fillSelect($("filter-batch"), Object.keys(batches).sort(), "all batches", S.filters.batch, shortBatch);
    fillSelect($("filter-state"), Object.keys(states).sort(function (a, b) { return stateRank(a) - stateRank(b); }), "all states", S.filters.state);
    fillSelect($("filter-machine"), Object.keys(machines).sort(), "all machines", S.filters.machine);
  }

  function fillSelect(select, values, allLabel, current, label) {
    if (current && values.indexOf(current) < 0) values = [current].concat(values);
    var wanted = [""].concat(values).join(SEP);
    if (select.dataset.values === wanted) return;
    select.dataset.values = wanted;
    clear(select);
    var all = el("option", "", allLabel);
    all.value = "";
    select.appendChild(all);
    values.forEach(function (v) {
      var o = el("option", "", label ? label(v) : v);
      o.value = v;
      o.title = v;
      select.appendChild(o);
    });
    select.value = current;
  }

  function renderLegend(actors) {
    var counts = {};
    actors.forEach(function (a) { var l = leaf(a.state); counts[l] = (counts[l] || 0) + 1; });
    var legend = $("legend");
    clear(legend);
    Object.keys(counts).sort(function (a, b) { return stateRank(a) - stateRank(b); }).forEach(function (s) {
      var b = el("button", "chip" + (S.filters.state === s ? " on" : ""));
      b.type = "button";
      var d = el("span", "dot");
      d.style.background = colorOf(s);
      b.appendChild(d);
      b.appendChild(el("span", "", s));
      b.appendChild(el("span", "n", counts[s]));
      b.title = "show only actors in " + s;
      b.addEventListener("click", function () { setFilter("state", S.filters.state === s ? "" : s); });
      legend.appendChild(b);
    });
  }

  function coordinatorCounts(a) {
    var c = a.context || {};
    return {
      users: num(c, "users") !== undefined ? num(c, "users") : num(c, "covered") || 0,
      done: num(c, "done") || 0, failed: num(c, "failed") || 0, skipped: num(c, "skipped") || 0
    };
  }

  function renderBatches(actors) {
    var box = $("batches");
    clear(box);
    var coords = actors.filter(function (a) { return a.machine === "batchCoordinator" && (!S.filters.batch || a.batchId === S.filters.batch); });
    coords.sort(function (a, b) { return (a.batchId || "") < (b.batchId || "") ? 1 : -1; });
    coords.slice(0, 6).forEach(function (a) {
      var c = coordinatorCounts(a);
      var finished = c.done + c.failed + c.skipped;
      var row = el("div", "batch");
      var title = el("div", "batch-title");
      title.appendChild(el("b", "", "batch"));
      var id = el("span", "card-id", a.batchId || a.id);
      id.title = a.batchId || a.id;
      title.appendChild(id);
      title.appendChild(pill(a.state));
      row.appendChild(title);
      row.appendChild(el("div", "batch-pct", c.users ? Math.floor(100 * finished / c.users) + "%" : "–"));
      row.appendChild(progressBar(c.done, c.failed, c.skipped, c.users));
      var meta = el("div", "batch-meta");
      meta.appendChild(el("span", "", fmtInt(finished) + " / " + fmtInt(c.users) + " users"));
      meta.appendChild(el("span", "n-done", "done " + fmtInt(c.done)));
      meta.appendChild(el("span", "n-failed", "failed " + fmtInt(c.failed)));
      meta.appendChild(el("span", "n-skipped", "skipped " + fmtInt(c.skipped)));
      meta.appendChild(el("span", "", "coordinated by " + a.instance));
      row.appendChild(meta);
      onSelect(row, a.instance, a.id);
      row.style.cursor = "pointer";
      box.appendChild(row);
    });
    if (coords.length > 6) box.appendChild(el("div", "batch-more", "+" + (coords.length - 6) + " more batches"));
  }

  function renderInstances(instances, actors) {
    var box = $("instances");
    clear(box);
    S.lastNodes = S.actorNodes;
    S.actorNodes = {};
    if (!S.haveSnapshot) {
      box.appendChild(S.connected
        ? nothing("asking the cluster…", ["waiting for the first answer to agg.inspect on prefix \u201c" + (config.prefix || "agg") + "\u201d"])
        : nothing("connecting…", ["waiting for the inspector's live stream"]));
      return;
    }
    if (instances.length === 0) {
      box.appendChild(nothing("no instances", [
        "No engine answered agg.inspect on prefix \u201c" + (config.prefix || "agg") + "\u201d.",
        "Start one with pnpm start (same NATS_URL and AGG_PREFIX); it appears here within a second."
      ]));
      return;
    }
    var byInstance = {};
    actors.forEach(function (a) { (byInstance[a.instance] = byInstance[a.instance] || []).push(a); });
    instances.forEach(function (inst) { box.appendChild(instanceColumn(inst, byInstance[inst.id] || [])); });
  }

  function nothing(title, lines) {
    var n = el("div", "nothing");
    n.id = "nothing";
    n.appendChild(el("h2", "", title));
    lines.forEach(function (l) { n.appendChild(el("p", "", l)); });
    return n;
  }

  function instanceColumn(inst, all) {
    var col = el("section", "instance" + (inst.silent ? " silent" : ""));
    col.dataset.instance = inst.id;
    var head = el("div", "inst-head");
    var name = el("div", "inst-name");
    var b = el("b", "", inst.id);
    b.title = inst.id;
    name.appendChild(b);
    var facts = [];
    if (inst.silent) {
      facts.push(inst.lastSeenAt ? "no longer answering · last seen " + fmtAgo(Date.now() - inst.lastSeenAt) : "not answering");
    } else {
      if (inst.info.startedAt) facts.push("up " + fmtDuration(Date.now() - Date.parse(inst.info.startedAt)));
      facts.push(all.length + (all.length === 1 ? " actor" : " actors"));
    }
    name.appendChild(el("span", "inst-facts", facts.join(" · ")));
    head.appendChild(name);
    head.appendChild(headline(all, inst.silent));
    head.appendChild(distribution(all));
    col.appendChild(head);

    var shown = all.filter(matches);
    var coords = shown.filter(function (a) { return a.machine === "batchCoordinator"; });
    var users = shown.filter(function (a) { return a.machine !== "batchCoordinator"; });
    if (coords.length) {
      col.appendChild(group("coordinators", coords.length));
      var cards = el("div", "cards");
      coords.forEach(function (a) { cards.appendChild(coordinatorCard(a)); });
      col.appendChild(cards);
    }
    var recent = (S.activity[inst.id] || []).slice(-6).reverse();
    if (recent.length) {
      col.appendChild(group("recent changes", ""));
      var list = el("ol", "recent");
      recent.forEach(function (r) {
        var li = el("li");
        li.appendChild(el("span", "tl-time", fmtTime(r.at).slice(0, 8)));
        li.appendChild(el("span", "recent-name", r.name));
        var what = el("span", "recent-what");
        what.appendChild(r.from ? stateWord(r.from) : el("span", "recent-note", "new"));
        what.appendChild(document.createTextNode(" \u2192 "));
        what.appendChild(r.to ? stateWord(r.to) : el("span", "recent-note", "gone"));
        li.appendChild(what);
        list.appendChild(li);
      });
      col.appendChild(list);
    }
    if (users.length) {
      col.appendChild(group("user actors", users.length));
      var tiles = el("div", "tiles");
      users.sort(function (x, y) {
        return String(x.userId || x.id).localeCompare(String(y.userId || y.id), "en", { numeric: true });
      });
      var LIMIT = 240;
      users.slice(0, LIMIT).forEach(function (a) { tiles.appendChild(userTile(a)); });
      col.appendChild(tiles);
      if (users.length > LIMIT) col.appendChild(el("div", "more empty-note", "+" + (users.length - LIMIT) + " more (narrow the filters)"));
    }
    if (!shown.length) {
      col.appendChild(el("div", "empty-note", inst.silent ? "no answer to agg.inspect" : all.length ? "no actor matches the filters" : "no live actors: waiting for work"));
    }
    return col;
  }

  function group(title, n) {
    var g = el("div", "group");
    g.appendChild(el("span", "", title));
    g.appendChild(el("span", "", String(n)));
    return g;
  }

  function headline(all, silent) {
    var h = el("div", "inst-now");
    if (silent) { h.textContent = "did not answer the last agg.inspect"; return h; }
    if (!all.length) { h.textContent = "idle: no live actors"; return h; }
    var parts = [];
    var coords = all.filter(function (a) { return a.machine === "batchCoordinator" && leaf(a.state) === "collecting"; });
    if (coords.length) parts.push(["coordinating", coords.length === 1 ? "batch " + shortBatch(coords[0].batchId) : coords.length + " batches"]);
    var busy = all.filter(function (a) { return a.machine !== "batchCoordinator" && ["idle", "closed"].indexOf(leaf(a.state)) < 0; });
    busy.slice(0, 2).forEach(function (a) {
      var c = a.context || {};
      var what = a.userId || a.id;
      if (leaf(a.state) === "aggregating" && num(c, "daysTotal")) what += " (day " + (num(c, "daysDone") || 0) + "/" + num(c, "daysTotal") + ")";
      parts.push([leaf(a.state), what]);
    });
    if (busy.length > 2) parts.push(["", "+" + (busy.length - 2) + " more busy"]);
    var idle = all.filter(function (a) { return leaf(a.state) === "idle"; }).length;
    if (idle) parts.push(["", idle + " idle"]);
    parts.forEach(function (p, i) {
      if (i) h.appendChild(document.createTextNode(" · "));
      if (p[0]) {
        var v = el("span", "verb", p[0] + " ");
        v.style.color = colorOf(p[0] === "coordinating" ? "collecting" : p[0]);
        h.appendChild(v);
      }
      h.appendChild(document.createTextNode(p[1]));
    });
    return h;
  }

  function distribution(all) {
    var counts = {};
    all.forEach(function (a) { var l = leaf(a.state); counts[l] = (counts[l] || 0) + 1; });
    var bar = el("div", "dist");
    Object.keys(counts).sort(function (a, b) { return stateRank(a) - stateRank(b); }).forEach(function (s) {
      var i = el("i");
      i.style.width = (100 * counts[s] / all.length).toFixed(2) + "%";
      i.style.background = colorOf(s);
      i.title = s + ": " + counts[s];
      bar.appendChild(i);
    });
    return bar;
  }

  function decorate(node, a) {
    var color = colorOf(a.state);
    node.style.setProperty("--c", color);
    node.style.setProperty("--sc", color);
    var resting = a.stopped || ["idle", "closed", "completed"].indexOf(leaf(a.state)) >= 0;
    node.style.background = tint(color, resting ? 0.035 : 0.13);
    if (resting) node.classList.add("resting");
    var k = keyOf(a.instance, a.id);
    if (S.selected && S.selected.key === k) node.classList.add("sel");
    if (a.stopped) node.classList.add("stopped");
    if (!resting && S.changedAt[k] && Date.now() - S.changedAt[k] < 600) node.classList.add("changed");
    node.dataset.key = k;
    node.dataset.state = a.state;
  }

  // An actor's tile or card keeps its element from one drawing to the next
  // (keyed by instance and actor); only what it shows is drawn again. The page
  // redraws while a batch runs, and a pointer (or a test driver) aiming at a
  // tile must still find it there, not a detached copy.
  function actorButton(a, cls) {
    var k = keyOf(a.instance, a.id);
    var node = S.lastNodes[k];
    if (node) {
      clear(node);
      node.removeAttribute("style");
    } else {
      node = el("button");
      node.type = "button";
      onSelect(node, a.instance, a.id);
    }
    node.className = cls;
    S.actorNodes[k] = node;
    return node;
  }

  function coordinatorCard(a) {
    var card = actorButton(a, "card");
    var top = el("div", "card-top");
    var id = el("span", "card-id", "batch " + (a.batchId || a.id));
    id.title = a.id;
    top.appendChild(id);
    top.appendChild(pill(a.state));
    card.appendChild(top);
    var c = coordinatorCounts(a);
    card.appendChild(progressBar(c.done, c.failed, c.skipped, c.users));
    var meta = el("div", "card-meta");
    meta.appendChild(el("span", "", fmtInt(c.done + c.failed + c.skipped) + "/" + fmtInt(c.users)));
    meta.appendChild(el("span", "n-done", "done " + c.done));
    meta.appendChild(el("span", "n-failed", "failed " + c.failed));
    meta.appendChild(el("span", "n-skipped", "skipped " + c.skipped));
    card.appendChild(meta);
    decorate(card, a);
    return card;
  }

  function userTile(a) {
    var t = actorButton(a, "tile");
    var c = a.context || {};
    var name = el("span", "tile-user", a.userId || a.id);
    name.title = a.id + (a.batchId ? " · batch " + a.batchId : "");
    t.appendChild(name);
    t.appendChild(el("span", "tile-state", leaf(a.state)));
    var done = num(c, "daysDone"), total = num(c, "daysTotal");
    var bar = el("div", "bar");
    var i = el("i");
    i.style.width = total ? (100 * (done || 0) / total).toFixed(1) + "%" : "0%";
    bar.appendChild(i);
    t.appendChild(bar);
    var meta = [];
    if (total) meta.push("day " + (done || 0) + "/" + total);
    if (num(c, "heartbeatsRead")) meta.push(fmtCompact(num(c, "heartbeatsRead")) + " hb");
    if (num(c, "queued")) meta.push(num(c, "queued") + " queued");
    if (!meta.length && a.batchId) meta.push("batch " + shortBatch(a.batchId));
    if (!meta.length && num(c, "jobsFinished")) meta.push(num(c, "jobsFinished") + " jobs done");
    t.appendChild(el("span", "tile-meta", meta.join(" · ") || "\u00a0"));
    decorate(t, a);
    return t;
  }

  // A press of the primary button selects: a click needs the press and the
  // release on one element, which a redraw between them (the page redraws
  // while a batch runs) could still defeat. "click" serves the keyboard
  // (Enter, Space).
  function onSelect(node, instance, id) {
    node.addEventListener("pointerdown", function (e) { if (e.button === 0) select(instance, id); });
    node.addEventListener("click", function (e) { if (e.detail === 0) select(instance, id); });
  }

  // ---------- drawer: one actor ----------
  function select(instance, id) {
    S.selected = { instance: instance, id: id, key: keyOf(instance, id) };
    S.timeline = [];
    fetchTimeline();
    scheduleRender();
  }

  function fetchTimeline() {
    var sel = S.selected;
    if (!sel || S.timelineFetching) return;
    S.timelineFetching = true;
    fetch("api/timeline?instance=" + encodeURIComponent(sel.instance) + "&id=" + encodeURIComponent(sel.id))
      .then(function (r) { return r.ok ? r.json() : { events: [] }; })
      .then(function (body) {
        if (S.selected && S.selected.key === sel.key && body && Array.isArray(body.events)) {
          S.timeline = body.events;
          scheduleRender();
        }
      })
      .catch(function () { /* next snapshot retries */ })
      .then(function () { S.timelineFetching = false; });
  }

  function renderDrawer(actors) {
    var d = $("drawer");
    if (!S.selected) { d.hidden = true; clear(d); return; }
    d.hidden = false;
    var sel = S.selected;
    var actor = null;
    for (var i = 0; i < actors.length; i++) if (keyOf(actors[i].instance, actors[i].id) === sel.key) actor = actors[i];
    var lastEntry = S.timeline[S.timeline.length - 1];
    var state = actor ? actor.state : lastEntry ? lastEntry.state : "";
    var machine = actor ? actor.machine : sel.id.indexOf("batch:") === 0 ? "batchCoordinator" : "userAggregator";

    var scroll = d.scrollTop;
    clear(d);
    var head = el("div", "drawer-head");
    var title = el("div", "drawer-title");
    var t = el("span", "", sel.id);
    t.title = sel.id;
    title.appendChild(t);
    var close = el("button", "drawer-close", "\u00d7");
    close.type = "button";
    close.title = "close";
    close.addEventListener("click", function () { S.selected = null; scheduleRender(); });
    title.appendChild(close);
    head.appendChild(title);
    var chips = el("div", "drawer-chips");
    chips.appendChild(chip(machine));
    chips.appendChild(chip("on " + sel.instance));
    if (state) chips.appendChild(chip(state, colorOf(state)));
    if (!actor) chips.appendChild(el("span", "chip gone", "gone from the cluster"));
    else if (actor.stopped) chips.appendChild(el("span", "chip gone", "stopped"));
    head.appendChild(chips);
    d.appendChild(head);

    if (actor) {
      var sec = el("section");
      sec.appendChild(el("h3", "", "context"));
      var kv = el("dl", "kv");
      var rows = [];
      if (actor.userId) rows.push(["userId", actor.userId]);
      if (actor.batchId) rows.push(["batchId", actor.batchId]);
      var ctx = actor.context || {};
      Object.keys(ctx).forEach(function (k) {
        var v = ctx[k];
        if (v === null || v === undefined) return;
        rows.push([k, typeof v === "object" ? JSON.stringify(v) : String(v)]);
      });
      rows.forEach(function (r) { kv.appendChild(el("dt", "", r[0])); kv.appendChild(el("dd", "", r[1])); });
      sec.appendChild(kv);
      d.appendChild(sec);
    }

    var chartSec = el("section", "chart");
    chartSec.appendChild(el("h3", "", "statechart · " + machine));
    var desc = S.machines[machine];
    if (desc) chartSec.appendChild(drawChart(desc, state, lastEntry && lastEntry.event));
    else chartSec.appendChild(el("p", "empty-note", "machine definition not available"));
    d.appendChild(chartSec);

    var tlSec = el("section");
    tlSec.appendChild(el("h3", "", "recent events (newest first)"));
    var list = el("ol", "timeline");
    list.id = "timeline";
    // Repeats in a row (a day persisted after another) fold into one line with a count.
    var entries = [];
    S.timeline.forEach(function (e) {
      var last = entries[entries.length - 1];
      // An entry may stand for several events already (the instance folds same-state ones: count).
      var n = e.count || 1;
      if (last && e.event && last.event === e.event && last.state === e.state && !e.ended && !last.ended) {
        last.count += n;
        last.at = e.at;
      } else entries.push({ at: e.at, firstAt: e.at, event: e.event, state: e.state, ended: e.ended, count: n });
    });
    entries = entries.slice(-60).reverse();
    if (!entries.length) tlSec.appendChild(el("p", "empty-note", "nothing recorded yet for this actor"));
    entries.forEach(function (e) {
      var li = el("li");
      var time = el("span", "tl-time", fmtTime(e.at));
      if (e.count > 1) time.title = "from " + fmtTime(e.firstAt);
      li.appendChild(time);
      var label = e.event ? prettyEvent(e.event) : e.ended ? "left the cluster" : "observed";
      var ev = el("span", "tl-event" + (e.event ? "" : " observed"), label);
      if (e.count > 1) ev.appendChild(el("span", "tl-count", " \u00d7" + e.count));
      ev.title = e.event || "state change seen between two agg.inspect snapshots";
      li.appendChild(ev);
      var right = e.ended && !e.event ? el("span", "tl-ended", "gone") : pill(e.state);
      li.appendChild(right);
      list.appendChild(li);
    });
    tlSec.appendChild(list);
    d.appendChild(tlSec);
    d.scrollTop = scroll;
  }

  // ---------- statechart: layout and drawing ----------
  function label(t, kind) {
    var text = kind === "after" ? "after " + t.delay : kind === "always" ? "always" : prettyEvent(t.event);
    if (t.guard) text += " [" + t.guard + "]";
    return text;
  }

  function textWidth(s, size) { return s.length * size * 0.58; }

  /** Nodes and edges of a machine description, laid out top to bottom (ranks) once per machine. */
  function buildChart(desc) {
    var nodes = {};
    var root = null;
    desc.states.forEach(function (s) {
      nodes[s.id] = { s: s, id: s.id, name: s.path.length ? s.path[s.path.length - 1] : desc.id, children: [], parent: null, notes: [] };
    });
    desc.states.forEach(function (s) {
      var n = nodes[s.id];
      if (!s.path.length) { root = n; return; }
      var parentPath = s.path.slice(0, -1).join(".");
      for (var i = 0; i < desc.states.length; i++) {
        if (desc.states[i].path.join(".") === parentPath && desc.states[i].path.length === s.path.length - 1) {
          n.parent = nodes[desc.states[i].id];
          n.parent.children.push(n);
          break;
        }
      }
    });
    var edgeMap = {};
    var edges = [];
    desc.states.forEach(function (s) {
      var add = function (t, kind) {
        var text = label(t, kind);
        var source = nodes[s.id];
        if (!t.target || t.target === s.id || !nodes[t.target]) {
          if (source.notes.indexOf(text) < 0) source.notes.push(text + (t.target === s.id ? " \u21ba" : ""));
          return;
        }
        if (source === root) {
          root.notes.push(text + " \u2192 " + nodes[t.target].name);
          return;
        }
        var k = s.id + SEP + t.target;
        var e = edgeMap[k];
        if (!e) { e = edgeMap[k] = { from: source, to: nodes[t.target], labels: [], events: [] }; edges.push(e); }
        if (e.labels.indexOf(text) < 0) e.labels.push(text);
        e.events.push(kind === "always" ? "" : t.event);
      };
      s.on.forEach(function (t) { add(t, "on"); });
      s.after.forEach(function (t) { add(t, "after"); });
      s.always.forEach(function (t) { add(t, "always"); });
    });
    // Keep each box's notes short: the drawing is a map, the machine file the full story.
    Object.keys(nodes).forEach(function (k) { nodes[k].notes = nodes[k].notes.slice(0, 3); });
    layout(root, edges, 0);
    place(root, 0, 0);
    return { root: root, nodes: nodes, edges: edges };
  }

  function childOf(parent, node) {
    while (node && node.parent !== parent) node = node.parent;
    return node;
  }

  /**
   * Sizes a node and places its children: ranks (longest path from the initial child, back
   * edges ignored) go top to bottom at even depths and left to right at odd ones, so a compound
   * state's children sit side by side and edges out of them run straight down.
   */
  function layout(n, edges, depth) {
    var PAD = 14, HEAD = 22;
    if (!n.children.length) {
      var w = textWidth(n.name, 12) + 30;
      n.notes.forEach(function (t) { w = Math.max(w, textWidth(t, 10) + 20); });
      n.w = Math.max(w, 96);
      n.h = 32 + n.notes.length * 13;
      return;
    }
    var horizontal = depth % 2 === 1;
    n.horizontal = horizontal;
    n.children.forEach(function (c) { layout(c, edges, depth + 1); });
    var succ = {};
    n.children.forEach(function (c) { succ[c.id] = []; });
    var local = [];
    edges.forEach(function (e) {
      var a = childOf(n, e.from), b = childOf(n, e.to);
      if (!a || !b || a === b) return;
      local.push({ a: a, b: b, e: e });
      if (succ[a.id].indexOf(b) < 0) succ[a.id].push(b);
    });
    var initial = null;
    for (var i = 0; i < n.children.length; i++) if (n.children[i].id === n.s.initial) initial = n.children[i];
    initial = initial || n.children[0];
    var order = [], state = {}, back = {};
    var visit = function (c) {
      state[c.id] = 1;
      succ[c.id].forEach(function (d) {
        if (state[d.id] === 1) back[c.id + SEP + d.id] = true;
        else if (!state[d.id]) visit(d);
      });
      state[c.id] = 2;
      order.unshift(c);
    };
    visit(initial);
    n.children.forEach(function (c) { if (!state[c.id]) visit(c); });
    var rank = {};
    order.forEach(function (c) { if (rank[c.id] === undefined) rank[c.id] = 0; });
    order.forEach(function (c) {
      succ[c.id].forEach(function (d) {
        if (!back[c.id + SEP + d.id]) rank[d.id] = Math.max(rank[d.id] || 0, rank[c.id] + 1);
      });
    });
    var ranks = [];
    n.children.forEach(function (c) { (ranks[rank[c.id]] = ranks[rank[c.id]] || []).push(c); });
    var rankOf = {};
    ranks = ranks.filter(Boolean);
    ranks.forEach(function (group, r) { group.forEach(function (c) { rankOf[c.id] = r; }); });
    // The gap after each rank makes room for the labels of the edges that cross it.
    var gaps = ranks.map(function (_, r) {
      var lines = 0, widest = 0;
      local.forEach(function (l) {
        if (rankOf[l.a.id] !== r || rankOf[l.b.id] !== r + 1) return;
        lines += l.e.labels.length;
        l.e.labels.forEach(function (t) { widest = Math.max(widest, textWidth(t, 10)); });
      });
      return horizontal ? Math.max(44, widest + 20) : Math.max(56, 30 + lines * 14);
    });
    var GAP_ACROSS = horizontal ? 18 : 40;
    // Along: the rank axis; across: within a rank.
    var sizes = ranks.map(function (group) {
      var along = 0, across = 0;
      group.forEach(function (c, j) {
        along = Math.max(along, horizontal ? c.w : c.h);
        across += (horizontal ? c.h : c.w) + (j ? GAP_ACROSS : 0);
      });
      return { along: along, across: across };
    });
    var maxAcross = 0;
    sizes.forEach(function (z) { maxAcross = Math.max(maxAcross, z.across); });
    var notesH = n.notes.length && n.parent ? n.notes.length * 13 + 4 : 0;
    // Room for the initial-state marker: left of the first rank, or above it.
    var offX = n.parent ? PAD + (horizontal ? 16 : 0) : 0;
    var offY = n.parent ? HEAD + notesH + 8 + (horizontal ? 0 : 16) : 0;
    var pos = 0;
    ranks.forEach(function (group, r) {
      var z = sizes[r];
      var cross = (maxAcross - z.across) / 2;
      group.forEach(function (c) {
        if (horizontal) {
          c.rx = offX + pos + (z.along - c.w) / 2;
          c.ry = offY + cross;
          cross += c.h + GAP_ACROSS;
        } else {
          c.rx = offX + cross;
          c.ry = offY + pos + (z.along - c.h) / 2;
          cross += c.w + GAP_ACROSS;
        }
      });
      pos += z.along + (r < ranks.length - 1 ? gaps[r] : 0);
    });
    var along = pos, across = maxAcross;
    if (horizontal) {
      n.w = offX + along + (n.parent ? PAD : 0);
      n.h = offY + across + (n.parent ? PAD : 0);
    } else {
      n.w = offX + across + (n.parent ? PAD : 0);
      n.h = offY + along + (n.parent ? PAD : 0);
    }
    if (n.parent) n.w = Math.max(n.w, textWidth(n.name, 12) + 40);
  }

  function place(n, x, y) {
    n.x = x; n.y = y;
    n.children.forEach(function (c) { place(c, x + c.rx, y + c.ry); });
  }

  function isAncestor(a, b) { while (b) { if (b === a) return true; b = b.parent; } return false; }

  function hitsBox(chart, e, x1, y1, x2, y2) {
    var ids = Object.keys(chart.nodes);
    for (var s = 1; s < 10; s++) {
      var px = x1 + (x2 - x1) * s / 10, py = y1 + (y2 - y1) * s / 10;
      for (var i = 0; i < ids.length; i++) {
        var b = chart.nodes[ids[i]];
        if (b === chart.root || isAncestor(b, e.from) || isAncestor(b, e.to)) continue;
        if (px > b.x + 2 && px < b.x + b.w - 2 && py > b.y + 2 && py < b.y + b.h - 2) return true;
      }
    }
    return false;
  }

  function drawChart(desc, current, lastEvent) {
    var chart = S.charts[desc.id] || (S.charts[desc.id] = buildChart(desc));
    var active = {};
    var path = String(current || "").split(",")[0];
    if (path) {
      var parts = path.split(".");
      for (var i = 1; i <= parts.length; i++) active[desc.id + "." + parts.slice(0, i).join(".")] = true;
    }
    var color = colorOf(current);
    var g = svg("g", {});
    var edgeLayer = svg("g", {});
    var labelLayer = svg("g", {});
    var bounds = { x1: 0, y1: 0, x2: chart.root.w, y2: chart.root.h };
    var grow = function (x, y) {
      bounds.x1 = Math.min(bounds.x1, x); bounds.y1 = Math.min(bounds.y1, y);
      bounds.x2 = Math.max(bounds.x2, x); bounds.y2 = Math.max(bounds.y2, y);
    };

    // boxes, outermost first
    var drawNode = function (n) {
      if (n !== chart.root) {
        var on = !!active[n.id];
        var compound = n.children.length > 0;
        var fill = on ? (compound ? tint(color, 0.06) : tint(color, 0.18)) : "#ffffff";
        g.appendChild(svg("rect", {
          x: n.x, y: n.y, width: n.w, height: n.h, rx: 8,
          fill: fill, stroke: on ? color : "#cbd5e1", "stroke-width": on ? 2.5 : 1.2,
          "data-state": n.id, "class": on ? "active" : ""
        }));
        if (n.s.type === "final") g.appendChild(svg("rect", { x: n.x + 3, y: n.y + 3, width: n.w - 6, height: n.h - 6, rx: 6, fill: "none", stroke: on ? color : "#cbd5e1", "stroke-width": 1 }));
        var ty = compound ? n.y + 16 : n.y + 20;
        g.appendChild(svg("text", {
          x: compound ? n.x + 10 : n.x + n.w / 2, y: ty, "text-anchor": compound ? "start" : "middle",
          "font-size": 12, "font-weight": on ? 700 : 500, fill: on ? "#0f172a" : "#334155"
        }, n.name));
        n.notes.forEach(function (t, j) {
          g.appendChild(svg("text", {
            x: compound ? n.x + 10 : n.x + n.w / 2, y: ty + 14 + j * 13, "text-anchor": compound ? "start" : "middle",
            "class": "note"
          }, t));
        });
      }
      n.children.forEach(drawNode);
      // initial-state marker: a dot and an arrow into the initial child, along the ranks' direction
      if (n.children.length && n.s.initial) {
        var init = chart.nodes[n.s.initial];
        if (init) {
          var fromLeft = n.horizontal;
          var tx = fromLeft ? init.x : init.x + init.w / 2, ty2 = fromLeft ? init.y + init.h / 2 : init.y;
          var dx = fromLeft ? -14 : 0, dy = fromLeft ? 0 : -14;
          g.appendChild(svg("circle", { cx: tx + dx * 1.3, cy: ty2 + dy * 1.3, r: 3.5, fill: "#334155" }));
          edgeLayer.appendChild(svg("path", {
            d: "M" + (tx + dx) + " " + (ty2 + dy) + " L" + (tx - (fromLeft ? 2 : 0)) + " " + (ty2 - (fromLeft ? 0 : 2)),
            stroke: "#334155", "stroke-width": 1.2, fill: "none", "marker-end": "url(#arrow-" + desc.id + ")"
          }));
          grow(tx + dx * 1.3 - 4, ty2 + dy * 1.3 - 4);
        }
      }
    };
    drawNode(chart.root);

    // edges
    var sideRight = 0, sideLeft = 0;
    var placed = [];
    var atomic = Object.keys(chart.nodes).map(function (k) { return chart.nodes[k]; }).filter(function (n) { return !n.children.length; });
    var overlaps = function (r) {
      for (var i = 0; i < placed.length; i++) {
        var p = placed[i];
        if (r.x1 < p.x2 && r.x2 > p.x1 && r.y1 < p.y2 && r.y2 > p.y1) return true;
      }
      for (var j = 0; j < atomic.length; j++) {
        var n = atomic[j];
        if (r.x1 < n.x + n.w && r.x2 > n.x && r.y1 < n.y + n.h && r.y2 > n.y) return true;
      }
      return false;
    };
    /**
     * Puts an edge's label at the first candidate spot that overlaps no box and no other label
     * (else below the first one, as far as needed). Labels carry a white halo so they read over lines.
     */
    var placeLabel = function (lines, candidates, hot) {
      var w = 0;
      lines.forEach(function (t) { w = Math.max(w, textWidth(t, 10)); });
      var h = lines.length * 12;
      var rectAt = function (c, dy) {
        var x1 = c.anchor === "start" ? c.x : c.anchor === "end" ? c.x - w : c.x - w / 2;
        return { x1: x1 - 2, y1: c.y + dy - 10, x2: x1 + w + 2, y2: c.y + dy - 10 + h + 2 };
      };
      var chosen = null, dy = 0, rect = null;
      for (var i = 0; i < candidates.length && !chosen; i++) {
        rect = rectAt(candidates[i], 0);
        if (!overlaps(rect)) chosen = candidates[i];
      }
      if (!chosen) {
        chosen = candidates[0];
        for (dy = 0; dy < 240; dy += 6) {
          rect = rectAt(chosen, dy);
          if (!overlaps(rect)) break;
        }
      }
      placed.push(rect);
      grow(rect.x1, rect.y1);
      grow(rect.x2, rect.y2);
      lines.forEach(function (text, j) {
        labelLayer.appendChild(svg("text", {
          x: chosen.x, y: chosen.y + dy + j * 12, "text-anchor": chosen.anchor, "font-size": 10,
          fill: hot ? color : "#475569", "font-weight": hot ? 700 : 400, "class": "edge-label",
          stroke: "#ffffff", "stroke-width": 3, "stroke-linejoin": "round", "paint-order": "stroke"
        }, text));
      });
    };
    var along = function (x1, y1, x2, y2, lines) {
      return [0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75, 0.2, 0.8].map(function (t) {
        return { x: x1 + (x2 - x1) * t, y: y1 + (y2 - y1) * t - (lines - 1) * 6 + 3, anchor: "middle" };
      });
    };
    // Route every edge first: straight down when nothing is in the way, else around the side.
    var routes = chart.edges.map(function (e) {
      var a = e.from, b = e.to;
      var below = b.y >= a.y + a.h - 1;
      var sameRow = !below && b.y + b.h > a.y && b.y < a.y + a.h;
      if (below && !hitsBox(chart, e, a.x + a.w / 2, a.y + a.h, b.x + b.w / 2, b.y)) return { e: e, kind: "down" };
      if (sameRow) return { e: e, kind: "across" };
      return { e: e, kind: below ? "right" : "left" };
    });
    // Edges leaving or entering the same box downwards get their own spot on its border.
    var spread = function (key, other) {
      var groups = {};
      routes.forEach(function (r) {
        if (r.kind !== "down") return;
        var k = r.e[key].id;
        (groups[k] = groups[k] || []).push(r);
      });
      Object.keys(groups).forEach(function (k) {
        var g2 = groups[k];
        g2.sort(function (p, q) { return (p.e[other].x + p.e[other].w / 2) - (q.e[other].x + q.e[other].w / 2); });
        g2.forEach(function (r, i) {
          var box = r.e[key];
          var f = g2.length === 1 ? 0.5 : 0.25 + (0.5 * i) / (g2.length - 1);
          r[key === "from" ? "x1" : "x2"] = box.x + box.w * f;
        });
      });
    };
    spread("from", "to");
    spread("to", "from");
    routes.sort(function (p, q) {
      // Short side routes take the inner tracks.
      var span = function (r) { return Math.abs(r.e.to.y - r.e.from.y); };
      return span(p) - span(q);
    });
    routes.forEach(function (r) {
      var e = r.e, a = e.from, b = e.to;
      var hot = !!(lastEvent !== undefined && lastEvent !== null && active[b.id] && e.events.indexOf(lastEvent) >= 0 && !isAncestor(b, a));
      var stroke = hot ? color : "#64748b";
      var d, spots;
      if (r.kind === "down") {
        var y1 = a.y + a.h, y2 = b.y;
        d = "M" + r.x1 + " " + y1 + " L" + r.x2 + " " + (y2 - 2);
        spots = along(r.x1, y1, r.x2, y2, e.labels.length);
      } else if (r.kind === "across") {
        var leftToRight = b.x > a.x;
        var sx = leftToRight ? a.x + a.w : a.x, ex = leftToRight ? b.x : b.x + b.w;
        var sy = a.y + a.h / 2, ey = b.y + b.h / 2;
        d = "M" + sx + " " + sy + " L" + (ex + (leftToRight ? -2 : 2)) + " " + ey;
        spots = [{ x: (sx + ex) / 2, y: Math.min(sy, ey) - 8 - (e.labels.length - 1) * 12, anchor: "middle" }];
      } else {
        // Forward edges that would cross boxes go round the right, back edges round the left.
        var right = r.kind === "right";
        var ax = right ? a.x + a.w : a.x, bx = right ? b.x + b.w : b.x;
        var ay = a.y + a.h / 2, by = b.y + b.h / 2;
        var far;
        if (right) { sideRight += 1; far = Math.max(ax, bx, outerEdge(chart, a, b, true)) + 14 + sideRight * 24; }
        else { sideLeft += 1; far = Math.min(ax, bx, outerEdge(chart, a, b, false)) - 14 - sideLeft * 24; }
        var ex2 = bx + (right ? 2 : -2);
        d = "M" + ax + " " + ay + " C" + far + " " + ay + " " + far + " " + by + " " + ex2 + " " + by;
        spots = [{
          x: 0.125 * (ax + bx) + 0.75 * far + (right ? 5 : -5),
          y: (ay + by) / 2 - (e.labels.length - 1) * 6 + 3,
          anchor: right ? "start" : "end"
        }];
        grow(far, ay);
      }
      edgeLayer.appendChild(svg("path", {
        d: d, fill: "none", stroke: stroke, "stroke-width": hot ? 2.4 : 1.2, "marker-end": "url(#" + (hot ? "hot-" : "arrow-") + desc.id + ")",
        "data-from": a.id, "data-to": b.id
      }));
      placeLabel(e.labels, spots, hot);
    });

    var notes = svg("g", {});
    var noteY = bounds.y2 + 22;
    chart.root.notes.forEach(function (t, j) {
      notes.appendChild(svg("text", { x: 0, y: noteY + j * 14, "font-size": 11, fill: "#475569" }, "from any state: " + t));
      grow(textWidth("from any state: " + t, 11), noteY + j * 14 + 4);
    });

    var pad = 10;
    var root = svg("svg", {
      viewBox: (bounds.x1 - pad) + " " + (bounds.y1 - pad) + " " + (bounds.x2 - bounds.x1 + pad * 2) + " " + (bounds.y2 - bounds.y1 + pad * 2),
      role: "img", "aria-label": "statechart of " + desc.id + ", current state " + (current || "unknown"),
      "font-family": "system-ui, sans-serif"
    });
    var defs = svg("defs", {});
    [["arrow-", "#64748b"], ["hot-", color]].forEach(function (m) {
      var marker = svg("marker", { id: m[0] + desc.id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
      marker.appendChild(svg("path", { d: "M0 0 L10 5 L0 10 z", fill: m[1] }));
      defs.appendChild(marker);
    });
    root.appendChild(defs);
    root.appendChild(g);
    root.appendChild(edgeLayer);
    root.appendChild(labelLayer);
    root.appendChild(notes);
    var w = bounds.x2 - bounds.x1 + pad * 2;
    root.style.maxWidth = Math.max(w * 1.15, 320) + "px";
    return root;
  }

  /** The outermost x of boxes lying between two nodes vertically, so a side route clears them. */
  function outerEdge(chart, a, b, right) {
    var top = Math.min(a.y, b.y), bottom = Math.max(a.y + a.h, b.y + b.h);
    var edge = right ? -Infinity : Infinity;
    Object.keys(chart.nodes).forEach(function (k) {
      var n = chart.nodes[k];
      if (n === chart.root) return;
      if (n.y + n.h < top || n.y > bottom) return;
      edge = right ? Math.max(edge, n.x + n.w) : Math.min(edge, n.x);
    });
    return edge;
  }

  // ---------- footer ----------
  function renderFooter() {
    var f = $("footer");
    clear(f);
    var st = S.stats;
    var ins = st ? st.inspection : { messages: 0, events: 0, malformed: 0, droppedAtSource: 0 };
    var malformed = (ins.malformed || 0) + S.clientMalformed;
    f.appendChild(el("span", "", "inspection stream: " + fmtInt(ins.events) + " events in " + fmtInt(ins.messages) + " messages"));
    var m = el("span", malformed ? "warn" : "", fmtInt(malformed) + " malformed dropped");
    m.id = "malformed";
    m.dataset.count = String(malformed);
    f.appendChild(m);
    f.appendChild(el("span", ins.droppedAtSource ? "warn" : "", fmtInt(ins.droppedAtSource) + " dropped by rate limits"));
    if (S.renderError) f.appendChild(el("span", "warn", "render error: " + S.renderError));
    var right = el("span", "right");
    if (st) {
      right.appendChild(el("span", st.nats === "connected" ? "" : "warn", "NATS " + st.nats));
      if (st.lastInspect) {
        var li = st.lastInspect;
        var text = li.outcome === "ok" ? "agg.inspect " + li.tookMs + " ms"
          : li.outcome === "no-responders" ? "no engine answered agg.inspect"
          : li.outcome === "timeout" ? "agg.inspect timed out"
          : li.outcome === "direct" ? "agg.inspect timed out: instances asked directly (" + li.tookMs + " ms)"
          : "agg.inspect error: " + (li.message || "");
        right.appendChild(el("span", li.outcome === "ok" || li.outcome === "no-responders" ? "" : "warn", text));
      }
    }
    right.appendChild(el("span", "", S.snapshotAt ? "updated " + fmtAgo(Date.now() - S.snapshotAt) : "no snapshot yet"));
    f.appendChild(right);
  }

  function setLive(on, text) {
    var live = $("live");
    live.className = "live " + (on ? "on" : "off");
    $("live-text").textContent = text;
  }

  // ---------- filters ----------
  function setFilter(name, value) {
    S.filters[name] = value;
    var parts = [];
    Object.keys(S.filters).forEach(function (k) { if (S.filters[k]) parts.push(k + "=" + encodeURIComponent(S.filters[k])); });
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname);
    if ($("filter-" + name).value !== value) $("filter-" + name).value = value;
    scheduleRender();
  }
  function readHash() {
    location.hash.replace(/^#/, "").split("&").forEach(function (p) {
      var i = p.indexOf("=");
      if (i < 0) return;
      var k = p.slice(0, i);
      if (Object.prototype.hasOwnProperty.call(S.filters, k)) {
        try { S.filters[k] = decodeURIComponent(p.slice(i + 1)); } catch (e) { /* ignore */ }
      }
    });
    $("filter-user").value = S.filters.user;
  }
  $("filter-user").addEventListener("input", function (e) { setFilter("user", e.target.value.trim()); });
  ["batch", "state", "machine"].forEach(function (name) {
    $("filter-" + name).addEventListener("change", function (e) { setFilter(name, e.target.value); });
  });
  $("filter-clear").addEventListener("click", function () {
    ["user", "batch", "state", "machine"].forEach(function (n) { S.filters[n] = ""; $("filter-" + n).value = ""; });
    setFilter("user", "");
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && S.selected) { S.selected = null; scheduleRender(); }
  });

  // ---------- live data ----------
  function parse(data) {
    try { return JSON.parse(data); } catch (e) { S.clientMalformed++; return null; }
  }

  function onInspection(delivery) {
    if (!delivery || !Array.isArray(delivery.events)) { S.clientMalformed++; return; }
    var now = Date.now();
    delivery.events.forEach(function (ev) {
      if (!ev || typeof ev !== "object") { S.clientMalformed++; return; }
      if (ev.type === "actor.updated" && ev.actor && typeof ev.actor.id === "string") {
        var k = keyOf(ev.actor.instance, ev.actor.id);
        S.overlay[k] = { state: ev.actor.state, counts: ev.actor.counts, actor: ev.actor, receivedAt: now, stopped: false };
        if (S.selected && S.selected.key === k) S.timeline.push({ at: ev.at, event: ev.event, state: ev.actor.state, source: "event" });
      } else if (ev.type === "actor.stopped" && typeof ev.id === "string") {
        var k2 = keyOf(ev.instance, ev.id);
        var prev = S.overlay[k2];
        S.overlay[k2] = { state: ev.state || (prev && prev.state), counts: prev && prev.counts, receivedAt: now, stopped: true };
        if (S.selected && S.selected.key === k2) S.timeline.push({ at: ev.at, event: ev.event, state: ev.state || "", source: "event", ended: true });
      }
    });
    scheduleRender();
  }

  function onSnapshot(reply) {
    if (!reply || !Array.isArray(reply.actors) || !Array.isArray(reply.instances)) { S.clientMalformed++; return; }
    S.reply = reply;
    S.haveSnapshot = true;
    S.snapshotAt = Date.now();
    // Forget live corrections the snapshot has caught up with.
    Object.keys(S.overlay).forEach(function (k) { if (S.snapshotAt - S.overlay[k].receivedAt > 3000) delete S.overlay[k]; });
    if (S.selected) fetchTimeline();
    scheduleRender();
  }

  function connect() {
    var source = new EventSource("api/events");
    source.addEventListener("open", function () { S.connected = true; setLive(true, "live"); scheduleRender(); });
    source.addEventListener("error", function () { S.connected = false; setLive(false, "reconnecting…"); scheduleRender(); });
    source.addEventListener("snapshot", function (e) { var v = parse(e.data); if (v) onSnapshot(v); });
    source.addEventListener("inspection", function (e) { var v = parse(e.data); if (v) onInspection(v); });
    source.addEventListener("stats", function (e) {
      var v = parse(e.data);
      if (v && v.inspection) { S.stats = v; scheduleRender(); }
    });
  }

  fetch("api/machines")
    .then(function (r) { return r.json(); })
    .then(function (body) {
      (body.machines || []).forEach(function (m) { if (m && m.id && Array.isArray(m.states)) S.machines[m.id] = m; });
      scheduleRender();
    })
    .catch(function () { /* the chart says it is unavailable */ });

  readHash();
  connect();
  // Relative times ("updated 2 s ago") keep moving even when nothing else does.
  setInterval(renderFooter, 1000);
  scheduleRender();
})();
`;
