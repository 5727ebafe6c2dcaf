// Order entry: picking products, removing lines, the new-address fields, and on the agent
// desktop opening the entry form for the caller on screen (with the call's id).
(function () {
  function fire(name) { if (window.htmx) { window.htmx.trigger(document.body, name); } }

  function toggleNewAddress(form) {
    var box = form.querySelector("#new-address-fields");
    var chosen = form.querySelector("input[name=address]:checked");
    if (box) { box.hidden = !(chosen && chosen.value === "new"); }
  }

  document.addEventListener("click", function (evt) {
    var remove = evt.target.closest(".line-remove");
    if (remove) {
      evt.preventDefault();
      remove.closest("tr").remove();
      fire("order-lines-changed");
      return;
    }
    var open = evt.target.closest("[data-order-new]");
    var panel = document.getElementById("desktop-order");
    if (open && panel && window.htmx) {
      evt.preventDefault();
      var url = open.getAttribute("href");
      var pop = open.closest(".pop") || document.querySelector("#pop .pop");
      if (pop && pop.dataset.uuid) {
        url += (url.indexOf("?") < 0 ? "?" : "&") + "call=" + encodeURIComponent(pop.dataset.uuid);
      } else if (url.indexOf("customer=") < 0) {
        document.getElementById("desktop-order-body").textContent = panel.dataset.noCall || "";
        return;
      }
      window.htmx.ajax("GET", url, { target: "#desktop-order-body", swap: "innerHTML" }).then(function () {
        panel.scrollIntoView({ block: "start" });
        var search = document.getElementById("product-search");
        if (search) { search.focus(); }
      });
    }
  });

  // Enter in the product search picks the first match instead of submitting the order.
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Enter" || !evt.target || evt.target.id !== "product-search") { return; }
    evt.preventDefault();
    var first = document.querySelector("#product-results .product-pick");
    if (first) { first.click(); }
  });

  document.addEventListener("change", function (evt) {
    var form = evt.target.form;
    if (form && form.id === "order-entry-form" && evt.target.name === "address") { toggleNewAddress(form); }
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!elt.classList || !elt.classList.contains("product-pick")) { return; }
    var results = document.getElementById("product-results");
    if (results) { results.innerHTML = ""; }
    var search = document.getElementById("product-search");
    if (search) { search.value = ""; search.focus(); }
  });
})();
