package io.ceiba.cli.admin;

import io.vertx.core.json.JsonArray;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** Columns aligned with spaces, a header in capitals: what a person reads in a terminal. */
final class Table {

  private final List<String[]> rows = new ArrayList<>();
  private final int columns;

  Table(String... header) {
    this.columns = header.length;
    rows.add(header);
  }

  Table row(Object... cells) {
    if (cells.length != columns) {
      throw new IllegalArgumentException("a row of " + cells.length + " cells in a table of " + columns + " columns");
    }
    String[] row = new String[columns];
    for (int i = 0; i < columns; i++) {
      row[i] = text(cells[i]);
    }
    rows.add(row);
    return this;
  }

  /** A cell: "-" for nothing, a list joined with commas. */
  static String text(Object value) {
    if (value == null) {
      return "-";
    }
    if (value instanceof JsonArray list) {
      return list.isEmpty() ? "-" : String.join(",", list.stream().map(String::valueOf).toList());
    }
    String s = String.valueOf(value);
    return s.isEmpty() ? "-" : s;
  }

  void print(PrintWriter out) {
    int[] widths = new int[columns];
    for (String[] row : rows) {
      for (int i = 0; i < columns; i++) {
        widths[i] = Math.max(widths[i], row[i].length());
      }
    }
    for (String[] row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < columns; i++) {
        line.append(row[i]);
        if (i < columns - 1) {
          line.append(" ".repeat(widths[i] - row[i].length() + 2));
        }
      }
      out.println(line);
    }
  }
}
