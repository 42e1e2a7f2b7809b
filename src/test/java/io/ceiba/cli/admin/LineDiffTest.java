package io.ceiba.cli.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LineDiffTest {

  @Test
  void should_print_a_unified_diff_with_context_and_line_ranges() {
    String a = "version: 1\nhttp:\n  api:\n    hosts: [a.test]\n    backends: []\n  web:\n    hosts: [w.test]\n";
    String b = "version: 2\nhttp:\n  api:\n    hosts: [a.test, b.test]\n    backends: []\n  web:\n    hosts: [w.test]\n";
    assertThat(LineDiff.unified("old", a, "new", b, 1)).isEqualTo("""
        --- old
        +++ new
        @@ -1,2 +1,2 @@
        -version: 1
        +version: 2
         http:
        @@ -3,3 +3,3 @@
           api:
        -    hosts: [a.test]
        +    hosts: [a.test, b.test]
             backends: []
        """);
    assertThat(LineDiff.unified("old", a, "new", b, 3)).startsWith("--- old\n+++ new\n@@ -1,7 +1,7 @@\n");
  }

  @Test
  void should_print_nothing_for_the_same_lines_and_everything_against_an_empty_text() {
    assertThat(LineDiff.unified("a", "x\ny\n", "b", "x\ny", 3)).isEmpty();
    assertThat(LineDiff.unified("a", "", "b", "x\ny\n", 3)).isEqualTo("--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n");
    assertThat(LineDiff.unified("a", "x\n", "b", "", 3)).isEqualTo("--- a\n+++ b\n@@ -1,1 +0,0 @@\n-x\n");
  }

  @Test
  void should_find_a_shortest_edit_script_that_turns_one_text_into_the_other() {
    Random random = new Random(42);
    for (int round = 0; round < 500; round++) {
      List<String> a = randomLines(random);
      List<String> b = randomLines(random);
      List<LineDiff.Edit> edits = LineDiff.edits(a, b);
      List<String> fromA = new ArrayList<>();
      List<String> toB = new ArrayList<>();
      int changed = 0;
      for (LineDiff.Edit e : edits) {
        if (e.op() != '+') {
          fromA.add(e.line());
        }
        if (e.op() != '-') {
          toB.add(e.line());
        }
        changed += e.op() == ' ' ? 0 : 1;
      }
      assertThat(fromA).as("round %d: the old side", round).isEqualTo(a);
      assertThat(toB).as("round %d: the new side", round).isEqualTo(b);
      assertThat(changed).as("round %d: shortest", round).isEqualTo(a.size() + b.size() - 2 * lcs(a, b));
    }
  }

  private static List<String> randomLines(Random random) {
    List<String> lines = new ArrayList<>();
    int n = random.nextInt(12);
    for (int i = 0; i < n; i++) {
      lines.add(String.valueOf((char) ('a' + random.nextInt(4))));
    }
    return lines;
  }

  private static int lcs(List<String> a, List<String> b) {
    int[][] t = new int[a.size() + 1][b.size() + 1];
    for (int i = a.size() - 1; i >= 0; i--) {
      for (int j = b.size() - 1; j >= 0; j--) {
        t[i][j] = a.get(i).equals(b.get(j)) ? t[i + 1][j + 1] + 1 : Math.max(t[i + 1][j], t[i][j + 1]);
      }
    }
    return t[0][0];
  }
}
