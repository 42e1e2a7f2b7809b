package io.ceiba.yaml;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses and prints durations the way operators write them: {@code 500ms}, {@code 2s}, {@code 1m30s}, {@code 7d}. */
public final class Durations {

  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  private Durations() {
  }

  /**
   * @param text e.g. {@code 2s}; a bare number is refused because its unit would be a guess
   * @return the duration
   * @throws IllegalArgumentException with an operator-facing reason
   */
  public static Duration parse(String text) {
    String t = text == null ? "" : text.trim();
    if (t.startsWith("-")) {
      throw new IllegalArgumentException("duration must not be negative, got '" + text + "'");
    }
    Matcher m = PART.matcher(t);
    Duration total = Duration.ZERO;
    int pos = 0;
    while (pos < t.length() && m.find(pos) && m.start() == pos) {
      long n = Long.parseLong(m.group(1));
      total = total.plus(switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      });
      pos = m.end();
    }
    if (t.isEmpty() || pos != t.length()) {
      throw new IllegalArgumentException("expected a duration such as 500ms, 2s, 1m30s, 7d; got '" + text + "'");
    }
    return total;
  }

  /** Prints the shortest exact form, e.g. {@code 90s} as {@code 1m30s}. */
  public static String format(Duration d) {
    if (d.isZero()) {
      return "0s";
    }
    StringBuilder sb = new StringBuilder();
    long ms = d.toMillis();
    long[] units = {86_400_000L, 3_600_000L, 60_000L, 1000L, 1L};
    String[] names = {"d", "h", "m", "s", "ms"};
    for (int i = 0; i < units.length; i++) {
      if (ms >= units[i]) {
        sb.append(ms / units[i]).append(names[i]);
        ms %= units[i];
      }
    }
    return sb.toString();
  }
}
