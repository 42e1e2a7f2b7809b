package io.ceiba.registry;

import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The path half of a route: {@code /v1/health} (exact), {@code /v1/} or {@code /v1/*} (prefix: {@code /v1} itself and
 * everything under it; {@code /} and {@code /*} match every path) or {@code /v1/users/{id}} (template: a
 * {@code {name}} stands for exactly one non-empty segment). Matched against a path {@link RequestPaths normalised}
 * first, so a pattern is written in that form too: no dot segments, no {@code //}, no percent-encoded unreserved
 * characters.
 *
 * @param text     as written
 * @param key      what two patterns share when they match the same paths ({@code /v1/*} and {@code /v1/} alike;
 *                 a template's parameter names left out)
 * @param segments a template's segments, null standing for a parameter; null for the other kinds
 */
public record RoutePattern(Kind kind, String text, String key, String[] segments) {

  /** In the order a request tries them: an exact path wins over any template, a template over any prefix. */
  public enum Kind { EXACT, TEMPLATE, PREFIX }

  private static final Pattern PARAM = Pattern.compile("\\{[A-Za-z_][A-Za-z0-9_]{0,31}}");
  /** RFC 3986 pchar without percent-encoding (checked apart) and without the ones a normalised path never has. */
  private static final String PCHAR = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@";

  /**
   * @throws IllegalArgumentException saying what is wrong with {@code text}, phrased for an operator
   */
  public static RoutePattern parse(String text) {
    if (text == null || !text.startsWith("/")) {
      throw new IllegalArgumentException("a route path starts with '/', got '" + text + "'");
    }
    if (text.equals("/*") || text.equals("/")) {
      return new RoutePattern(Kind.PREFIX, text, "/", null);
    }
    boolean star = text.endsWith("/*");
    String body = star ? text.substring(0, text.length() - 1) : text;
    if (body.contains("*") && !body.contains("{")) {
      throw new IllegalArgumentException("'*' is only allowed as the last segment ('/v1/*'), got '" + text + "'");
    }
    boolean prefix = body.endsWith("/");
    String[] parts = body.substring(1, prefix ? body.length() - 1 : body.length()).split("/", -1);
    String[] segments = new String[parts.length];
    boolean template = false;
    for (int i = 0; i < parts.length; i++) {
      String part = parts[i];
      if (part.isEmpty()) {
        throw new IllegalArgumentException("empty segment ('//') in '" + text + "': requests are matched with duplicate slashes merged");
      }
      if (part.equals(".") || part.equals("..")) {
        throw new IllegalArgumentException("dot segment in '" + text + "': requests are matched with dot segments resolved");
      }
      if (part.indexOf('{') >= 0 || part.indexOf('}') >= 0) {
        if (!PARAM.matcher(part).matches()) {
          throw new IllegalArgumentException("a template parameter is a whole segment such as {id}, got '" + part + "' in '" + text + "'");
        }
        template = true;
        continue;
      }
      checkLiteral(part, text);
      segments[i] = part;
    }
    if (template && prefix) {
      throw new IllegalArgumentException("a template cannot be a prefix (no trailing '/' or '/*'): '" + text + "'");
    }
    if (template) {
      StringBuilder key = new StringBuilder();
      for (String s : segments) {
        key.append('/').append(s == null ? "{}" : s);
      }
      return new RoutePattern(Kind.TEMPLATE, text, key.toString(), segments);
    }
    return prefix ? new RoutePattern(Kind.PREFIX, text, body, null) : new RoutePattern(Kind.EXACT, text, body, null);
  }

  private static void checkLiteral(String part, String text) {
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      if (c == '%') {
        int value = i + 2 < part.length() ? RequestPaths.hexPair(part, i + 1) : -1;
        if (value < 0 || Character.isLowerCase(part.charAt(i + 1)) || Character.isLowerCase(part.charAt(i + 2))) {
          throw new IllegalArgumentException("'%' must start an upper-case encoding such as %20 in '" + text + "'");
        }
        if (RequestPaths.unreserved(value) || value == '/' || value == '\\') {
          throw new IllegalArgumentException("write '" + (char) value + "' itself rather than %" + part.substring(i + 1, i + 3)
              + " in '" + text + "' (requests are matched decoded)");
        }
        i += 2;
      } else if (PCHAR.indexOf(c) < 0) {
        throw new IllegalArgumentException("character '" + c + "' is not allowed in a route path ('" + text + "'); percent-encode it");
      }
    }
  }

  /** The prefix a {@link Kind#PREFIX} pattern matches, ending in '/'. */
  public String prefix() {
    return key;
  }

  /** Literal segments of a template, for precedence: more literal segments first, literals before parameters. */
  int compareTemplate(RoutePattern other) {
    for (int i = 0; i < Math.min(segments.length, other.segments.length); i++) {
      boolean literal = segments[i] != null;
      if (literal != (other.segments[i] != null)) {
        return literal ? -1 : 1;
      }
    }
    return Integer.compare(other.segments.length, segments.length);
  }

  /** Whether a normalised path (no query) matches. */
  public boolean matches(String path) {
    return switch (kind) {
      case EXACT -> path.equals(key);
      case PREFIX -> path.startsWith(key) || (path.length() == key.length() - 1 && key.startsWith(path));
      case TEMPLATE -> matchesSegments(RequestPaths.segments(path));
    };
  }

  boolean matchesSegments(List<String> parts) {
    if (parts.size() != segments.length) {
      return false;
    }
    for (int i = 0; i < segments.length; i++) {
      if (segments[i] != null ? !segments[i].equals(parts.get(i)) : parts.get(i).isEmpty()) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RoutePattern p && p.kind == kind && p.text.equals(text);
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }

  @Override
  public String toString() {
    return text + (segments == null ? "" : " " + Arrays.toString(segments));
  }
}
