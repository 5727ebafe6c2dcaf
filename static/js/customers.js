// Cascading province → city → district selects: htmx refills the next select; this
// clears the one below it so a stale district never stays selected.
document.addEventListener("change", function (evt) {
  var select = evt.target;
  if (!select.matches || !select.matches("select[data-division-level='1']")) return;
  var district = select.form && select.form.querySelector("select[data-division-level='3']");
  if (district) district.innerHTML = '<option value="">---------</option>';
});
