package io.ceiba.edge.http;

import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.HostAndPort;

/**
 * The request target of RFC 9112 §3.2 turned into what an origin gets: origin-form ({@code /path?query}) and
 * one authority. An absolute-form target ({@code GET http://a.example/x}) names the authority itself, which
 * then replaces {@code Host} for routing and upstream, as §3.2.2 requires; authority-form ({@code CONNECT}) and
 * other schemes are refused; asterisk-form only with {@code OPTIONS}.
 *
 * @param originForm what goes upstream as the target
 * @param authority  the authority of an absolute-form target, or null: then {@code Host} names it
 */
public record RequestTarget(String originForm, String authority) {

  /** The target, or null when it is not one the edge forwards (see {@link #problem}). */
  public static RequestTarget of(HttpMethod method, String uri) {
    if (method == HttpMethod.CONNECT) {
      return null; // whatever its target: a tunnel is not something the edge routes
    }
    if (uri.startsWith("/")) {
      return new RequestTarget(uri, null);
    }
    if (uri.equals("*")) {
      return method == HttpMethod.OPTIONS ? new RequestTarget(uri, null) : null;
    }
    int afterScheme = uri.regionMatches(true, 0, "http://", 0, 7) ? 7 : uri.regionMatches(true, 0, "https://", 0, 8) ? 8 : -1;
    if (afterScheme < 0) {
      return null;
    }
    int end = afterScheme;
    while (end < uri.length() && "/?#".indexOf(uri.charAt(end)) < 0) {
      end++;
    }
    String authority = uri.substring(afterScheme, end);
    if (authority.isEmpty() || authority.indexOf('@') >= 0 || HostAndPort.parseAuthority(authority, -1) == null) {
      return null; // no host, userinfo (RFC 9110 §4.2.4 forbids it in http URIs), or not a host[:port]
    }
    String rest = uri.substring(end);
    String path = rest.isEmpty() || rest.charAt(0) != '/' ? "/" + rest : rest;
    return new RequestTarget(path, authority);
  }

  /** Why {@code uri} is refused; only meaningful when {@link #of} gave null. */
  public static String problem(HttpMethod method, String uri) {
    if (method == HttpMethod.CONNECT) {
      return "CONNECT is not served: the edge is not a forward proxy";
    }
    if (uri.equals("*")) {
      return "an asterisk target is only for OPTIONS";
    }
    return "request target must be a path or an http(s) URL with a host";
  }
}
