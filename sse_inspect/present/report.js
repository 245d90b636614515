document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    var button = th.querySelector("button");
    if (!button) return;
    button.addEventListener("click", function () {
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
        if (x === "" || y === "") return (x === "") - (y === "");  // unknown values last
        var nx = Number(x), ny = Number(y);
        var c = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
        return c * dir || Number(a.getAttribute("data-n")) - Number(b.getAttribute("data-n"));
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
