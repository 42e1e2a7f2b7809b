package io.ceiba.cli.admin;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * A unified diff of two texts by lines (Myers' algorithm: the shortest edit script), as {@code diff -u} prints it.
 * Past {@link #MAX_EDITS} differing lines the search stops and the whole texts are shown as replaced: registries are
 * a few KB, and a diff that large says no more than that.
 */
final class LineDiff {

  static final int MAX_EDITS = 4000;

  private LineDiff() {
  }

  /** One line of the edit script: {@code ' '} kept, {@code '-'} only in the old text, {@code '+'} only in the new. */
  record Edit(char op, String line) {
  }

  static List<String> lines(String text) {
    List<String> out = new ArrayList<>(Arrays.asList(text.split("\r?\n", -1)));
    if (out.get(out.size() - 1).isEmpty()) {
      out.remove(out.size() - 1);
    }
    return out;
  }

  static List<Edit> edits(List<String> a, List<String> b) {
    int n = a.size();
    int m = b.size();
    int max = Math.min(n + m, MAX_EDITS);
    int off = max + 1;
    int[] v = new int[2 * max + 3];
    List<int[]> trace = new ArrayList<>();
    for (int d = 0; d <= max; d++) {
      trace.add(v.clone());
      for (int k = -d; k <= d; k += 2) {
        int x = k == -d || (k != d && v[k - 1 + off] < v[k + 1 + off]) ? v[k + 1 + off] : v[k - 1 + off] + 1;
        int y = x - k;
        while (x < n && y < m && a.get(x).equals(b.get(y))) {
          x++;
          y++;
        }
        v[k + off] = x;
        if (x >= n && y >= m) {
          return backtrack(a, b, trace, off);
        }
      }
    }
    List<Edit> replaced = new ArrayList<>();
    a.forEach(line -> replaced.add(new Edit('-', line)));
    b.forEach(line -> replaced.add(new Edit('+', line)));
    return replaced;
  }

  private static List<Edit> backtrack(List<String> a, List<String> b, List<int[]> trace, int off) {
    List<Edit> reversed = new ArrayList<>();
    int x = a.size();
    int y = b.size();
    for (int d = trace.size() - 1; d >= 0; d--) {
      int[] v = trace.get(d);
      int k = x - y;
      int prevK = k == -d || (k != d && v[k - 1 + off] < v[k + 1 + off]) ? k + 1 : k - 1;
      int prevX = d == 0 ? 0 : v[prevK + off];
      int prevY = d == 0 ? 0 : prevX - prevK;
      while (x > prevX && y > prevY) {
        reversed.add(new Edit(' ', a.get(x - 1)));
        x--;
        y--;
      }
      if (d > 0) {
        if (x == prevX) {
          reversed.add(new Edit('+', b.get(y - 1)));
        } else {
          reversed.add(new Edit('-', a.get(x - 1)));
        }
        x = prevX;
        y = prevY;
      }
    }
    Collections.reverse(reversed);
    return reversed;
  }

  /** The unified diff with {@code context} lines around each change; empty when the texts have the same lines. */
  static String unified(String nameA, String a, String nameB, String b, int context) {
    List<Edit> edits = edits(lines(a), lines(b));
    List<Integer> changes = new ArrayList<>();
    for (int i = 0; i < edits.size(); i++) {
      if (edits.get(i).op() != ' ') {
        changes.add(i);
      }
    }
    if (changes.isEmpty()) {
      return "";
    }
    StringBuilder out = new StringBuilder().append("--- ").append(nameA).append('\n').append("+++ ").append(nameB).append('\n');
    // line numbers (1-based) in a and b at each edit index
    int[] lineA = new int[edits.size() + 1];
    int[] lineB = new int[edits.size() + 1];
    lineA[0] = 1;
    lineB[0] = 1;
    for (int i = 0; i < edits.size(); i++) {
      char op = edits.get(i).op();
      lineA[i + 1] = lineA[i] + (op == '+' ? 0 : 1);
      lineB[i + 1] = lineB[i] + (op == '-' ? 0 : 1);
    }
    int c = 0;
    while (c < changes.size()) {
      int start = Math.max(0, changes.get(c) - context);
      int end = changes.get(c);
      while (c + 1 < changes.size() && changes.get(c + 1) - end <= 2 * context) {
        end = changes.get(++c);
      }
      c++;
      end = Math.min(edits.size(), end + context + 1);
      int countA = lineA[end] - lineA[start];
      int countB = lineB[end] - lineB[start];
      out.append("@@ -").append(range(lineA[start], countA)).append(" +").append(range(lineB[start], countB)).append(" @@\n");
      for (int i = start; i < end; i++) {
        out.append(edits.get(i).op()).append(edits.get(i).line()).append('\n');
      }
    }
    return out.toString();
  }

  /** diff -u's range: an empty one names the line before it. */
  private static String range(int first, int count) {
    return (count == 0 ? first - 1 : first) + "," + count;
  }
}
