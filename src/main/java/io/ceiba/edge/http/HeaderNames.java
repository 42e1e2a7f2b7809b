package io.ceiba.edge.http;

import java.util.Locale;
import java.util.Set;

/** Which header names the edge answers for, and the token grammar of names (RFC 9110 §5.1, §5.6.2). */
public final class HeaderNames {

  /**
   * Headers the edge sets or consumes itself, lower-case. A client's copy never reaches an origin, and neither
   * does one spelled with {@code _} for {@code -}: CGI, WSGI and Rack turn both into the same variable.
   */
  private static final Set<String> EDGE_OWNED = Set.of("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
      "x-forwarded-port", "x-forwarded-prefix", "x-forwarded-server", "x-real-ip", "forwarded", "x-request-id", "x-api-key");

  /** Headers that frame or route a request: a hop may never be told to drop them. */
  private static final Set<String> FRAMING_OR_ROUTING = Set.of("content-length", "transfer-encoding", "host");

  private HeaderNames() {
  }

  /**
   * Whether {@code name} is an underscore spelling of a header the edge owns ({@code X_Ceiba_Project},
   * {@code X_Forwarded_For}, {@code x-api_key} …). Names without {@code _} answer false at once.
   */
  public static boolean isEdgeOwnedAlias(String name) {
    if (name.indexOf('_') < 0) {
      return false;
    }
    String dashed = name.replace('_', '-').toLowerCase(Locale.ROOT);
    return dashed.startsWith("x-ceiba-") || dashed.startsWith("x-forwarded-") || EDGE_OWNED.contains(dashed);
  }

  /** {@code Content-Length}, {@code Transfer-Encoding}, {@code Host}; {@code name} lower-case. */
  static boolean isFramingOrRouting(String name) {
    return FRAMING_OR_ROUTING.contains(name);
  }

  /** A token: one or more of the visible characters RFC 9110 allows in names ({@code tchar}). */
  static boolean isToken(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (!isTchar(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  /** A field value of RFC 9110 §5.5: visible characters, spaces, tabs and obs-text; no other control character. */
  static boolean isFieldValue(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 && c != '\t' || c == 0x7f || c > 0xff) {
        return false;
      }
    }
    return true;
  }

  static boolean isTchar(char c) {
    if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
      return true;
    }
    return "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
  }
}
