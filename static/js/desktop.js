// Agent desktop: the live socket (/ws/desktop/), the screen pop, status and dial progress.
// Server → browser messages are described in docs/telephony-contract.md; the browser sends
// only pings. Every action is an HTTP POST (htmx) so it is permission-checked and audited.
(function () {
  "use strict";
  var configNode = document.getElementById("desktop-config");
  if (!configNode) { return; }
  var config = JSON.parse(configNode.textContent);
  var labels = config.labels || {};
  var socket = null;
  var attempt = 0;
  var pingTimer = null;
  var reconnectTimer = null;
  var acwTimer = null;
  var currentCallId = null; // the uuid of the call whose pop is shown
  var stopped = false;

  function $(id) { return document.getElementById(id); }
  function fmt(text, values) {
    return String(text || "").replace(/%\((\w+)\)s/g, function (_m, key) {
      return values && values[key] !== undefined ? values[key] : "";
    });
  }
  function setWsState(state, text) {
    var node = $("ws-state");
    if (node) { node.dataset.state = state; node.textContent = text; }
    document.body.dataset.ws = state;
  }
  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.getAttribute("content") : "";
  }

  // --- status ----------------------------------------------------------------------------
  function showStatus(msg) {
    var panel = $("status-panel");
    var hasSeat = panel && panel.dataset.seat;
    if (!!msg.seat !== !!hasSeat) {
      // Logged in or out elsewhere (another tab, a supervisor): reload the panel.
      refreshPanel();
      return;
    }
    if (!msg.seat) { return; }
    var status = $("agent-status");
    if (status) {
      status.textContent = msg.status_display || msg.status;
      status.className = "agent-status status-" + String(msg.status || "").toLowerCase().replace(/[^a-z]+/g, "-");
    }
    var state = $("agent-state");
    if (state) { state.textContent = msg.state_display || msg.state; }
    var reason = $("agent-reason");
    if (reason) {
      reason.textContent = msg.reason_display || "";
      reason.className = msg.reason ? "badge" : "";
    }
    if (panel) {
      panel.dataset.status = msg.status;
      panel.dataset.reason = msg.reason || "";
    }
    var ready = $("btn-ready");
    if (ready) { ready.disabled = msg.status === "Available"; }
    var acw = $("btn-acw");
    if (acw) { acw.disabled = msg.reason === "acw"; }
    if (msg.reason === "acw") { startAcw(null); } else { stopAcw(); }
    // Messages from the bridge and from the app's own changes may arrive out of order:
    // re-read the panel (the database is the truth) once the burst is over.
    schedulePanelRefresh();
  }

  var refreshTimer = null;
  function schedulePanelRefresh() {
    if (refreshTimer) { window.clearTimeout(refreshTimer); }
    refreshTimer = window.setTimeout(function () { refreshTimer = null; refreshPanel(); }, 250);
  }

  function refreshPanel() {
    if (window.htmx && config.panel_url) {
      window.htmx.ajax("GET", config.panel_url, { target: "#status-panel", swap: "outerHTML" });
    }
  }

  // --- after-call work: count down, then post "acw_end" (the server checks too) ---------
  function startAcw(deadline) {
    var node = $("acw-countdown");
    if (!node) { return; }
    if (acwTimer) { return; }
    var end = deadline ? deadline * 1000 : Date.now() + config.acw_seconds * 1000;
    node.hidden = false;
    function tick() {
      var left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      node.textContent = fmt(labels.acw_left, { s: left });
      if (left <= 0) {
        stopAcw();
        postStatus("acw_end");
      }
    }
    tick();
    acwTimer = window.setInterval(tick, 500);
  }
  function stopAcw() {
    if (acwTimer) { window.clearInterval(acwTimer); acwTimer = null; }
    var node = $("acw-countdown");
    if (node) { node.hidden = true; }
  }
  function postStatus(action) {
    if (!window.htmx) { return; }
    window.htmx.ajax("POST", config.acw_end_url, {
      target: "#status-panel", swap: "outerHTML",
      values: { action: action }, headers: { "X-CSRFToken": csrfToken() }
    });
  }
  function syncAcwFromPanel() {
    var panel = $("status-panel");
    if (panel && panel.dataset.reason === "acw") {
      stopAcw();
      startAcw(panel.dataset.acwDeadline ? parseInt(panel.dataset.acwDeadline, 10) : null);
    } else {
      stopAcw();
    }
  }
  document.body.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail && evt.detail.target && evt.detail.target.id === "status-panel") { syncAcwFromPanel(); }
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    if ($("status-panel") && !acwTimer) { syncAcwFromPanel(); }
  });

  // --- calls -------------------------------------------------------------------------------
  function showCall(call, stateText) {
    var state = $("call-state");
    if (state) { state.textContent = stateText; state.className = ""; }
    var caller = $("call-caller");
    if (caller && call) {
      var parts = [call.caller_display];
      if (call.hotline && call.hotline.station) { parts.push(call.hotline.station); }
      if (call.customer) { parts.push(call.customer.name); }
      caller.textContent = parts.filter(Boolean).join(" · ");
    }
  }
  // Pops are keyed by the call's uuid: the bridge pushes one before the call's record is
  // written (its page waits for the record), so the call may have no id yet.
  function popShown(uuid) {
    return !!document.querySelector("#pop [data-uuid='" + uuid + "']");
  }
  function loadPop(call) {
    if (!call || !call.pop_url) { return; }
    if (currentCallId === call.uuid && popShown(call.uuid)) { return; }
    currentCallId = call.uuid;
    if (window.htmx) {
      window.htmx.ajax("GET", call.pop_url, { target: "#pop", swap: "innerHTML" });
    }
  }
  // The call left this agent before it was answered (no answer in time, the caller hung up,
  // transferred away): the pop goes, the page is ready for the next call.
  function withdrawPop(msg) {
    if (!msg.call || currentCallId !== msg.call.uuid) { return; }
    currentCallId = null;
    var pop = $("pop");
    if (pop) {
      pop.innerHTML = "";
      var note = document.createElement("p");
      note.className = "muted pop-empty pop-withdrawn";
      note.id = "pop-withdrawn";
      note.dataset.reason = msg.reason || "";
      note.textContent = labels["withdrawn_" + msg.reason] || labels.withdrawn || "";
      pop.appendChild(note);
    }
    var state = $("call-state");
    if (state) { state.textContent = labels.no_call || ""; }
    var caller = $("call-caller");
    if (caller) { caller.textContent = ""; }
  }
  // --- callbacks: the preview pop of a callback handed to this agent ------------------------
  // Built with textContent only (the payload carries customer names and numbers).
  function el(tag, className, text, attrs) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function localTime(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    return d.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  }
  function dialCallback(cb, button, result) {
    button.disabled = true;
    result.textContent = "";
    var body = new URLSearchParams();
    body.set("next", config.desktop_url || window.location.pathname);
    window.fetch(cb.dial_url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (res) {
      var ok = res.type === "opaqueredirect" || (res.status >= 200 && res.status < 400);
      result.dataset.result = ok ? "ok" : "failed";
      result.textContent = ok ? labels.callback_dialling : labels.callback_dial_failed;
      if (!ok) { button.disabled = false; }
    }).catch(function () {
      result.dataset.result = "failed";
      result.textContent = labels.callback_dial_failed;
      button.disabled = false;
    });
  }
  function showCallbackOffer(cb) {
    var box = $("callback-offer");
    if (!box || !cb) { return; }
    box.innerHTML = "";
    box.dataset.callbackId = cb.id;
    box.appendChild(el("h2", "", labels.callback_offered));
    var who = cb.customer ? cb.customer.name : labels.callback_unknown_customer;
    box.appendChild(el("p", "phone callback-number", cb.number + " · " + who));
    var where = [cb.station, cb.hotline].filter(Boolean).join(" · ");
    if (cb.airing && cb.airing.start) { where += (where ? " · " : "") + localTime(cb.airing.start); }
    if (where) { box.appendChild(el("p", "muted callback-where", where)); }
    box.appendChild(el("p", "callback-reason", labels["callback_reason_" + cb.reason] || cb.reason));
    box.appendChild(el("p", "muted callback-counts", [
      fmt(labels.callback_calls, { count: cb.call_count, at: localTime(cb.first_call_at) }),
      fmt(labels.callback_attempts, { n: cb.attempts }),
      fmt(labels.callback_priority, { n: cb.priority }),
      labels["callback_mode_" + cb.mode] || cb.mode
    ].join(" · ")));
    var actions = el("p", "callback-actions");
    var button = el("button", "button primary", labels.callback_dial, { type: "button", id: "callback-dial" });
    var result = el("span", "dial-result", "", { id: "callback-dial-result", "aria-live": "polite" });
    button.addEventListener("click", function () { dialCallback(cb, button, result); });
    actions.appendChild(button);
    if (cb.page_url) {
      actions.appendChild(document.createTextNode(" "));
      actions.appendChild(el("a", "", labels.callback_open_list, { href: cb.page_url }));
    }
    actions.appendChild(result);
    box.appendChild(actions);
    box.hidden = false;
  }

  function handle(msg) {
    switch (msg.type) {
      case "call.offered":
        showCall(msg.call, labels.offered);
        if (msg.replay && currentCallId === msg.call.uuid && popShown(msg.call.uuid)) { return; }
        currentCallId = null;
        loadPop(msg.call);
        break;
      case "call.withdrawn":
        withdrawPop(msg);
        break;
      case "call.answered":
        showCall(msg.call, labels.answered);
        break;
      case "call.ended":
        showCall(msg.call, labels.ended);
        var outcome = document.getElementById("pop-outcome");
        if (outcome && currentCallId === msg.call.uuid) { outcome.textContent = labels.ended; }
        // An answered call ends: after-call work starts by itself (if configured) for an
        // agent who was ready; it ends after its countdown, or earlier with "Ready".
        var panel = $("status-panel");
        if (config.acw_auto && msg.call.answered_at && panel && panel.dataset.status === "Available") {
          postStatus("acw");
        }
        break;
      case "agent.status":
        showStatus(msg);
        break;
      case "callback.offered":
        showCallbackOffer(msg.callback);
        break;
      case "dial.progress":
        var node = $("dial-progress");
        if (node) {
          var text = labels["stage_" + msg.stage] || msg.stage;
          node.textContent = fmt(text, { cause: msg.cause || "" });
          node.dataset.stage = msg.stage;
        }
        if (msg.stage === "connected" || msg.stage === "ringing_agent") { showCall(msg.call, text); }
        if (msg.stage === "connected") { loadPop(msg.call); }
        break;
      default:
        break;
    }
  }

  // --- the socket: reconnect with backoff; the server replays the current pop -----------
  function connect() {
    if (stopped) { return; }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    setWsState("connecting", labels.connecting);
    try {
      socket = new WebSocket(scheme + window.location.host + config.ws_path);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    socket.onopen = function () {
      attempt = 0;
      setWsState("open", labels.connected);
      if (pingTimer) { window.clearInterval(pingTimer); }
      pingTimer = window.setInterval(function () {
        if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify({ type: "ping" })); }
      }, 20000);
    };
    socket.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      handle(msg);
    };
    socket.onclose = function (event) {
      if (pingTimer) { window.clearInterval(pingTimer); pingTimer = null; }
      if (event.code === 4403) {
        stopped = true;
        setWsState("refused", labels.refused);
        return;
      }
      setWsState("closed", labels.disconnected);
      scheduleReconnect();
    };
    socket.onerror = function () { /* onclose follows */ };
  }
  function scheduleReconnect() {
    if (reconnectTimer || stopped) { return; }
    var base = Math.min(15000, 500 * Math.pow(2, attempt));
    var delay = base / 2 + Math.random() * base / 2;
    attempt += 1;
    reconnectTimer = window.setTimeout(function () { reconnectTimer = null; connect(); }, delay);
  }

  // Exposed for tests and debugging (e.g. dropping the socket on purpose).
  window.tvshopDesktop = {
    socket: function () { return socket; },
    drop: function () { if (socket) { socket.close(); } }
  };
  var pop = $("pop");
  if (pop && pop.dataset && config.current_pop_url) { currentCallId = config.current_call_uuid || null; }
  syncAcwFromPanel();
  connect();
})();
