package io.ceiba.registry;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A service's routes, compiled once per registry version into lookups a request walks without regular expressions:
 * exact paths in a hash map, templates in a tree of segments, prefixes in a hash map probed at each '/' of the path
 * from the longest down. The most specific match wins: any exact path over any template over any prefix; among
 * templates, literal segments before parameters at the first place they differ; among prefixes, the longest; for the
 * same path, the route with more constraints (methods, headers); then the earlier route.
 */
public final class Routes {

  public static final Routes NONE = new Routes(List.of());

  private final List<Route> list;
  /** By the rank {@link #PRECEDENCE} gives: a lower rank wins. */
  private final int[] rank;
  private final Map<String, Route[]> exact = new HashMap<>();
  private final Map<String, Route[]> prefixes = new HashMap<>();
  private final Node templates = new Node();
  private final int longestPrefix;

  /** Tree of template segments: literal children, one parameter child, the routes ending here. */
  private static final class Node {
    final Map<String, Node> literal = new HashMap<>();
    Node param;
    Route[] routes = new Route[0];
  }

  static final Comparator<Route> PRECEDENCE = Comparator
      .<Route>comparingInt(r -> r.pattern().kind().ordinal())
      .thenComparing((a, b) -> a.pattern().kind() == RoutePattern.Kind.TEMPLATE && b.pattern().kind() == RoutePattern.Kind.TEMPLATE
          ? a.pattern().compareTemplate(b.pattern()) : 0)
      .thenComparing(r -> -r.pattern().key().length())
      .thenComparing(r -> -r.constraints())
      .thenComparingInt(Route::index);

  public Routes(List<Route> routes) {
    this.list = List.copyOf(routes);
    List<Route> sorted = new ArrayList<>(list);
    sorted.sort(PRECEDENCE);
    rank = new int[list.size()];
    for (int i = 0; i < sorted.size(); i++) {
      rank[sorted.get(i).index()] = i;
    }
    int longest = 0;
    for (Route r : sorted) {
      RoutePattern p = r.pattern();
      switch (p.kind()) {
        case EXACT -> exact.merge(p.key(), new Route[] {r}, Routes::append);
        case PREFIX -> {
          prefixes.merge(p.prefix(), new Route[] {r}, Routes::append);
          longest = Math.max(longest, p.prefix().length());
        }
        case TEMPLATE -> {
          Node node = templates;
          for (String s : p.segments()) {
            if (s == null) {
              node = node.param == null ? (node.param = new Node()) : node.param;
            } else {
              node = node.literal.computeIfAbsent(s, k -> new Node());
            }
          }
          node.routes = append(node.routes, new Route[] {r});
        }
        default -> throw new IllegalStateException();
      }
    }
    longestPrefix = longest;
  }

  private static Route[] append(Route[] a, Route[] b) {
    Route[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  public List<Route> list() {
    return list;
  }

  public boolean isEmpty() {
    return list.isEmpty();
  }

  /**
   * @param path    a {@link RequestPaths#normalise normalised} path, without the query
   * @param method  upper-case request method
   * @param headers the request's headers
   * @return the route that takes the request, or null when none does
   */
  public Route match(String path, String method, Route.HeaderLookup headers) {
    Route found = first(exact.get(path), method, headers);
    if (found != null) {
      return found;
    }
    if (!templates.literal.isEmpty() || templates.param != null) {
      found = template(templates, RequestPaths.segments(path), 0, method, headers, null);
      if (found != null) {
        return found;
      }
    }
    if (prefixes.isEmpty()) {
      return null;
    }
    if (path.length() + 1 <= longestPrefix && path.charAt(path.length() - 1) != '/') {
      found = first(prefixes.get(path + "/"), method, headers); // '/v1' is taken by the '/v1/' prefix
      if (found != null) {
        return found;
      }
    }
    for (int i = Math.min(path.length(), longestPrefix) - 1; i >= 0; i--) {
      if (path.charAt(i) == '/') {
        found = first(prefixes.get(path.substring(0, i + 1)), method, headers);
        if (found != null) {
          return found;
        }
      }
    }
    return null;
  }

  private static Route first(Route[] candidates, String method, Route.HeaderLookup headers) {
    if (candidates != null) {
      for (Route r : candidates) {
        if (r.admits(method, headers)) {
          return r;
        }
      }
    }
    return null;
  }

  private Route template(Node node, List<String> parts, int at, String method, Route.HeaderLookup headers, Route best) {
    if (at == parts.size()) {
      Route r = first(node.routes, method, headers);
      return r != null && (best == null || rank[r.index()] < rank[best.index()]) ? r : best;
    }
    String part = parts.get(at);
    Node literal = node.literal.get(part);
    if (literal != null) {
      best = template(literal, parts, at + 1, method, headers, best);
    }
    if (node.param != null && !part.isEmpty()) {
      best = template(node.param, parts, at + 1, method, headers, best);
    }
    return best;
  }

  /** The routes that no request can reach, each with one that takes all of its requests first. */
  public List<Route[]> unreachable() {
    List<Route[]> out = new ArrayList<>();
    for (Route r : list) {
      for (Route other : list) {
        if (other != r && rank[other.index()] < rank[r.index()] && r.coveredBy(other)) {
          out.add(new Route[] {r, other});
          break;
        }
      }
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Routes other && other.list.equals(list);
  }

  @Override
  public int hashCode() {
    return list.hashCode();
  }

  @Override
  public String toString() {
    return list.toString();
  }
}
