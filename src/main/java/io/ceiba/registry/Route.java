package io.ceiba.registry;

import java.util.Map;
import java.util.Set;

/**
 * One entry of a service's {@code routes}: which requests it takes (path, methods, headers) and how the edge treats
 * them, as an {@link HttpService} of their own ({@code service}: the service with the route's overrides of backends,
 * access, rate limit, cache and middlewares; same name, no routes).
 *
 * @param index      position in the service's list (ties of precedence go to the earlier)
 * @param name       the {@code route} label of metrics and logs: the route's {@code name}, else its methods and path
 * @param className  the route class ({@code auth}, {@code read}, {@code write}, any label): limits count per class
 * @param methods    upper-case methods it takes, null: any
 * @param headers    lower-case header names and the value each must have ({@code *}: present with any value)
 * @param ownBackends whether it has backends of its own (its own balancer)
 * @param ownCache   whether it sets {@code cache} itself (its own cache scope)
 * @param line       where it is written, for problems about it
 * @param cost       credits a keyed request of this route consumes under a plan with credits; null: the plan's cost for
 *                   the route class, else 1
 */
public record Route(int index, String name, String className, RoutePattern pattern, Set<String> methods,
    Map<String, String> headers, HttpService service, boolean ownBackends, boolean ownCache, int line, Long cost) {

  /** Most credits one request may cost. */
  public static final long MAX_COST = 1_000_000;

  /** A route without a cost of its own. */
  public Route(int index, String name, String className, RoutePattern pattern, Set<String> methods,
      Map<String, String> headers, HttpService service, boolean ownBackends, boolean ownCache, int line) {
    this(index, name, className, pattern, methods, headers, service, ownBackends, ownCache, line, null);
  }

  /** Route class of a route that names none. */
  public static final String DEFAULT_CLASS = "default";

  public Route {
    methods = methods == null ? null : Set.copyOf(methods);
    headers = Map.copyOf(headers);
  }

  /** How many constraints besides the path it sets: more is more specific. */
  int constraints() {
    return (methods == null ? 0 : 1) + headers.size();
  }

  /** Whether the method and headers satisfy the route's constraints. */
  boolean admits(String method, HeaderLookup lookup) {
    if (methods != null && !methods.contains(method)) {
      return false;
    }
    if (headers.isEmpty()) {
      return true;
    }
    for (Map.Entry<String, String> h : headers.entrySet()) {
      String value = lookup.get(h.getKey());
      if (value == null || (!h.getValue().equals("*") && !h.getValue().equals(value))) {
        return false;
      }
    }
    return true;
  }

  /** Whether every request this route takes is also taken by {@code other} (same path, looser or equal constraints). */
  boolean coveredBy(Route other) {
    if (!pattern.key().equals(other.pattern.key()) || pattern.kind() != other.pattern.kind()) {
      return false;
    }
    if (other.methods != null && (methods == null || !other.methods.containsAll(methods))) {
      return false;
    }
    return headers.entrySet().containsAll(other.headers.entrySet());
  }

  /** A request's header by (lower-case) name, null when absent. */
  @FunctionalInterface
  public interface HeaderLookup {
    String get(String name);
  }
}
