"""The status page: one self-contained HTML document (inline CSS and a small script that
polls ``/api/status`` every second); no external assets, works offline."""

from __future__ import annotations

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cstaserver status</title>
<style>
  :root { --fg:#1d2733; --muted:#6a7886; --line:#dfe5ea; --head:#0b4f6c; --bg:#f5f7f9; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
         color:var(--fg); background:var(--bg); }
  header { background:var(--head); color:#fff; padding:10px 20px; display:flex;
           align-items:baseline; gap:16px; }
  header h1 { font-size:18px; margin:0; font-weight:600; }
  header .status { font-size:13px; opacity:.9; }
  main { display:grid; grid-template-columns:repeat(auto-fit, minmax(560px, 1fr));
         gap:14px; padding:14px 20px; }
  section { background:#fff; border:1px solid var(--line); border-radius:6px;
            padding:8px 12px 12px; }
  section h2 { font-size:14px; margin:4px 0 8px; color:var(--head); }
  section h2 .count { color:var(--muted); font-weight:normal; margin-left:6px; }
  table { width:100%; border-collapse:collapse; font-size:13px; }
  th, td { text-align:left; padding:3px 6px; border-bottom:1px solid var(--line);
           vertical-align:top; }
  th { color:var(--muted); font-weight:600; }
  td.empty { color:var(--muted); font-style:italic; }
  .state { display:inline-block; padding:0 6px; border-radius:9px; font-size:12px;
           margin:1px 2px; background:#e8edf1; }
  .state.alerting { background:#ffe9a8; } .state.connected { background:#c9f0cf; }
  .state.hold { background:#d9e3ff; } .state.initiated { background:#f0e0ff; }
  .state.queued { background:#ffd9c2; } .state.fail { background:#ffc9c9; }
  .state.agentReady { background:#c9f0cf; } .state.agentBusy { background:#ffe9a8; }
  .state.agentNotReady { background:#e8edf1; } .state.agentWorkingAfterCall { background:#d9e3ff; }
  footer { color:var(--muted); padding:0 20px 14px; font-size:12px; }
</style>
</head>
<body>
<header><h1>cstaserver &mdash; MX-ONE CSTA Server simulation</h1>
<span class="status" id="system">loading&hellip;</span></header>
<main>
  <section><h2>CSTA servers<span class="count" id="servers-count"></span></h2>
    <table id="servers"></table></section>
  <section><h2>Calls in progress<span class="count" id="calls-count"></span></h2>
    <table id="calls"></table></section>
  <section><h2>Connected clients<span class="count" id="clients-count"></span></h2>
    <table id="clients"></table></section>
  <section><h2>Application sessions<span class="count" id="sessions-count"></span></h2>
    <table id="sessions"></table></section>
  <section><h2>Monitored devices and calls<span class="count" id="monitors-count"></span></h2>
    <table id="monitors"></table></section>
  <section><h2>ACD groups, agents and queues<span class="count" id="acd-count"></span></h2>
    <table id="acd"></table></section>
</main>
<footer>Refreshed every second from <code>/api/status</code>. SOAP endpoint
<code>/csta</code>, WSDL <code>/csta?wsdl</code>.</footer>
<script>
"use strict";
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function states(items, key) {
  const td = el("td");
  for (const item of items) {
    const s = el("span", item.label, "state " + item.state);
    td.appendChild(s);
  }
  return td;
}
function fill(id, heads, rows, cells) {
  const table = document.getElementById(id);
  table.replaceChildren();
  const tr = el("tr");
  for (const h of heads) tr.appendChild(el("th", h));
  table.appendChild(tr);
  if (!rows.length) {
    const r = el("tr"), td = el("td", "none", "empty");
    td.colSpan = heads.length; r.appendChild(td); table.appendChild(r);
  }
  for (const row of rows) {
    const r = el("tr");
    for (const c of cells(row)) r.appendChild(c instanceof Node ? c : el("td", c ?? "-"));
    table.appendChild(r);
  }
  document.getElementById(id + "-count").textContent = "(" + rows.length + ")";
}
function render(s) {
  document.getElementById("system").textContent =
    "system status: " + s.system_status + " \\u2014 " + new Date().toLocaleTimeString();
  fill("servers", ["LIM", "type", "port", "TLS", "web", "authentication"], s.servers,
       r => [r.lim, r.type, r.port, r.tls_port, r.web_port, r.authentication]);
  fill("calls", ["call", "calling", "called", "connections"], s.calls,
       r => [r.id, r.calling, r.called,
             states(r.connections.map(c => ({label: c.device + " " + c.state, state: c.state})))]);
  fill("clients", ["#", "profile", "peer", "session", "requests", "events", "monitors"],
       s.clients, r => [r.id, r.profile, r.peer, r.session, r.requests, r.events, r.monitors]);
  fill("sessions", ["session", "application", "user", "duration s", "attached", "monitors"],
       s.sessions, r => [r.id, r.application, r.user, r.duration, r.attached, r.monitors]);
  fill("monitors", ["crossRefID", "kind", "object", "owner", "events"], s.monitors,
       r => [r.xref, r.kind, r.object, r.owner, r.events]);
  fill("acd", ["group", "queued", "agents"], s.acd,
       r => [r.group, r.queued + " / " + r.queue_limit,
             states(r.agents.map(a => ({label: a.agent + "@" + a.device + " " + a.state,
                                        state: a.state})))]);
}
async function poll() {
  try {
    const response = await fetch("api/status", {cache: "no-store"});
    if (response.ok) render(await response.json());
    else document.getElementById("system").textContent = "status: HTTP " + response.status;
  } catch (e) {
    document.getElementById("system").textContent = "server unreachable";
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
"""
