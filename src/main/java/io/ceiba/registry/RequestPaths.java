package io.ceiba.registry;

import java.util.ArrayList;
import java.util.List;

/**
 * The one form of a request path that routes are matched against, and that goes upstream, so that what a rule saw is
 * what the backend serves. Percent-encoded unreserved characters are decoded ({@code %61} is {@code a},
 * {@code %2e} is {@code .}), other encodings keep their bytes with upper-case hex, duplicate slashes merge, and
 * {@code .} and {@code ..} segments are resolved (RFC 3986 §5.2.4), after decoding: {@code /v1/%2e%2e/admin} and
 * {@code /v1/../admin} are both {@code /admin} and meet the {@code /admin} rules.
 *
 * <p>Refused (the request gets {@code 400 invalid_path}), because a backend could read them as another path than
 * the edge did: an encoded {@code /} or {@code \} ({@code %2F}, {@code %5C}), a literal {@code \}, an encoded control
 * character or NUL, a malformed {@code %} and a {@code ..} that climbs above the root.
 */
public final class RequestPaths {

  private static final String HEX = "0123456789ABCDEF";

  private RequestPaths() {
  }

  /**
   * A path in its normalised form, or why it is refused.
   *
   * @param path    normalised, without the query; null when refused
   * @param target  what goes upstream: {@code path} and the request's query; the target itself when nothing changed
   * @param problem why the path is refused, else null
   */
  public record Normalised(String path, String target, String problem) {

    public boolean refused() {
      return problem != null;
    }
  }

  /** @param target an origin-form request target ({@code /path?query}), or {@code *} */
  public static Normalised normalise(String target) {
    int end = target.length();
    int query = target.indexOf('?');
    if (query >= 0) {
      end = query;
    }
    int fragment = target.indexOf('#');
    if (fragment >= 0 && fragment < end) {
      end = fragment;
    }
    if (end == 0 || target.charAt(0) != '/') {
      return new Normalised(target.substring(0, end), target, null); // '*' of OPTIONS: no route has it
    }
    if (plain(target, end)) {
      return new Normalised(end == target.length() ? target : target.substring(0, end), target, null);
    }
    List<String> stack = new ArrayList<>();
    StringBuilder segment = new StringBuilder();
    boolean trailingSlash = false;
    for (int i = 1; i <= end; i++) {
      char c = i < end ? target.charAt(i) : '/';
      if (c == '/') {
        String s = segment.toString();
        segment.setLength(0);
        if (s.isEmpty() || s.equals(".")) {
          trailingSlash = true;
        } else if (s.equals("..")) {
          if (stack.isEmpty()) {
            return refused("'..' climbs above the root of the path");
          }
          stack.remove(stack.size() - 1);
          trailingSlash = true;
        } else {
          stack.add(s);
          trailingSlash = false;
        }
        continue;
      }
      if (c == '\\') {
        return refused("'\\' in a path");
      }
      if (c < 0x21 || c == 0x7f) {
        return refused("control character or space in a path");
      }
      if (c != '%') {
        segment.append(c);
        continue;
      }
      int value = i + 2 < end ? hexPair(target, i + 1) : -1;
      if (value < 0) {
        return refused("'%' not followed by two hex digits");
      }
      i += 2;
      if (value == '/' || value == '\\') {
        return refused("encoded '" + (char) value + "' (%" + HEX.charAt(value >> 4) + HEX.charAt(value & 15) + ") in a path");
      }
      if (value < 0x20 || value == 0x7f) {
        return refused("encoded control character in a path");
      }
      if (unreserved(value)) {
        segment.append((char) value);
      } else {
        segment.append('%').append(HEX.charAt(value >> 4)).append(HEX.charAt(value & 15));
      }
    }
    StringBuilder path = new StringBuilder(end + 1);
    for (String s : stack) {
      path.append('/').append(s);
    }
    if (stack.isEmpty() || trailingSlash) {
      path.append('/');
    }
    String normal = path.toString();
    return new Normalised(normal, normal + target.substring(end), null);
  }

  private static Normalised refused(String why) {
    return new Normalised(null, null, why);
  }

  /** Already in the normal form: no '%', '\\', control characters, '//' or dot segments; most requests are. */
  private static boolean plain(String target, int end) {
    char previous = 0;
    for (int i = 0; i < end; i++) {
      char c = target.charAt(i);
      if (c == '%' || c == '\\' || c < 0x21 || c == 0x7f) {
        return false;
      }
      if (c == '/' && previous == '/') {
        return false;
      }
      if (c == '.' && previous == '/') {
        // a dot segment is '.' or '..' between slashes (or at the end)
        int next = i + 1 < end ? target.charAt(i + 1) : '/';
        if (next == '/' || (next == '.' && (i + 2 >= end || target.charAt(i + 2) == '/'))) {
          return false;
        }
      }
      previous = c;
    }
    return true;
  }

  /** The byte two hex digits at {@code at} stand for, or -1. */
  static int hexPair(String s, int at) {
    int high = Character.digit(s.charAt(at), 16);
    int low = Character.digit(s.charAt(at + 1), 16);
    return high < 0 || low < 0 ? -1 : high << 4 | low;
  }

  /** RFC 3986 unreserved: ALPHA, DIGIT, '-', '.', '_', '~'. */
  static boolean unreserved(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
  }

  /** The segments of a normalised path; a trailing slash gives an empty last segment. */
  static List<String> segments(String path) {
    List<String> out = new ArrayList<>(8);
    int start = 1;
    for (int i = 1; i <= path.length(); i++) {
      if (i == path.length() || path.charAt(i) == '/') {
        out.add(path.substring(start, i));
        start = i + 1;
      }
    }
    return out;
  }
}
