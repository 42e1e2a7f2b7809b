package io.ceiba.store.pg;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Keeps migrations expand-then-contract across one release, so the previous release runs on the current schema (a
 * rollback of the jar needs no rollback of the database). A migration after the first recorded release may not remove
 * or change what the previous release's SQL uses: drop a table, view, column, index, constraint or default; rename a
 * table or column; change a column's type; make an existing column NOT NULL; or add a NOT NULL column without a
 * default to an existing table. Such a step is allowed only in a migration marked {@code -- contract: OBJECT} whose
 * OBJECT an earlier migration marked {@code -- deprecates: OBJECT}, and only if that earlier migration shipped in a
 * recorded release: the release in between is the one that stopped using OBJECT. OBJECT is {@code table},
 * {@code table.column}, or the name of an index or constraint. See docs/operations.md, "Schema changes".
 *
 * <p>A lint over the SQL text, not a parser: statements are split at semicolons outside comments and string literals
 * (no dollar-quoted bodies in Ceiba's migrations), and each is matched against the patterns above.
 */
final class MigrationLint {

  private static final Pattern FILE = Pattern.compile("V(\\d+)__.*\\.sql");
  private static final Pattern DEPRECATES = Pattern.compile("(?im)^\\s*--\\s*deprecates:\\s*(\\S+)");
  private static final Pattern CONTRACT = Pattern.compile("(?im)^\\s*--\\s*contract:\\s*(\\S+)");
  private static final String NAME = "\"?([a-z_][a-z0-9_$]*)\"?";
  private static final String QUALIFIED = "(?:" + NAME.replace("(", "(?:") + "\\.)?" + NAME;
  private static final Pattern CREATE_TABLE = Pattern.compile("^create\\s+(?:unlogged\\s+)?table\\s+(?:if\\s+not\\s+exists\\s+)?" + QUALIFIED);
  private static final Pattern DROP_OBJECT = Pattern.compile(
      "^drop\\s+(table|view|materialized\\s+view|index|sequence|type|function)\\s+(?:concurrently\\s+)?(?:if\\s+exists\\s+)?" + QUALIFIED);
  private static final Pattern ALTER_TABLE = Pattern.compile("^alter\\s+table\\s+(?:if\\s+exists\\s+)?(?:only\\s+)?" + QUALIFIED + "\\s+(.*)$");
  private static final Pattern RENAME_TABLE = Pattern.compile("^rename\\s+to\\s+");
  private static final Pattern RENAME_COLUMN = Pattern.compile("^rename\\s+(?:column\\s+)?" + NAME + "\\s+to\\s+");
  private static final Pattern DROP_COLUMN = Pattern.compile("^drop\\s+(?:column\\s+)?(?:if\\s+exists\\s+)?" + NAME);
  private static final Pattern DROP_CONSTRAINT = Pattern.compile("^drop\\s+constraint\\s+(?:if\\s+exists\\s+)?" + NAME);
  private static final Pattern ALTER_COLUMN = Pattern.compile("^alter\\s+(?:column\\s+)?" + NAME + "\\s+(.*)$");
  private static final Pattern ADD_COLUMN = Pattern.compile("^add\\s+(?:column\\s+)?(?:if\\s+not\\s+exists\\s+)?" + NAME + "\\s+(.*)$");

  /** A contract step found in a migration. */
  record Step(int version, String file, String statement, String object, String what) {
  }

  private MigrationLint() {
  }

  /**
   * The problems of the migrations in {@code dir}: contract steps that are not allowed.
   *
   * @param releasedUpTo the highest migration version of each recorded release, oldest first; migrations up to the
   *                     first one are the history the rule starts from
   */
  static List<String> check(Path dir, List<Integer> releasedUpTo) {
    Map<Integer, Path> files = migrations(dir);
    int baseline = releasedUpTo.isEmpty() ? 0 : releasedUpTo.get(0);
    int lastRelease = releasedUpTo.isEmpty() ? 0 : releasedUpTo.get(releasedUpTo.size() - 1);
    Map<String, Integer> deprecated = new HashMap<>();
    List<String> problems = new ArrayList<>();
    for (Map.Entry<Integer, Path> entry : files.entrySet()) {
      int version = entry.getKey();
      String text = read(entry.getValue());
      String file = entry.getValue().getFileName().toString();
      Matcher d = DEPRECATES.matcher(text);
      while (d.find()) {
        deprecated.putIfAbsent(d.group(1).toLowerCase(Locale.ROOT), version);
      }
      if (version <= baseline) {
        continue;
      }
      Set<String> contracts = new HashSet<>();
      Matcher c = CONTRACT.matcher(text);
      while (c.find()) {
        contracts.add(c.group(1).toLowerCase(Locale.ROOT));
      }
      for (Step step : contractSteps(version, file, text)) {
        Integer deprecatedIn = deprecated.get(step.object());
        if (step.object() == null) {
          problems.add(file + ": `" + step.statement() + "` " + step.what());
        } else if (!contracts.contains(step.object())) {
          problems.add(file + ": `" + step.statement() + "` " + step.what() + " (" + step.object() + "): the previous release"
              + " may still use it. Deprecate it first (`-- deprecates: " + step.object() + "` in a migration that ships a"
              + " release earlier, with the code no longer using it), then mark this one `-- contract: " + step.object() + "`");
        } else if (deprecatedIn == null || deprecatedIn >= version) {
          problems.add(file + ": `-- contract: " + step.object() + "` but no earlier migration says `-- deprecates: "
              + step.object() + "`");
        } else if (deprecatedIn > lastRelease) {
          problems.add(file + ": " + step.object() + " is deprecated in V" + deprecatedIn + ", which no recorded release has"
              + " shipped yet (the last one goes up to V" + lastRelease + "): the contract step must wait for the next release");
        }
      }
    }
    return problems;
  }

  /** The contract steps of one migration; tables it creates itself are new and free to change. */
  static List<Step> contractSteps(int version, String file, String text) {
    List<Step> steps = new ArrayList<>();
    Set<String> created = new HashSet<>();
    for (String statement : statements(text)) {
      String s = statement.toLowerCase(Locale.ROOT).replaceAll("\\s+", " ").trim();
      Matcher m;
      if ((m = CREATE_TABLE.matcher(s)).find()) {
        created.add(m.group(1));
      } else if ((m = DROP_OBJECT.matcher(s)).find()) {
        steps.add(new Step(version, file, s, m.group(2), "drops " + (m.group(1).startsWith("i") ? "an " : "a ") + m.group(1).replaceAll("\\s+", " ")));
      } else if ((m = ALTER_TABLE.matcher(s)).find() && !created.contains(m.group(1))) {
        String table = m.group(1);
        for (String action : splitTopLevel(m.group(2))) {
          Step step = alterStep(version, file, s, table, action.trim());
          if (step != null) {
            steps.add(step);
          }
        }
      }
    }
    return steps;
  }

  private static Step alterStep(int version, String file, String statement, String table, String action) {
    Matcher m;
    if (RENAME_TABLE.matcher(action).find()) {
      return new Step(version, file, statement, table, "renames a table");
    }
    if ((m = RENAME_COLUMN.matcher(action)).find() && !m.group(1).equals("constraint")) {
      return new Step(version, file, statement, table + "." + m.group(1), "renames a column");
    }
    if ((m = DROP_CONSTRAINT.matcher(action)).find()) {
      return new Step(version, file, statement, m.group(1), "drops a constraint");
    }
    if ((m = DROP_COLUMN.matcher(action)).find()) {
      return new Step(version, file, statement, table + "." + m.group(1), "drops a column");
    }
    if ((m = ALTER_COLUMN.matcher(action)).find()) {
      String rest = m.group(2);
      String column = table + "." + m.group(1);
      if (rest.startsWith("type ") || rest.startsWith("set data type ")) {
        return new Step(version, file, statement, column, "changes a column's type");
      }
      if (rest.startsWith("set not null")) {
        return new Step(version, file, statement, column, "makes an existing column NOT NULL");
      }
      if (rest.startsWith("drop default")) {
        return new Step(version, file, statement, column, "drops a column's default");
      }
      return null;
    }
    if ((m = ADD_COLUMN.matcher(action)).find()) {
      String definition = m.group(2);
      if (definition.contains("not null") && !definition.contains("default") && !definition.contains("generated")) {
        // no marker makes this safe: the previous release's inserts do not name the column
        return new Step(version, file, statement, null, "adds a NOT NULL column without a default to an existing table: the"
            + " previous release's inserts would fail. Add it nullable or with a default; make it NOT NULL in a later"
            + " release (a contract step)");
      }
    }
    return null;
  }

  /** SQL without comments, split into statements at semicolons outside string literals. */
  static List<String> statements(String sql) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    int i = 0;
    while (i < sql.length()) {
      char ch = sql.charAt(i);
      if (ch == '-' && sql.startsWith("--", i)) {
        int end = sql.indexOf('\n', i);
        i = end < 0 ? sql.length() : end;
      } else if (ch == '/' && sql.startsWith("/*", i)) {
        int end = sql.indexOf("*/", i + 2);
        i = end < 0 ? sql.length() : end + 2;
        current.append(' ');
      } else if (ch == '\'') {
        int end = i + 1;
        while (end < sql.length() && (sql.charAt(end) != '\'' || sql.startsWith("''", end))) {
          end += sql.startsWith("''", end) ? 2 : 1;
        }
        current.append("''"); // the literal's content never matters here
        i = Math.min(end + 1, sql.length());
      } else if (ch == ';') {
        add(out, current);
        i++;
      } else {
        current.append(ch);
        i++;
      }
    }
    add(out, current);
    return out;
  }

  private static void add(List<String> out, StringBuilder statement) {
    if (!statement.toString().isBlank()) {
      out.add(statement.toString().trim());
    }
    statement.setLength(0);
  }

  /** The comma-separated actions of an ALTER TABLE, commas inside parentheses kept. */
  private static List<String> splitTopLevel(String actions) {
    List<String> out = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i < actions.length(); i++) {
      char ch = actions.charAt(i);
      depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
      if (ch == ',' && depth == 0) {
        out.add(actions.substring(start, i));
        start = i + 1;
      }
    }
    out.add(actions.substring(start));
    return out;
  }

  /** The {@code V<n>__*.sql} files of {@code dir} by version. */
  static Map<Integer, Path> migrations(Path dir) {
    Map<Integer, Path> files = new TreeMap<>();
    try (Stream<Path> list = Files.list(dir)) {
      list.forEach(p -> {
        Matcher m = FILE.matcher(p.getFileName().toString());
        if (m.matches()) {
          files.put(Integer.parseInt(m.group(1)), p);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return files;
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
