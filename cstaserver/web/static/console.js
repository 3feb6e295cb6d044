"use strict";
// The cstaserver console (docs/console.md): the exchange as the JSON API reads it (/api/v1),
// kept live by the event stream (/api/v1/events), driven by the API's actions.
//
// Logins: a web account for reads, the event stream and the wire traces; an admin account
// (optional) for actions. Both are kept in this closure only: never in storage or cookies.
// Requests carry them in an Authorization header with credentials "omit", so a refused login
// comes back to this script instead of opening the browser's own login dialog. A WebSocket
// cannot carry a header: the stream's URL carries the web account (user:password@host).
(() => {
  const API = "api/v1"; // relative: the web port and the XML port's HTTP side alike
  const FULL_REFRESH_MS = 30000; // the safety net: the stream keeps the page current
  const FLUSH_MS = 100; // events within this time are read back together...
  const FLUSH_GAP_MS = 300; // ...and read-backs start at least this far apart under traffic
  const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000]; // stream reconnects, capped
  const TRACE_KEEP = 300; // wire messages shown per association (the download has them all)
  const MANY_DEVICES = 25; // more changed devices than this: read the whole list

  const view = {
    devices: new Map(), // number -> device (GET /devices)
    calls: [],
    groups: [],
    servers: [],
    associations: [],
  };
  let web = null; // {user, password, header}
  let admin = null; // {user, header}
  let selected = null; // the device number of the panel
  let trace = null; // {id, last: the last seq shown, shown, loading, pending}
  let socket = null;
  let attempts = 0;
  let connectedOnce = false;
  let reconnectTimer = null;
  let refreshTimer = null;
  const dirty = new Set();
  let flushTimer = null;
  let flushing = false;
  let flushAgain = false;
  let lastFlush = 0;

  const $ = (id) => document.getElementById(id);

  // -- small DOM helpers ------------------------------------------------------------------
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = String(value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const td = (...children) => el("td", null, ...(children.length ? children : ["-"]));
  const chip = (text, state, attributes) =>
    el("span", { class: "state " + state, text, ...(attributes || {}) });

  function fillTable(id, heads, rows, makeRow) {
    const table = $(id);
    const active = document.activeElement;
    const focusKey = active && table.contains(active) ? active.dataset.focusKey : undefined;
    const caption = table.querySelector("caption");
    table.replaceChildren(...(caption ? [caption] : []));
    table.append(el("thead", null, el("tr", null, ...heads.map((h) => el("th", { scope: "col", text: h })))));
    const body = el("tbody");
    if (!rows.length) {
      body.append(el("tr", null, el("td", { class: "empty", colspan: heads.length, text: "none" })));
    }
    for (const row of rows) body.append(makeRow(row));
    table.append(body);
    $(id + "-count").textContent = "(" + rows.length + ")";
    if (focusKey !== undefined) {
      const again = table.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
      if (again) again.focus();
    }
  }

  function say(id, text, isError) {
    const node = $(id);
    node.textContent = text;
    node.classList.toggle("error", Boolean(isError));
  }

  function setStream(state, text) {
    const node = $("stream");
    node.dataset.state = state;
    node.textContent = text;
  }

  // -- the JSON API --------------------------------------------------------------------------
  function basic(user, password) {
    const bytes = new TextEncoder().encode(user + ":" + password);
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return "Basic " + btoa(binary);
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, account, body) {
    const headers = { Accept: "application/json" };
    if (account) headers.Authorization = account.header;
    const init = { method, headers, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(API + path, init);
    } catch (error) {
      throw new ApiError(0, "the server cannot be reached");
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = data && data.error; // {code, message} from the API, text from the stream
      const text = error && typeof error === "object" ? error.message : error;
      throw new ApiError(response.status, text || "HTTP " + response.status);
    }
    return data;
  }

  // -- logging in and out --------------------------------------------------------------------
  async function logIn(event) {
    event.preventDefault();
    const webUser = $("web-user").value.trim();
    const adminUser = $("admin-user").value.trim();
    const candidate = {
      web: { user: webUser, password: $("web-password").value },
      admin: adminUser ? { user: adminUser, password: $("admin-password").value } : null,
    };
    candidate.web.header = basic(candidate.web.user, candidate.web.password);
    if (candidate.admin) candidate.admin.header = basic(adminUser, candidate.admin.password);
    $("login-submit").disabled = true;
    say("login-message", "checking\u2026");
    try {
      await api("GET", "/servers", candidate.web).catch((error) => {
        throw new Error("web account: " + error.message);
      });
      if (candidate.admin) {
        await api("GET", "/servers", candidate.admin).catch((error) => {
          throw new Error("admin account: " + error.message);
        });
      }
    } catch (error) {
      say("login-message", error.message, true);
      return;
    } finally {
      $("login-submit").disabled = false;
    }
    web = candidate.web;
    admin = candidate.admin ? { user: candidate.admin.user, header: candidate.admin.header } : null;
    $("web-password").value = "";
    $("admin-password").value = "";
    say("login-message", "");
    $("login").hidden = true;
    $("console").hidden = false;
    $("logout").hidden = false;
    $("refresh").hidden = false;
    $("who").textContent = "web: " + web.user + (admin ? " \u00b7 admin: " + admin.user : " \u00b7 read only");
    await refreshAll();
    openStream();
    refreshTimer = setInterval(refreshAll, FULL_REFRESH_MS);
  }

  function logOut(reason) {
    web = null;
    admin = null;
    clearInterval(refreshTimer);
    clearTimeout(reconnectTimer);
    clearTimeout(flushTimer);
    refreshTimer = reconnectTimer = flushTimer = null;
    connectedOnce = false;
    attempts = 0;
    if (socket) {
      const closing = socket;
      socket = null;
      closing.close(1000);
    }
    closeTrace();
    selected = null;
    $("console").hidden = true;
    $("logout").hidden = true;
    $("refresh").hidden = true;
    $("login").hidden = false;
    $("who").textContent = "";
    setStream("offline", "not logged in");
    say("login-message", typeof reason === "string" ? reason : "", typeof reason === "string");
    $("web-user").focus();
  }

  function readFailed(error) {
    if (error.status === 401 || error.status === 403) {
      logOut("the web account is no longer accepted: " + error.message);
    } else {
      say("action-result", "reading the exchange failed: " + error.message, true);
    }
  }

  // -- reading the exchange ------------------------------------------------------------------
  async function refreshAll() {
    if (!web) return;
    try {
      const [devices, calls, groups, servers, associations] = await Promise.all(
        ["/devices", "/calls", "/groups", "/servers", "/associations"].map((p) => api("GET", p, web)),
      );
      if (!web) return;
      view.devices = new Map(devices.devices.map((d) => [d.number, d]));
      view.calls = calls.calls;
      view.groups = groups.groups;
      view.servers = servers.servers;
      view.associations = associations.associations;
      renderAll();
    } catch (error) {
      readFailed(error);
    }
  }

  // Switch events name the devices they concern: read those back (with the calls and groups)
  // once the burst is over, instead of modelling the switch here.
  function touched(devices) {
    for (const number of devices || []) dirty.add(String(number));
    if (flushTimer) return;
    const wait = Math.max(FLUSH_MS, lastFlush + FLUSH_GAP_MS - Date.now());
    flushTimer = setTimeout(flush, wait);
  }

  async function flush() {
    flushTimer = null;
    if (flushing) {
      flushAgain = true;
      return;
    }
    flushing = true;
    lastFlush = Date.now();
    try {
      const numbers = [...dirty].filter((n) => view.devices.has(n));
      dirty.clear();
      const whole = numbers.length > MANY_DEVICES;
      const [calls, groups, devices] = await Promise.all([
        api("GET", "/calls", web),
        api("GET", "/groups", web),
        whole
          ? api("GET", "/devices", web).then((answer) => answer.devices)
          : Promise.all(
              numbers.map((n) =>
                api("GET", "/devices/" + encodeURIComponent(n), web).then((a) => a.device, () => null),
              ),
            ),
      ]);
      if (!web) return;
      view.calls = calls.calls;
      view.groups = groups.groups;
      for (const device of devices) if (device) view.devices.set(device.number, device);
      renderAll();
    } catch (error) {
      if (web) readFailed(error);
    } finally {
      flushing = false;
      if (flushAgain) {
        flushAgain = false;
        touched([]);
      }
    }
  }

  // -- the event stream ----------------------------------------------------------------------
  function streamFilter() {
    return trace
      ? { kinds: ["switch", "wire"], association: [trace.id] }
      : { kinds: ["switch"], association: [] };
  }

  function openStream() {
    if (!web) return;
    const filter = streamFilter();
    const query = "kinds=" + filter.kinds.join(",") + (trace ? "&association=" + trace.id : "");
    const path = new URL(API + "/events", location.href).pathname;
    const login = encodeURIComponent(web.user) + ":" + encodeURIComponent(web.password) + "@";
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    setStream("connecting", "connecting\u2026");
    const ws = new WebSocket(scheme + "//" + login + location.host + path + "?" + query);
    socket = ws;
    ws.onmessage = (message) => {
      if (socket === ws) received(JSON.parse(message.data));
    };
    ws.onclose = (closed) => {
      if (socket !== ws) return; // replaced, or logged out
      socket = null;
      reconnectLater(closed.code === 1008 ? closed.reason : "");
    };
  }

  function reconnectLater(why) {
    const delay = BACKOFF_MS[Math.min(attempts, BACKOFF_MS.length - 1)];
    attempts += 1;
    setStream("connecting", `stream closed${why ? " (" + why + ")" : ""}; again in ${delay / 1000} s`);
    reconnectTimer = setTimeout(reconnect, delay);
  }

  async function reconnect() {
    reconnectTimer = null;
    if (!web) return;
    try {
      await api("GET", "/time", web); // a login check: never retry the stream with a bad one
    } catch (error) {
      if (error.status === 401 || error.status === 403) readFailed(error);
      else if (web) reconnectLater("");
      return;
    }
    openStream();
  }

  function subscribe() {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ subscribe: streamFilter() }));
    }
  }

  function received(message) {
    switch (message.kind) {
      case "hello":
        attempts = 0;
        setStream("live", "live (" + message.user + ")");
        if (connectedOnce) refreshAll(); // what happened while the stream was down
        connectedOnce = true;
        subscribe(); // the trace may have been opened while connecting
        break;
      case "switch":
        touched(message.devices);
        break;
      case "wire":
        traceReceived(message);
        break;
      case "error":
        say("action-result", "event stream: " + message.error, true);
        break;
      default:
        break; // "subscribed"
    }
  }

  // -- rendering -----------------------------------------------------------------------------
  function renderAll() {
    renderDevices();
    renderPanel();
    renderCalls();
    renderGroups();
    renderServers();
    renderAssociations();
  }

  function agentText(agent) {
    return agent ? `${agent.id}${agent.group ? " in " + agent.group : ""}: ${agent.state}` : null;
  }

  function renderDevices() {
    const rows = [...view.devices.values()];
    fillTable("devices", ["number", "kind", "name", "state", "agent"], rows, (d) =>
      el(
        "tr",
        { "data-device": d.number, class: d.number === selected ? "selected" : null },
        td(
          el("button", {
            type: "button",
            class: "device",
            text: d.number,
            "data-device": d.number,
            "data-focus-key": d.number,
            "aria-pressed": d.number === selected ? "true" : "false",
            title: `Act at ${d.number} (${d.kind}, ${d.name})`,
            onclick: () => select(d.number),
          }),
        ),
        td(d.kind),
        td(d.name),
        td(chip(d.state, d.state, { "data-state-of": d.number })),
        td(d.agent ? chip(agentText(d.agent), d.agent.state) : null),
      ),
    );
  }

  function agentPosition(number) {
    for (const group of view.groups) {
      const devices = (group.settings && group.settings.agent_devices) || [];
      const index = devices.indexOf(number);
      if (index >= 0) return { group: group.number, agent: group.settings.agent_ids[index] };
    }
    return null;
  }

  function select(number) {
    selected = number;
    const device = view.devices.get(number);
    const position = agentPosition(number);
    $("agent-id").value = (device && device.agent && device.agent.id) || (position && position.agent) || "";
    say("action-result", "");
    renderDevices();
    renderPanel();
    $("panel-title").focus();
  }

  function renderPanel() {
    const device = selected !== null ? view.devices.get(selected) : undefined;
    $("panel-hint").hidden = Boolean(device);
    $("panel-body").hidden = !device;
    if (!device) {
      $("panel-title").textContent = "Device";
      return;
    }
    $("panel-title").textContent = `Device ${device.number}`;
    const calls = device.connections.length
      ? device.connections.map((c) => chip(`call ${c.call} ${c.state}`, c.state))
      : ["none"];
    const details = [
      ["kind", `${device.kind} (${device.name})`],
      ["state", chip(device.state, device.state, { "data-panel-state": device.number })],
      ["public number", device.public_number],
      ["calls", calls],
      ["agent", agentText(device.agent)],
    ];
    $("panel-details").replaceChildren(
      ...details.flatMap(([name, value]) => [
        el("dt", { text: name }),
        el("dd", null, ...(Array.isArray(value) ? value : [value === null ? "-" : value])),
      ]),
    );
    const position = agentPosition(device.number);
    $("agent-keys").hidden = !(device.agent || position);
    for (const button of $("panel-body").querySelectorAll("button")) button.disabled = !admin;
    if (!admin) say("action-result", "Read only: log in with an admin account to act.");
  }

  function renderCalls() {
    fillTable("calls", ["call", "calling", "called", "connections", "group"], view.calls, (c) =>
      el(
        "tr",
        { "data-call": c.id },
        td(c.id),
        td(c.calling),
        td(c.called),
        td(...c.connections.map((k) => chip(`${k.device} ${k.state}`, k.state, { "data-connection": k.device }))),
        td(c.group),
      ),
    );
  }

  function renderGroups() {
    fillTable("groups", ["group", "kind", "routing", "queue", "agents"], view.groups, (g) =>
      el(
        "tr",
        { "data-group": g.number },
        td(`${g.number} ${g.name}`),
        td(g.kind),
        td(g.routing),
        td(g.kind === "acd" ? `${g.queue.length} / ${g.settings.queue_limit}` : null),
        td(...g.agents.map((a) => chip(`${a.id} @${a.device} ${a.state}`, a.state))),
      ),
    );
  }

  function shorten(text, most) {
    return text.length > most ? text.slice(0, most - 1) + "\u2026" : text;
  }

  function renderServers() {
    const names = { port: "", tls_port: "TLS ", web_port: "web " };
    fillTable("servers", ["LIM", "type", "ports", "TLS", "authentication"], view.servers, (s) =>
      el(
        "tr",
        null,
        td(s.lim),
        td(s.type),
        td(Object.entries(s.bound).map(([field, port]) => (names[field] ?? field + " ") + port).join(", ")),
        td(el("span", { text: shorten(String(s.tls), 32), title: s.tls })),
        td(s.authentication),
      ),
    );
  }

  function renderAssociations() {
    const heads = ["#", "profile", "server", "peer", "session", "requests", "events", "monitors"];
    fillTable("associations", heads, view.associations, (a) =>
      el(
        "tr",
        { "data-association": a.id, class: trace && trace.id === a.id ? "selected" : null },
        td(
          el("button", {
            type: "button",
            class: "id",
            text: a.id,
            "data-trace": a.id,
            "data-focus-key": "trace-" + a.id,
            "aria-pressed": trace && trace.id === a.id ? "true" : "false",
            "aria-label": `Watch the wire trace of association ${a.id}`,
            title: `Watch the wire trace of association ${a.id}`,
            onclick: () => openTrace(a.id),
          }),
        ),
        td(a.profile),
        td(a.server),
        td(a.peer),
        td(a.session),
        td(a.requests),
        td(a.events),
        td(a.monitors),
      ),
    );
  }

  // -- actions -------------------------------------------------------------------------------
  async function act(path, body, what) {
    if (!admin) {
      say("action-result", "Read only: log in with an admin account to act.", true);
      return;
    }
    const number = selected;
    say("action-result", `${what} at ${number}\u2026`);
    try {
      const answer = await api("POST", `/devices/${encodeURIComponent(number)}/${path}`, admin, body);
      if (answer.device) view.devices.set(answer.device.number, answer.device);
      renderDevices();
      renderPanel();
      const call = answer.call ? ` (call ${answer.call.id})` : "";
      say("action-result", `${what} at ${number}: done${call}`);
    } catch (error) {
      say("action-result", `${what} at ${number} refused: ${error.message}`, true);
    }
  }

  const KEYS = { answer: "answer", hangup: "hang up", hold: "hold", retrieve: "retrieve" };
  const AGENT = { login: "agent log on", ready: "agent ready", notready: "agent not ready", logout: "agent log off" };

  function keyPressed(event) {
    const button = event.target.closest("button");
    if (!button || selected === null) return;
    if (button.dataset.action) act(button.dataset.action, {}, KEYS[button.dataset.action]);
    else if (button.dataset.agent) {
      const action = button.dataset.agent;
      const agent = $("agent-id").value.trim();
      const body = { action };
      if (action === "login" && agent) body.agent = agent;
      act("agent", body, AGENT[action]);
    }
  }

  function dial(event) {
    event.preventDefault();
    const to = $("dial-to").value.trim();
    if (to) act("dial", { to }, "dial " + to);
  }

  // -- the wire trace of one association -----------------------------------------------------
  async function openTrace(id) {
    trace = { id, last: -1, shown: 0, loading: true, pending: [] };
    $("trace-title").textContent = `Wire trace of association ${id}`;
    $("trace-download").href = `${API}/associations/${id}/trace.txt`;
    $("trace-list").replaceChildren();
    $("trace-count").textContent = "";
    $("trace-panel").hidden = false;
    renderAssociations();
    subscribe(); // live messages from now on; the history below fills in what came before
    const opened = trace;
    try {
      const history = await api("GET", `/associations/${id}/trace`, web);
      if (trace !== opened) return;
      for (const message of history.messages) addTraceEntry(message);
    } catch (error) {
      if (trace !== opened) return;
      $("trace-list").append(el("li", { class: "empty", text: "no trace: " + error.message }));
    }
    trace.loading = false;
    for (const message of trace.pending) addTraceEntry(message);
    trace.pending = [];
    $("trace-title").focus();
  }

  function closeTrace() {
    trace = null;
    $("trace-panel").hidden = true;
    $("trace-list").replaceChildren();
    subscribe();
    if (web) renderAssociations();
  }

  function traceReceived(message) {
    if (!view.associations.some((a) => a.id === message.association)) touchedAssociations();
    if (!trace || message.association !== trace.id) return;
    if (trace.loading) trace.pending.push(message);
    else addTraceEntry(message);
  }

  let associationsTimer = null;
  function touchedAssociations() {
    if (associationsTimer) return;
    associationsTimer = setTimeout(async () => {
      associationsTimer = null;
      try {
        view.associations = (await api("GET", "/associations", web)).associations;
        renderAssociations();
      } catch (error) {
        if (web) readFailed(error);
      }
    }, FLUSH_MS);
  }

  function addTraceEntry(message) {
    if (message.seq <= trace.last) return; // the history and the stream overlap
    trace.last = message.seq;
    trace.shown += 1;
    const list = $("trace-list");
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    const time = (message.timestamp || "").slice(11, 23);
    const correlation = message.correlation ? ` invoke ${message.correlation}` : "";
    const head = `#${message.seq} ${time} ${message.direction} ${message.role}${correlation} ` +
      `${message.root} (${message.size} bytes${message.truncated ? ", cut" : ""})`;
    list.append(
      el("li", { class: message.direction, "data-seq": message.seq, "data-root": message.root },
        el("div", { class: "head", text: head }),
        el("pre", { text: message.xml })),
    );
    while (list.children.length > TRACE_KEEP) list.firstElementChild.remove();
    $("trace-count").textContent = `(${trace.shown} messages)`;
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  // The download goes through fetch, with the web account's header: a plain link would make
  // the browser ask for the login itself.
  async function download(event) {
    event.preventDefault();
    if (!trace) return;
    const id = trace.id;
    try {
      const response = await fetch(`${API}/associations/${id}/trace.txt`, {
        headers: { Authorization: web.header },
        credentials: "omit",
        cache: "no-store",
      });
      if (!response.ok) throw new ApiError(response.status, "HTTP " + response.status);
      const url = URL.createObjectURL(await response.blob());
      const link = el("a", { href: url, download: `association-${id}-trace.txt` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      $("trace-count").textContent = "download failed: " + error.message;
    }
  }

  // -- wiring --------------------------------------------------------------------------------
  $("login-form").addEventListener("submit", logIn);
  $("logout").addEventListener("click", () => logOut());
  $("refresh").addEventListener("click", refreshAll);
  $("dial-form").addEventListener("submit", dial);
  $("panel-body").addEventListener("click", keyPressed);
  $("trace-close").addEventListener("click", closeTrace);
  $("trace-download").addEventListener("click", download);
  $("web-user").focus();
})();
