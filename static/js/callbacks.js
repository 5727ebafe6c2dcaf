// My callbacks (回电): listen on the desktop socket for callback.offered and refresh the
// page when a callback is handed to this agent (unless the agent is typing an outcome).
(function () {
  "use strict";
  var root = document.getElementById("in-hand");
  if (!root || !window.WebSocket) { return; }
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var delay = 1000;

  function typing() {
    var active = document.activeElement;
    return active && root.contains(active) && /INPUT|SELECT|TEXTAREA/.test(active.tagName);
  }

  function connect() {
    var socket = new WebSocket(scheme + window.location.host + "/ws/desktop/");
    socket.onopen = function () { delay = 1000; };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type !== "callback.offered") { return; }
      var banner = document.getElementById("callback-offered");
      if (banner) { banner.hidden = false; }
      if (!typing()) { window.location.reload(); }
    };
    socket.onclose = function (event) {
      if (event.code === 4403) { return; }  // not allowed: do not retry
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
