// Sortable tables, as a progressive enhancement: each column header becomes a button that
// sorts the rows (numbers by their data-sort value) and sets aria-sort; without script the
// tables are plain, complete tables.
(function () {
  "use strict";
  var status = document.getElementById("sort-status");

  function sortKey(cell) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null) {
      raw = cell.textContent.trim();
    }
    var n = Number(raw);
    if (raw !== "" && !isNaN(n)) {
      return { num: n, text: "" };
    }
    return { num: null, text: raw.toLowerCase() };
  }

  function compare(a, b) {
    if (a.num !== null && b.num !== null) {
      return a.num - b.num;
    }
    if (a.num !== null) {
      return -1;
    }
    if (b.num !== null) {
      return 1;
    }
    return a.text.localeCompare(b.text);
  }

  function sortTable(table, index, header, name) {
    var direction = header.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    var headers = table.tHead.rows[0].cells;
    for (var h = 0; h < headers.length; h += 1) {
      headers[h].removeAttribute("aria-sort");
    }
    header.setAttribute("aria-sort", direction);
    var body = table.tBodies[0];
    var sign = direction === "ascending" ? 1 : -1;
    var rows = Array.prototype.map.call(body.rows, function (row, position) {
      return { row: row, key: sortKey(row.cells[index]), position: position };
    });
    rows.sort(function (x, y) {
      return sign * compare(x.key, y.key) || x.position - y.position;
    });
    rows.forEach(function (entry) {
      body.appendChild(entry.row);
    });
    if (status) {
      status.textContent = table.caption.textContent + ": sorted by " +
        name + ", " + direction + ".";
    }
  }

  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    if (!table.tHead || table.tBodies.length === 0 || table.tBodies[0].rows.length < 2) {
      return;
    }
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (header, index) {
      var name = header.textContent;
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = name;
      button.addEventListener("click", function () {
        sortTable(table, index, header, name);
      });
      // Chromium leaves buttons out of table headers repeated on printed pages: print a plain
      // copy of the label instead (hidden from screen readers, which read the button).
      var printed = document.createElement("span");
      printed.className = "print-label";
      printed.setAttribute("aria-hidden", "true");
      printed.textContent = name;
      header.textContent = "";
      header.appendChild(button);
      header.appendChild(printed);
    });
  });
})();
