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

// Forms marked data-swap-4xx show the server's 4xx answer (a form with its errors) in
// place; 403 and 5xx still go to the error message above.
document.addEventListener("htmx:beforeSwap", function (evt) {
  var status = evt.detail.xhr.status;
  if (status >= 400 && status < 500 && status !== 403 && evt.detail.elt.closest("[data-swap-4xx]")) {
    evt.detail.shouldSwap = true;
    evt.detail.isError = false;
  }
});
