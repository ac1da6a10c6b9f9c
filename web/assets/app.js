// lanswarm dashboard: reads the JSON API of lanswarm-web (docs/WEB.md) and
// follows its event stream. Every name shown comes from the network, so text
// only ever goes in through textContent, never as HTML.
"use strict";

const state = {
  token: "",
  tab: "files",
  data: { peers: null, files: null, transfers: null, share: null, server: null, status: null, logs: null },
  sort: { key: "name", dir: 1 },
  query: "",
  knownPeers: null,
  endedJobs: null,
  source: null,
};

// ---------- small helpers ----------

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k === "data") for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function bytes(n) {
  if (!(n >= 0)) return "-";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : 1)) + " " + u[i];
}
const rate = (n) => bytes(n) + "/s";

function duration(s) {
  if (s === null || s === undefined || !isFinite(s)) return "--:--";
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(sec).padStart(2, "0");
}

function ago(sec) {
  if (sec < 2) return "just now";
  if (sec < 90) return sec + " s ago";
  if (sec < 5400) return Math.round(sec / 60) + " min ago";
  return Math.round(sec / 3600) + " h ago";
}

function when(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function toast(msg, kind) {
  const t = el("div", { class: "toast " + (kind || ""), role: kind === "bad" ? "alert" : "status", text: msg });
  $("toasts").append(t);
  setTimeout(() => t.remove(), kind === "bad" ? 8000 : 4000);
}

function fillTable(id, rows, emptyId) {
  const body = $(id).tBodies[0];
  body.replaceChildren(...rows);
  $(id).hidden = rows.length === 0;
  if (emptyId) $(emptyId).hidden = rows.length !== 0;
}

const td = (label, content, cls) => el("td", { "data-label": label || null, class: cls }, content);

// ---------- API ----------

async function api(method, path, body) {
  const opts = { method, headers: { Authorization: "Bearer " + state.token } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch("/api/" + path, opts);
  let j = {};
  try { j = await r.json(); } catch (e) { /* not JSON */ }
  if (r.status === 401 || r.status === 403) {
    if (!(j.error || "").includes("cross")) showLogin("The token was refused: " + (j.error || r.status));
  }
  if (!r.ok) throw new Error(j.error || ("HTTP " + r.status));
  return j;
}

// ---------- the event stream ----------

function connect() {
  if (state.source) state.source.close();
  const es = new EventSource("/api/events?token=" + encodeURIComponent(state.token));
  state.source = es;
  setLive("connecting");
  es.onopen = () => setLive("on");
  es.onerror = () => {
    setLive(es.readyState === EventSource.CLOSED ? "off" : "connecting");
    if (es.readyState === EventSource.CLOSED) {
      // Refused (a wrong token) or the daemon is gone: ask which.
      api("GET", "status").then(() => setTimeout(connect, 2000)).catch(() => setTimeout(connect, 4000));
    }
  };
  for (const name of Object.keys(state.data)) {
    es.addEventListener(name, (ev) => {
      try { state.data[name] = JSON.parse(ev.data); } catch (e) { return; }
      render(name);
    });
  }
}

function setLive(s) {
  const live = $("live");
  live.className = "live " + (s === "on" ? "on" : s === "off" ? "off" : "");
  $("live-text").textContent = s === "on" ? "live" : s === "off" ? "disconnected" : "connecting";
}

// ---------- rendering ----------

function render(name) {
  ({ peers: renderPeers, files: renderFiles, transfers: renderTransfers, share: renderShare,
     server: renderServer, status: renderStatus, logs: renderLogs })[name]();
}

function renderStatus() {
  const s = state.data.status;
  $("self-tag").textContent = s.tag ? "· " + s.tag : "";
  document.title = "lanswarm · " + (s.tag || "");
}

function renderPeers() {
  const peers = (state.data.peers && state.data.peers.peers) || [];
  const seen = new Set();
  const rows = peers.map((p) => {
    const key = p.tag + "@" + p.address;
    seen.add(key);
    const isNew = state.knownPeers && !state.knownPeers.has(key);
    return el("tr", { class: (p.state === "quiet" ? "quiet " : "") + (isNew ? "fresh" : ""), data: { peer: p.tag } },
      td("Peer", el("span", {}, p.tag, p.self ? el("span", { class: "badge", text: "this peer" }) : null,
        p.state === "quiet" ? el("span", { class: "badge warn", text: "quiet" }) : null), "name"),
      td("Address", p.address),
      td("Files", p.files, "num"),
      td("Shared", bytes(p.bytes), "num"),
      td("Last seen", ago(p.age_s), "num"),
      td("Found by", (p.how || "-").split(",").join(", ")));
  });
  state.knownPeers = seen;
  fillTable("peers-table", rows, "peers-empty");
  $("count-peers").textContent = peers.length ? String(peers.filter((p) => !p.self).length) : "";
}

function activeNames() {
  const t = state.data.transfers;
  return new Set(((t && t.active) || []).map((j) => j.name));
}

function renderFiles() {
  const all = (state.data.files && state.data.files.files) || [];
  const q = state.query.trim().toLowerCase();
  const list = all.filter((f) => !q || f.name.toLowerCase().includes(q) || f.root.startsWith(q)
    || f.names.some((n) => n.toLowerCase().includes(q)));
  const { key, dir } = state.sort;
  list.sort((a, b) => {
    const x = key === "holders" ? a.holders.length : key === "size" ? a.size : a.name.toLowerCase();
    const y = key === "holders" ? b.holders.length : key === "size" ? b.size : b.name.toLowerCase();
    return (x < y ? -1 : x > y ? 1 : 0) * dir || a.root.localeCompare(b.root);
  });
  const running = activeNames();
  const rows = list.map((f) => {
    let action;
    if (f.mine === "share" || f.mine === "downloads") {
      action = el("span", { class: "badge ok", text: f.mine === "share" ? "shared" : "downloaded" });
    } else if (running.has(f.name)) {
      action = el("span", { class: "badge", text: "downloading" });
    } else {
      action = el("button", { class: "primary", type: "button", "aria-label": "Download " + f.name,
        onclick: (ev) => download(f, ev.currentTarget) }, f.mine === "partial" ? "Resume" : "Download");
    }
    const holders = f.holders.map((h) => h.tag + (h.complete ? "" : " (part)")).join(", ");
    return el("tr", { data: { root: f.root, name: f.name, size: String(f.size), holders: String(f.holders.length) } },
      td("Name", el("span", {}, f.name, f.names.length > 1 ? el("span", { class: "badge", text: "also: " + f.names.slice(1).join(", ") }) : null,
        el("div", { class: "sub", text: f.root.slice(0, 16) + "…" })), "name"),
      td("Size", bytes(f.size), "num"),
      td("Holders", el("span", { title: holders }, String(f.holders.length)), "num"),
      td("", action, "act"));
  });
  fillTable("files-table", rows, null);
  $("files-empty").hidden = all.length !== 0;
  $("files-empty").textContent = all.length ? "" : "No files heard of yet. Peers announce their share every minute; the listener must be running.";
  if (all.length && !list.length) { $("files-empty").hidden = false; $("files-empty").textContent = "No file matches “" + state.query + "”."; }
  const problem = state.data.files && state.data.files.problem;
  if (problem) { $("files-empty").hidden = false; $("files-empty").textContent = problem.charAt(0).toUpperCase() + problem.slice(1) + "."; }
  const more = (state.data.files && state.data.files.more) || 0;
  if (more) { $("files-empty").hidden = false; $("files-empty").textContent = more + " more contents are not listed (the dashboard lists 20,000)."; }
  $("count-files").textContent = all.length ? String(all.length + more) : "";
  for (const th of document.querySelectorAll("#files-table th")) {
    const b = th.querySelector(".sort");
    th.setAttribute("aria-sort", b && b.dataset.sort === key ? (dir > 0 ? "ascending" : "descending") : "none");
  }
}

async function download(f, button) {
  button.disabled = true;
  try {
    const r = await api("POST", "downloads", { name: f.name, root: f.root });
    toast("Downloading " + f.name + " (job " + r.id + ")", "ok");
  } catch (e) {
    toast(f.name + ": " + e.message, "bad");
    button.disabled = false;
  }
}

function transferCard(j) {
  const frac = j.total > 0 ? Math.min(1, j.done / j.total) : 0;
  const bar = el("div", {});
  bar.style.width = (frac * 100).toFixed(1) + "%";
  const stats = el("div", { class: "stats" },
    el("span", { text: Math.floor(frac * 100) + "%" }),
    el("span", { text: bytes(j.done) + " of " + bytes(j.total) }));
  if (j.state === "running") {
    stats.append(el("span", { text: rate(j.rate_Bps) }), el("span", { text: "ETA " + duration(j.eta_s) }),
      el("span", { text: j.peers.length ? "from " + j.peers.map((p) => p.tag).join(", ") : "connecting to peers" }));
  } else {
    stats.append(el("span", { text: j.message || j.result }));
  }
  // Where it comes from and which chunks are here (temp/'s map, a cell per 64th).
  const detail = j.state === "running"
    ? el("div", { class: "sources" },
        el("span", { text: "sources: " + ((j.sources || []).join(", ") || "none yet") }),
        j.chunk_map ? el("code", { class: "chunk-map", title: "# held, + part held, . missing", text: j.chunk_map }) : null)
    : null;
  const action = j.state === "running"
    ? el("button", { class: "danger", type: "button", disabled: j.cancelling, "aria-label": "Cancel " + j.name,
        onclick: (ev) => cancel(j, ev.currentTarget) }, j.cancelling ? "Cancelling…" : "Cancel")
    : el("span", { class: "badge " + (j.state === "done" ? "ok" : "bad"), text: j.state });
  return el("div", { class: "card transfer " + j.state, data: { job: String(j.id), name: j.name }, role: "group", "aria-label": j.name },
    el("div", { class: "head" }, el("span", { class: "title", text: j.name }), action),
    el("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": String(Math.floor(frac * 100)), "aria-label": "Progress of " + j.name }, bar),
    stats, detail);
}

async function cancel(j, button) {
  button.disabled = true;
  try { await api("POST", "downloads/" + j.id + "/cancel", {}); }
  catch (e) { toast(j.name + ": " + e.message, "bad"); button.disabled = false; }
}

function renderTransfers() {
  const t = state.data.transfers || {};
  // A toast when a download started here ends (not for those ended before the page opened).
  const ended = new Set((t.recent || []).map((j) => j.id));
  if (state.endedJobs) {
    for (const j of t.recent || []) {
      if (state.endedJobs.has(j.id)) continue;
      if (j.state === "done") toast(j.name + ": downloaded and verified", "ok");
      else toast(j.name + ": " + (j.message || j.state), j.state === "cancelled" ? "" : "bad");
    }
  }
  state.endedJobs = ended;
  const active = t.active || [], recent = (t.recent || []).filter((j) => j.state !== "done");
  const cards = active.concat(recent.slice(0, 3)).map(transferCard);
  $("active").replaceChildren(...cards);
  $("active-empty").hidden = cards.length !== 0;
  const rows = (t.history || []).map((h) => el("tr", { data: { name: h.name, result: h.result } },
    td("When", when(h.time)),
    td("Name", el("span", {}, h.name, h.peers.length
      ? el("div", { class: "sub", text: "from " + h.peers.filter((p) => p.bytes > 0).map((p) => p.tag).join(", ") })
      : null), "name"),
    td("Result", el("span", { class: "badge " + (h.result === "ok" ? "ok" : h.result === "interrupted" ? "warn" : "bad"),
      text: h.result === "ok" ? "verified" : h.result, title: h.message })),
    td("Size", bytes(h.size), "num"),
    td("Time", h.duration_s.toFixed(2) + " s", "num"),
    td("Speed", rate(h.speed_Bps), "num")));
  fillTable("history-table", rows, "history-empty");
  $("count-transfers").textContent = active.length ? String(active.length) : "";
  if (state.data.files) renderFiles();
}

function renderShare() {
  const s = state.data.share || {};
  const files = s.files || [];
  if (s.share_dir) $("share-dir").textContent = s.share_dir;
  const rows = files.map((f) => {
    const where = f.source === "partial"
      ? "downloading (" + Math.floor(100 * f.chunks_have / Math.max(1, f.chunks)) + "%)"
      : f.source === "downloads" ? "downloads/" : "share/";
    const action = f.source === "share" || f.source === "downloads"
      ? el("button", { class: "danger", type: "button", "aria-label": "Remove " + f.name, onclick: (ev) => unshare(f, ev.currentTarget) }, "Remove")
      : null;
    return el("tr", { data: { name: f.name } },
      td("Name", el("span", {}, f.name, el("div", { class: "sub", text: f.root.slice(0, 16) + "…" })), "name"),
      td("Size", bytes(f.size), "num"),
      td("Where", where),
      td("", action, "act"));
  });
  fillTable("share-table", rows, "share-empty");
  $("count-share").textContent = files.length ? String(files.length) : "";
}

async function unshare(f, button) {
  if (!confirm("Stop sharing " + f.name + "? The file moves to the unshared/ folder; nothing is deleted.")) return;
  button.disabled = true;
  try {
    const r = await api("POST", "share/remove", { name: f.name });
    toast(f.name + " moved to " + r.moved_to, "ok");
  } catch (e) { toast(f.name + ": " + e.message, "bad"); button.disabled = false; }
}

// The daemons' recent log lines, as text (never HTML), newest last.
function renderLogs() {
  const lines = (state.data.logs || {}).lines || [];
  const rows = lines.map((l) => el("tr", { data: { daemon: l.daemon } },
    td("Daemon", l.daemon), td("Line", el("code", { text: l.line }), "logline")));
  fillTable("logs-table", rows, "logs-empty");
}

function tile(k, v, cls) {
  return el("div", { class: "tile" }, el("div", { class: "k", text: k }), el("div", { class: "v " + (cls || ""), text: v }));
}

function renderServer() {
  const s = state.data.server || {};
  const t = s.totals || {};
  $("server-tiles").replaceChildren(
    tile("Status", s.running ? "serving" : "stopped", s.running ? "ok" : "bad"),
    tile("Port", s.running ? String(s.port) : "-"),
    tile("Sent", bytes(t.bytes || 0)),
    tile("Connections", String(t.connections || 0)),
    tile("Chunks", String(t.chunks || 0)),
    tile("Errors", String(t.errors || 0), t.errors ? "bad" : ""));
  const label = (f) => f.name || f.root + "…";
  fillTable("serving-table", (s.connections_now || []).map((c) => el("tr", {},
    td("Peer", c.peer), td("Files", c.files.map(label).join(", ") || "-", "name"),
    td("Sent", bytes(c.bytes), "num"), td("For", duration(c.duration_ms / 1000), "num"))), "serving-empty");
  fillTable("top-table", (s.top || []).map((f) => el("tr", {},
    td("File", label(f), "name"), td("Connections", String(f.connections), "num"))), "top-empty");
}

// ---------- tabs, forms, start ----------

function showTab(name) {
  if (!["files", "peers", "transfers", "share", "server", "logs"].includes(name)) name = "files";
  state.tab = name;
  for (const b of document.querySelectorAll(".tabs button")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const p of document.querySelectorAll("main > .panel")) p.hidden = p.id !== "panel-" + name;
  if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
}

function showLogin(msg) {
  if (state.source) state.source.close();
  for (const p of document.querySelectorAll("main > .panel")) p.hidden = p.id !== "login";
  $("login-error").textContent = msg || "";
  setLive("off");
}

function start() {
  for (const p of document.querySelectorAll("main > .panel")) p.hidden = true;
  showTab((location.hash || "#files").slice(1));
  connect();
}

document.addEventListener("DOMContentLoaded", () => {
  // The address in web.url carries the token after '#': it never reaches the
  // server in a request line or a Referer, and is kept in this browser only.
  const m = /^#token=([A-Za-z0-9._~-]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem("lanswarm-token", m[1]);
    history.replaceState(null, "", location.pathname + "#files");
  }
  state.token = localStorage.getItem("lanswarm-token") || "";
  for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));
  $("search").addEventListener("input", (ev) => { state.query = ev.target.value; renderFiles(); });
  for (const b of document.querySelectorAll(".sort")) {
    b.addEventListener("click", () => {
      const k = b.dataset.sort;
      state.sort = { key: k, dir: state.sort.key === k ? -state.sort.dir : (k === "name" ? 1 : -1) };
      renderFiles();
    });
  }
  $("add-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const path = $("add-path").value.trim(), name = $("add-name").value.trim();
    const btn = ev.submitter || ev.target.querySelector("button");
    btn.disabled = true;
    try {
      await api("POST", "share", { path, name });
      toast(name + " added to the share", "ok");
      ev.target.reset();
    } catch (e) { toast(e.message, "bad"); }
    btn.disabled = false;
  });
  // The name follows the path's last part until the user edits it.
  let nameEdited = false;
  $("add-name").addEventListener("input", () => { nameEdited = $("add-name").value !== ""; });
  $("add-path").addEventListener("input", () => {
    if (!nameEdited) $("add-name").value = $("add-path").value.split("/").pop();
  });
  $("add-form").addEventListener("reset", () => { nameEdited = false; });
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.token = $("token-input").value.trim();
    localStorage.setItem("lanswarm-token", state.token);
    api("GET", "status").then(start).catch((e) => showLogin(e.message));
  });
  if (!state.token) showLogin("");
  else api("GET", "status").then(start).catch((e) => showLogin(e.message));
});
