package io.ceiba.store.pg;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What the tests know of earlier releases ({@code db/releases.txt} on the test classpath): each release's highest
 * migration, and the SQL the latest one sends to PostgreSQL ({@code db/release-<name>-sql.txt}, captured from a run of
 * that release's tests by ops/db/capture-release-sql.sh).
 */
record PreviousRelease(String name, String commit, int schemaVersion) {

  private static final String RELEASES = "db/releases.txt";
  /** Separates statements in a captured SQL file (a statement may span lines and hold semicolons). */
  static final String SEPARATOR = "----";

  static List<PreviousRelease> all() {
    List<PreviousRelease> releases = new ArrayList<>();
    for (String line : resource(RELEASES).lines().toList()) {
      String text = line.strip();
      if (text.isEmpty() || text.startsWith("#")) {
        continue;
      }
      String[] parts = text.split("\\s+");
      releases.add(new PreviousRelease(parts[0], parts[1], Integer.parseInt(parts[2])));
    }
    return releases;
  }

  static PreviousRelease latest() {
    List<PreviousRelease> all = all();
    return all.get(all.size() - 1);
  }

  static List<Integer> releasedUpTo() {
    return all().stream().map(PreviousRelease::schemaVersion).toList();
  }

  /** The distinct statements this release sends, as captured. */
  List<String> statements() {
    return Arrays.stream(resource("db/release-" + name + "-sql.txt").split("(?m)^" + SEPARATOR + "$"))
        .map(String::strip).filter(s -> !s.isEmpty() && !s.startsWith("#")).toList();
  }

  private static String resource(String name) {
    try (InputStream in = PreviousRelease.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("no " + name + " on the test classpath");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
