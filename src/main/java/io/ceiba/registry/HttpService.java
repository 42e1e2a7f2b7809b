package io.ceiba.registry;

import java.util.List;

/**
 * An HTTP service: the hosts it answers, where its backends live, and how the edge treats it.
 *
 * @param hosts        lower-cased host names; {@code *.example.test} matches one label
 * @param fallback     used only when no primary backend is healthy
 * @param cache        null when the service is not cached
 * @param maxBodyBytes largest request body accepted ({@code 413} beyond)
 * @param upstreamTls  how its {@code https://} backends are verified (the {@code upstream_tls} block)
 * @param routes       its {@code routes}, compiled; {@link Routes#NONE}: every path goes to the service as a whole
 */
public record HttpService(
    String name,
    List<String> hosts,
    List<Backend> backends,
    List<Backend> fallback,
    LbPolicy lb,
    HealthSpec health,
    AccessSpec access,
    RateLimitSpec rateLimit,
    CacheSpec cache,
    List<Middleware> middlewares,
    long maxBodyBytes,
    Timeouts timeouts,
    UpstreamTls upstreamTls,
    boolean acme,
    Routes routes) {

  public HttpService {
    hosts = List.copyOf(hosts);
    backends = List.copyOf(backends);
    fallback = List.copyOf(fallback);
    middlewares = List.copyOf(middlewares);
  }

  /** The service as it is for the requests of a route: the same, with the route's overrides and without routes. */
  public HttpService forRoute(List<Backend> ownBackends, AccessSpec access, RateLimitSpec rateLimit, CacheSpec cache,
      List<Middleware> middlewares) {
    return new HttpService(name, hosts, ownBackends == null ? backends : ownBackends, ownBackends == null ? fallback : List.of(), lb,
        health, access, rateLimit, cache, middlewares, maxBodyBytes, timeouts, upstreamTls, acme, Routes.NONE);
  }

  /** Every backend health checks watch: the service's and its routes' own, each once. */
  public List<Backend> checkedBackends() {
    if (routes.isEmpty()) {
      return allBackends();
    }
    java.util.LinkedHashSet<Backend> all = new java.util.LinkedHashSet<>(allBackends());
    routes.list().stream().filter(Route::ownBackends).forEach(r -> all.addAll(r.service().backends()));
    return List.copyOf(all);
  }

  /** The primary backends, then the fallback ones. */
  public List<Backend> allBackends() {
    return fallback.isEmpty() ? backends : java.util.stream.Stream.concat(backends.stream(), fallback.stream()).toList();
  }
}
