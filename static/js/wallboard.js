// Supervisor wallboard: /ws/wallboard/ sends a full "snapshot" on connect (and every few
// seconds), and the bridge's "call.update" / "seat.update" summaries in between. This script
// keeps the page's state from them with the same rules as telephony/supervision/selectors.py
// (live call = in progress and not ended; waiting = queued and not answered), redraws the
// tiles, queues, agent grid and live calls, and feeds the ECharts calls-per-minute line.
// Supervision actions are HTTP POSTs (permission-checked and audited on the server).
(function () {
  "use strict";
  var node = document.getElementById("wallboard-config");
  if (!node) { return; }
  var config = JSON.parse(node.textContent);
  var labels = config.labels || {};
  var state = null;          // the last snapshot, kept current by deltas
  var live = {};             // call id -> summary, calls in progress
  var outcomes = {};         // call id -> last known outcome (for today's counters)
  var seen = {};             // call ids already counted in the chart
  var chart = null;
  var socket = null, attempt = 0, stopped = false, pingTimer = null;

  function $(id) { return document.getElementById(id); }
  function esc(text) {
    return String(text === null || text === undefined ? "" : text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function clock(seconds) {
    seconds = Math.max(Math.floor(seconds || 0), 0);
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }
  function age(iso) { return iso ? (Date.now() - Date.parse(iso)) / 1000 : 0; }
  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.getAttribute("content") : "";
  }
  function setWsState(name, text) {
    var el = $("ws-state");
    if (el) { el.dataset.state = name; el.textContent = text; }
    document.body.dataset.ws = name;
  }

  // --- state ----------------------------------------------------------------------------
  function isLive(call) { return call.outcome === "in_progress" && !call.ended_at; }

  function viewOf(seat) {
    if (seat.status === "Logged Out") { return "logged_out"; }
    if (seat.state === "Receiving") { return "ringing"; }
    var onCall = seat.call_id && live[seat.call_id] && live[seat.call_id].answered_at;
    if (seat.state === "In a queue call" || onCall) { return "talking"; }
    if (seat.status === "On Break") { return seat.reason === "acw" ? "acw" : "not_ready"; }
    return "ready";
  }

  function applySnapshot(snap) {
    state = snap;
    live = {};
    (snap.live_calls || []).forEach(function (c) { live[c.id] = c; outcomes[c.id] = c.outcome; });
    seen = {};
    Object.keys(live).forEach(function (id) { seen[id] = true; });
    render();
    drawChart();
  }

  function queueOf(number) {
    if (!state) { return null; }
    for (var i = 0; i < state.queues.length; i++) {
      if (state.queues[i].number === number) { return state.queues[i]; }
    }
    return null;
  }

  function seatOf(id) {
    if (!state) { return null; }
    for (var i = 0; i < state.seats.length; i++) {
      if (state.seats[i].seat_id === id) { return state.seats[i]; }
    }
    return null;
  }

  function countChart(call) {
    if (!state || seen[call.id] || !call.created_at) { return; }
    // Calls started before the snapshot are already in its counts.
    if (Date.parse(call.created_at) < Date.parse(state.at)) { return; }
    seen[call.id] = true;
    var pm = state.per_minute, minute = new Date(Date.parse(call.created_at));
    minute.setSeconds(0, 0);
    var iso = minute.getTime();
    var idx = -1;
    for (var i = pm.minutes.length - 1; i >= 0; i--) {
      if (Date.parse(pm.minutes[i]) === iso) { idx = i; break; }
    }
    if (idx < 0 && iso > Date.parse(pm.minutes[pm.minutes.length - 1])) {
      shiftChart(iso);
      idx = pm.minutes.length - 1;
    }
    if (idx < 0) { return; }
    var series = null;
    pm.series.forEach(function (s) { if (s.station_id === call.station_id) { series = s; } });
    if (!series) {
      series = { station_id: call.station_id, name: "", counts: pm.minutes.map(function () { return 0; }) };
      pm.series.push(series);
    }
    series.counts[idx] += 1;
  }

  function shiftChart(untilMs) {
    var pm = state.per_minute;
    var last = Date.parse(pm.minutes[pm.minutes.length - 1]);
    while (last < untilMs) {
      last += 60000;
      pm.minutes.push(new Date(last).toISOString());
      pm.minutes.shift();
      pm.series.forEach(function (s) { s.counts.push(0); s.counts.shift(); });
    }
  }

  function applyCall(call) {
    if (!state) { return; }
    var before = outcomes[call.id];
    outcomes[call.id] = call.outcome;
    countChart(call);
    if (isLive(call)) { live[call.id] = call; } else { delete live[call.id]; }
    var q = queueOf(call.hotline);
    if (q && before !== call.outcome) {
      if (call.outcome === "answered") { q.answered_today += 1; }
      if (call.outcome === "abandoned") { q.abandoned_today += 1; }
      if (call.outcome === "overflow") { q.overflow_today += 1; }
    }
    if (call.seat_id) {
      var seat = seatOf(call.seat_id);
      if (seat) { seat.call_id = isLive(call) ? call.id : (seat.call_id === call.id ? null : seat.call_id); }
    }
    render();
  }

  function applySeat(msg) {
    if (!state) { return; }
    var seat = seatOf(msg.seat_id);
    if (!seat) { send({ type: "snapshot" }); return; }  // a new seat: ask for the full picture
    ["status", "state", "reason", "status_at", "state_at", "user_id"].forEach(function (k) {
      if (msg[k] !== undefined) { seat[k] = msg[k]; }
    });
    var times = [seat.status_at, seat.state_at].filter(Boolean).map(Date.parse);
    seat.since = times.length ? new Date(Math.max.apply(null, times)).toISOString() : null;
    render();
  }

  // --- drawing --------------------------------------------------------------------------
  function derived() {
    var byHotline = {}, total = 0, waiting = 0, longest = 0;
    Object.keys(live).forEach(function (id) {
      var c = live[id];
      total += 1;
      var h = byHotline[c.hotline] || (byHotline[c.hotline] = { channels: 0, waiting: 0, oldest: null });
      h.channels += 1;
      if (c.queued_at && !c.answered_at) {
        h.waiting += 1; waiting += 1;
        var t = Date.parse(c.queued_at);
        if (h.oldest === null || t < h.oldest) { h.oldest = t; }
        longest = Math.max(longest, (Date.now() - t) / 1000);
      }
    });
    return { byHotline: byHotline, total: total, waiting: waiting, longest: longest };
  }

  function setText(id, text) { var el = $(id); if (el) { el.textContent = text; } }

  function render() {
    if (!state) { return; }
    var d = derived();
    state.seats.forEach(function (s) { s.view = viewOf(s); });
    var counts = {};
    state.seats.forEach(function (s) { counts[s.view] = (counts[s.view] || 0) + 1; });
    setText("wb-trunks-used", d.total);
    setText("wb-trunks-capacity", state.trunks.capacity);
    var tile = document.querySelector('[data-tile="trunks"]');
    if (tile) { tile.classList.toggle("wb-hot", d.total >= state.trunks.capacity * 0.9); }
    setText("wb-waiting", d.waiting);
    setText("wb-longest", clock(d.longest));
    setText("wb-idle", counts.ready || 0);
    setText("wb-logged-in", state.seats.length - (counts.logged_out || 0));
    setText("wb-talking", counts.talking || 0);
    var ov = state.overflow;
    setText("wb-overflow", !ov.known ? labels.unknown : (ov.on.length ? labels.on + ": " + ov.on.join(", ") : labels.off));
    setText("wb-callbacks", state.callback_backlog === null ? "—" : state.callback_backlog);
    setText("wb-at", new Date().toTimeString().slice(0, 8));
    renderQueues(d);
    renderSeats();
    renderCalls();
  }

  function renderQueues(d) {
    var body = document.querySelector("#wb-queues tbody");
    if (!body) { return; }
    body.innerHTML = state.queues.map(function (q) {
      var h = d.byHotline[q.number] || { channels: 0, waiting: 0, oldest: null };
      var sl = q.answered_today ? q.service_level_today : null;
      var on = q.overflow_on;
      return '<tr data-hotline="' + esc(q.number) + '"><td>' + esc(q.number) + "</td><td>" + esc(q.station) + "</td>" +
        '<td class="num" data-field="waiting">' + h.waiting + "</td>" +
        '<td class="num" data-field="longest">' + clock(h.oldest ? (Date.now() - h.oldest) / 1000 : 0) + "</td>" +
        '<td class="num" data-field="channels">' + h.channels + (q.capacity ? " / " + esc(q.capacity) : "") + "</td>" +
        '<td class="num" data-field="answered">' + q.answered_today + "</td>" +
        '<td class="num" data-field="abandoned">' + q.abandoned_today + "</td>" +
        '<td class="num" data-field="overflow_today">' + q.overflow_today + "</td>" +
        '<td class="num" data-field="sl">' + (sl === null || sl === undefined ? "—" : Math.round(sl * 100) + "%") + "</td>" +
        '<td data-field="overflow_on">' + (on === null ? esc(labels.unknown) : (on ? '<span class="badge wb-alert">' + esc(labels.on) + "</span>" : esc(labels.off))) + "</td></tr>";
    }).join("");
  }

  function renderSeats() {
    var list = $("wb-seats");
    if (!list) { return; }
    var views = labels.views || {};
    list.innerHTML = state.seats.map(function (s) {
      return '<li class="wb-seat view-' + esc(s.view) + '" data-seat="' + s.seat_id + '" data-view="' + esc(s.view) + '">' +
        '<span class="wb-ext">' + esc(s.extension) + "</span>" +
        '<span class="wb-agent">' + esc(s.agent_name || (s.user_id ? "#" + s.user_id : "—")) + "</span>" +
        '<span class="wb-state">' + esc(views[s.view] || s.view) + (s.reason && s.view === "not_ready" ? " · " + esc(s.reason) : "") + "</span>" +
        '<span class="wb-since">' + (s.since && s.view !== "logged_out" ? clock(age(s.since)) : "") + "</span>" +
        seatActions(s) + "</li>";
    }).join("");
  }

  // Force not-ready / force logout: only for a staffed seat, only for supervisors.
  function seatActions(s) {
    if (!config.can_supervise || !config.seat_force_url || !s.user_id || s.view === "logged_out") { return ""; }
    var acts = labels.seat_actions || {};
    return '<span class="wb-seat-actions">' + Object.keys(acts).filter(function (a) {
      return !(a === "not_ready" && s.view === "not_ready");
    }).map(function (a) {
      return '<button type="button" class="wb-seat-act" data-action="' + esc(a) + '" data-seat-id="' + s.seat_id + '">' + esc(acts[a]) + "</button>";
    }).join("") + "</span>";
  }

  function renderCalls() {
    var body = document.querySelector("#wb-calls tbody");
    if (!body) { return; }
    var ext = {};
    state.seats.forEach(function (s) { ext[s.seat_id] = s.extension; });
    var modes = labels.modes || {};
    var calls = Object.keys(live).map(function (id) { return live[id]; })
      .sort(function (a, b) { return Date.parse(a.created_at) - Date.parse(b.created_at); });
    body.innerHTML = calls.map(function (c) {
      var st, since;
      if (c.answered_at) { st = labels.talking; since = c.answered_at; }
      else if (c.queued_at) { st = labels.waiting; since = c.queued_at; }
      else { st = labels.in_ivr; since = c.created_at; }
      var actions = "";
      if (config.can_supervise) {
        actions = '<td class="wb-actions">' + Object.keys(modes).map(function (m) {
          return '<button type="button" class="wb-act" data-mode="' + esc(m) + '" data-call="' + c.id + '">' + esc(modes[m]) + "</button>";
        }).join("") + "</td>";
      }
      return '<tr data-call="' + c.id + '"><td>' + esc(c.hotline || "—") + "</td><td>" + esc(st) + "</td><td>" +
        esc(ext[c.seat_id] || "—") + '</td><td class="num">' + clock(age(since)) + "</td>" + actions + "</tr>";
    }).join("");
  }

  function drawChart() {
    var el = $("wb-chart");
    if (!el || !window.echarts || !state) { return; }
    if (!chart) {
      chart = window.echarts.init(el);
      window.addEventListener("resize", function () { chart.resize(); });
    }
    var pm = state.per_minute;
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { type: "scroll" },
      grid: { left: 40, right: 16, top: 32, bottom: 24 },
      xAxis: { type: "category", boundaryGap: false, data: pm.minutes.map(function (m) { return new Date(m).toTimeString().slice(0, 5); }) },
      yAxis: { type: "value", minInterval: 1, name: labels.calls_per_minute },
      series: pm.series.map(function (s) {
        return { name: s.name || labels.no_station, type: "line", showSymbol: false, data: s.counts };
      })
    }, { replaceMerge: ["series"] });
  }

  // --- supervision actions ----------------------------------------------------------------
  // One POST for every action button: the server answers {message} in JSON (4xx on refusal).
  function postAction(button, url, field, value) {
    button.disabled = true;
    var body = new URLSearchParams();
    body.set(field, value);
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (response) {
      return response.json().catch(function () { return { message: response.statusText }; })
        .then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      var out = $("supervise-result");
      if (out) {
        out.textContent = result.data.message || "";
        out.dataset.ok = result.ok ? "1" : "0";
      }
    }).catch(function () {
      var out = $("supervise-result");
      if (out) { out.textContent = labels.disconnected; out.dataset.ok = "0"; }
    }).then(function () { button.disabled = false; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".wb-act") : null;
    if (!button) { return; }
    var mode = button.dataset.mode;
    if (mode === "hangup" && !window.confirm(labels.confirm_hangup)) { return; }
    postAction(button, config.supervise_url.replace("{id}", button.dataset.call), "mode", mode);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".wb-seat-act") : null;
    if (!button) { return; }
    var action = button.dataset.action;
    if (action === "logout" && !window.confirm(labels.confirm_logout)) { return; }
    postAction(button, config.seat_force_url.replace("{id}", button.dataset.seatId), "action", action);
  });

  // --- socket ---------------------------------------------------------------------------
  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(message)); }
  }

  function connect() {
    if (stopped) { return; }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    setWsState("connecting", labels.connecting);
    socket = new WebSocket(scheme + window.location.host + config.ws_path);
    socket.onopen = function () {
      attempt = 0;
      setWsState("connected", labels.connected);
      clearInterval(pingTimer);
      pingTimer = setInterval(function () { send({ type: "ping" }); }, 25000);
    };
    socket.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (_e) { return; }
      if (msg.type === "snapshot") { applySnapshot(msg); }
      else if (msg.type === "call.update" && msg.call) { applyCall(msg.call); }
      else if (msg.type === "seat.update" && msg.seat) { applySeat(msg.seat); }
    };
    socket.onclose = function (event) {
      clearInterval(pingTimer);
      if (event.code === 4403) {
        stopped = true;
        setWsState("refused", labels.refused);
        return;
      }
      setWsState("disconnected", labels.disconnected);
      attempt += 1;
      setTimeout(connect, Math.min(1000 * Math.pow(2, attempt), 15000));
    };
  }

  applySnapshot(config.snapshot);
  setInterval(function () {
    if (!state) { return; }
    var last = Date.parse(state.per_minute.minutes[state.per_minute.minutes.length - 1]);
    if (Date.now() - last >= 60000) { shiftChart(Date.now() - (Date.now() % 60000)); drawChart(); }
    render();
  }, 1000);
  setInterval(drawChart, 5000);
  connect();
})();
