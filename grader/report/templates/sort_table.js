document.querySelectorAll("#alunos th.sortable").forEach(function (th, col) {
  th.addEventListener("click", function () {
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var body = th.closest("table").tBodies[0];
    var asc = !th.classList.contains("asc");
    th.parentNode.querySelectorAll("th").forEach(function (h) { h.classList.remove("asc", "desc"); });
    th.classList.add(asc ? "asc" : "desc");
    var numeric = th.dataset.type === "num";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].dataset.sort || a.cells[index].textContent;
      var y = b.cells[index].dataset.sort || b.cells[index].textContent;
      var r = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, "pt-BR", {numeric: true});
      return asc ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
