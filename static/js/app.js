// Site-wide behaviour. htmx sends the CSRF token from <body hx-headers>.
document.addEventListener("htmx:responseError", function (evt) {
  var box = document.querySelector(".messages") || (function () {
    var ul = document.createElement("ul");
    ul.className = "messages";
    document.querySelector("main").prepend(ul);
    return ul;
  })();
  var li = document.createElement("li");
  li.className = "msg-error";
  var text = evt.detail.xhr.responseText || "";
  try { text = JSON.parse(text).message || text; } catch (e) { /* html body */ }
  li.textContent = text.length > 300 ? evt.detail.xhr.status + " " + evt.detail.xhr.statusText : text;
  box.appendChild(li);
});
