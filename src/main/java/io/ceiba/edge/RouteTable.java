package io.ceiba.edge;

import io.ceiba.registry.HttpService;
import io.ceiba.registry.Registry;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Host → service lookup for one registry version. Built whole off the request path and swapped by
 * reference, so a request sees either the old table or the new one. Exact names win over wildcards;
 * {@code *.example.test} matches exactly one label ({@code a.example.test}, not {@code a.b.example.test}).
 */
final class RouteTable {

  static final RouteTable EMPTY = new RouteTable(0, Map.of(), Map.of());

  private final long version;
  private final Map<String, HttpService> exact;
  /** Keyed by the suffix after the wildcard label, e.g. {@code example.test} for {@code *.example.test}. */
  private final Map<String, HttpService> wildcard;

  private RouteTable(long version, Map<String, HttpService> exact, Map<String, HttpService> wildcard) {
    this.version = version;
    this.exact = exact;
    this.wildcard = wildcard;
  }

  static RouteTable build(Registry registry) {
    Map<String, HttpService> exact = new HashMap<>();
    Map<String, HttpService> wildcard = new HashMap<>();
    for (HttpService service : registry.http().values()) {
      for (String host : service.hosts()) {
        if (host.startsWith("*.")) {
          wildcard.put(host.substring(2), service);
        } else {
          exact.put(host, service);
        }
      }
    }
    return new RouteTable(registry.version(), Map.copyOf(exact), Map.copyOf(wildcard));
  }

  long version() {
    return version;
  }

  /**
   * @param authority the Host header (or HTTP/2 :authority), port and case ignored
   * @return the service, or null when no service has this host
   */
  HttpService lookup(String authority) {
    if (authority == null || authority.isEmpty()) {
      return null;
    }
    String host = hostOnly(authority);
    HttpService service = exact.get(host);
    if (service != null || wildcard.isEmpty()) {
      return service;
    }
    int dot = host.indexOf('.');
    return dot > 0 ? wildcard.get(host.substring(dot + 1)) : null;
  }

  /** Lower-cased host without port; IPv6 literals keep their brackets. */
  static String hostOnly(String authority) {
    int end = authority.length();
    if (authority.charAt(0) == '[') {
      int close = authority.indexOf(']');
      end = close < 0 ? end : close + 1;
    } else {
      int colon = authority.lastIndexOf(':');
      if (colon >= 0) {
        end = colon;
      }
    }
    if (end > 0 && authority.charAt(end - 1) == '.') {
      end--; // a trailing dot names the same host
    }
    String host = authority.substring(0, end);
    for (int i = 0; i < host.length(); i++) {
      if (Character.isUpperCase(host.charAt(i))) {
        return host.toLowerCase(Locale.ROOT);
      }
    }
    return host;
  }
}
