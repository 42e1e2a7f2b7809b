package io.ceiba.edge.cache;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a shared cache may store and serve (RFC 9111, the part an edge cache needs): which statuses, which
 * {@code Cache-Control} directives forbid storing or shorten the lifetime, what a request may ask.
 */
public final class CacheRules {

  /** What a request to a cached service asks of the cache. */
  public enum RequestMode {
    /** Look the response up, store it on a miss. */
    LOOKUP,
    /** {@code Cache-Control: no-cache} / {@code Pragma: no-cache}: go upstream, but the answer may refresh the entry. */
    REFRESH,
    /** Neither look up nor store ({@code no-store}, cookies, credentials passed upstream). */
    PASS
  }

  private CacheRules() {
  }

  /** Statuses cacheable by default (RFC 9110 15.1) that an edge cache keeps; 206 and 405/414/501 are left out. */
  public static boolean cacheableStatus(int status) {
    return switch (status) {
      case 200, 203, 204, 301, 308, 404, 410 -> true;
      default -> false;
    };
  }

  /**
   * @param credentialsUpstream the request carries an {@code Authorization} that goes upstream (not the API key
   *                            the edge consumed): its answer may be personal
   */
  public static RequestMode requestMode(MultiMap headers, boolean credentialsUpstream) {
    if (credentialsUpstream || headers.contains(HttpHeaders.COOKIE)) {
      // what a cookie or credentials select is personal unless the origin says otherwise (Varnish's default)
      return RequestMode.PASS;
    }
    String cacheControl = headers.get(HttpHeaders.CACHE_CONTROL);
    if (cacheControl != null) {
      String cc = cacheControl.toLowerCase(Locale.ROOT);
      if (hasDirective(cc, "no-store")) {
        return RequestMode.PASS;
      }
      if (hasDirective(cc, "no-cache") || directiveSeconds(cc, "max-age") == 0) {
        return RequestMode.REFRESH;
      }
    }
    String pragma = headers.get("pragma");
    return pragma != null && pragma.toLowerCase(Locale.ROOT).contains("no-cache") ? RequestMode.REFRESH : RequestMode.LOOKUP;
  }

  /**
   * How long a response may be served from the cache, or -1 when it must not be stored: a status not
   * cacheable, {@code no-store}, {@code private}, {@code no-cache}, {@code Set-Cookie}, {@code Vary: *}, or a
   * lifetime of zero. Lifetime: the service's ttl, shortened to {@code s-maxage} (else {@code max-age}) minus
   * the response's {@code Age}.
   */
  public static long lifetimeNanos(int status, MultiMap headers, long ttlNanos) {
    if (!cacheableStatus(status) || headers.contains(HttpHeaders.SET_COOKIE)) {
      return -1;
    }
    long lifetime = ttlNanos;
    String cacheControl = headers.get(HttpHeaders.CACHE_CONTROL);
    if (cacheControl != null) {
      String cc = String.join(",", headers.getAll(HttpHeaders.CACHE_CONTROL)).toLowerCase(Locale.ROOT);
      if (hasDirective(cc, "no-store") || hasDirective(cc, "private") || hasDirective(cc, "no-cache")) {
        return -1;
      }
      long maxAge = directiveSeconds(cc, "s-maxage");
      if (maxAge < 0) {
        maxAge = directiveSeconds(cc, "max-age");
      }
      if (maxAge >= 0) {
        lifetime = Math.min(lifetime, Math.max(0, maxAge - age(headers)) * 1_000_000_000L);
      }
    }
    if (vary(headers) == null) {
      return -1;
    }
    return lifetime > 0 ? lifetime : -1;
  }

  /** The request header names of {@code Vary}, lower-cased and sorted; null for {@code Vary: *}. */
  public static List<String> vary(MultiMap headers) {
    List<String> values = headers.getAll(HttpHeaders.VARY);
    if (values.isEmpty()) {
      return List.of();
    }
    List<String> names = new ArrayList<>();
    for (String value : values) {
      for (String token : value.split(",")) {
        String name = token.trim().toLowerCase(Locale.ROOT);
        if (name.equals("*")) {
          return null;
        }
        if (!name.isEmpty() && !names.contains(name)) {
          names.add(name);
        }
      }
    }
    names.sort(null);
    return names;
  }

  /** The response's {@code Age} in seconds, 0 when absent or malformed. */
  public static long age(MultiMap headers) {
    String age = headers.get(HttpHeaders.AGE);
    if (age == null) {
      return 0;
    }
    try {
      return Math.max(0, Long.parseLong(age.trim()));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** Whether the lower-cased directive list names {@code directive} (alone or with an argument). */
  static boolean hasDirective(String cacheControl, String directive) {
    for (String token : cacheControl.split(",")) {
      String t = token.trim();
      if (t.equals(directive) || (t.startsWith(directive) && t.length() > directive.length() && t.charAt(directive.length()) == '=')) {
        return true;
      }
    }
    return false;
  }

  /** The seconds of {@code directive=N}, or -1 when absent or malformed. */
  static long directiveSeconds(String cacheControl, String directive) {
    for (String token : cacheControl.split(",")) {
      String t = token.trim();
      if (t.startsWith(directive + "=")) {
        String value = t.substring(directive.length() + 1).replace("\"", "");
        try {
          return Math.max(0, Long.parseLong(value));
        } catch (NumberFormatException e) {
          return -1;
        }
      }
    }
    return -1;
  }
}
