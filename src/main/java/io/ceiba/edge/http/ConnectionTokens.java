package io.ceiba.edge.http;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.util.List;
import java.util.Locale;

/**
 * The options a message's {@code Connection} header names (RFC 9110 §7.6.1), parsed once per message. Each
 * named header is dropped at this hop, so a check per header is a few comparisons against at most
 * {@link #MAX_TOKENS} short names — never a new split of the header (which made a {@code Connection} of 3,800
 * tokens beside 3,800 headers cost half a second of CPU per request).
 */
public final class ConnectionTokens {

  /** Real clients send one to three; more is a request built to make the edge work. */
  public static final int MAX_TOKENS = 32;

  /** No {@code Connection} header, or only options that name no header. */
  public static final ConnectionTokens NONE = new ConnectionTokens(new String[0], false, null);

  private final String[] names;
  private final boolean upgrade;
  private final String problem;

  private ConnectionTokens(String[] names, boolean upgrade, String problem) {
    this.names = names;
    this.upgrade = upgrade;
    this.problem = problem;
  }

  /**
   * Parses every {@code Connection} line of {@code headers}, in time linear in their length. At most
   * {@link #MAX_TOKENS} tokens are kept; {@link #problem()} says why the header is unacceptable in a request.
   */
  public static ConnectionTokens of(MultiMap headers) {
    List<String> values = headers.getAll(HttpHeaders.CONNECTION);
    if (values.isEmpty()) {
      return NONE;
    }
    if (values.size() == 1 && isPlain(values.get(0))) {
      return NONE;
    }
    String[] names = new String[Math.min(MAX_TOKENS, 8)];
    int count = 0;
    int seen = 0;
    boolean upgrade = false;
    String problem = null;
    for (String value : values) {
      int i = 0;
      int n = value.length();
      while (i <= n && problem == null) {
        int comma = value.indexOf(',', i);
        int end = comma < 0 ? n : comma;
        String token = trim(value, i, end);
        i = end + 1;
        if (token.isEmpty()) {
          continue; // "a, , b" is allowed by the list syntax (RFC 9110 §5.6.1)
        }
        if (++seen > MAX_TOKENS) {
          problem = "Connection names more than " + MAX_TOKENS + " options";
          break;
        }
        if (!HeaderNames.isToken(token)) {
          problem = "Connection has a malformed option";
          break;
        }
        String name = token.toLowerCase(Locale.ROOT);
        if (name.equals("upgrade")) {
          upgrade = true;
        }
        if (name.equals("close") || name.equals("keep-alive") || name.equals("upgrade")) {
          continue; // hop-by-hop anyway
        }
        if (HeaderNames.isFramingOrRouting(name)) {
          problem = "Connection may not name " + token + ": it frames or routes the request";
          break;
        }
        if (count == names.length) {
          names = java.util.Arrays.copyOf(names, MAX_TOKENS);
        }
        names[count++] = name;
      }
      if (problem != null) {
        break;
      }
    }
    if (count == 0 && !upgrade && problem == null) {
      return NONE;
    }
    return new ConnectionTokens(java.util.Arrays.copyOf(names, count), upgrade, problem);
  }

  private static boolean isPlain(String value) {
    return value.equalsIgnoreCase("keep-alive") || value.equalsIgnoreCase("close");
  }

  private static String trim(String s, int from, int to) {
    while (from < to && (s.charAt(from) == ' ' || s.charAt(from) == '\t')) {
      from++;
    }
    while (to > from && (s.charAt(to - 1) == ' ' || s.charAt(to - 1) == '\t')) {
      to--;
    }
    return s.substring(from, to);
  }

  /** Why a request with this {@code Connection} is refused, or null when it is fine. */
  public String problem() {
    return problem;
  }

  /** Whether {@code Connection} lists {@code upgrade}. */
  public boolean upgrade() {
    return upgrade;
  }

  /** Whether {@code header} is named as a connection option (and so stays on this hop). Case-insensitive. */
  public boolean names(String header) {
    for (String name : names) {
      if (name.length() == header.length() && name.equalsIgnoreCase(header)) {
        return true;
      }
    }
    return false;
  }

  /** Whether any header at all is named (beyond {@code close}, {@code keep-alive}, {@code upgrade}). */
  public boolean namesAny() {
    return names.length > 0;
  }
}
