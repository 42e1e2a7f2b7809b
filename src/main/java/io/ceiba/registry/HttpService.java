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
    boolean acme) {

  public HttpService {
    hosts = List.copyOf(hosts);
    backends = List.copyOf(backends);
    fallback = List.copyOf(fallback);
    middlewares = List.copyOf(middlewares);
  }

  /** The primary backends, then the fallback ones. */
  public List<Backend> allBackends() {
    return fallback.isEmpty() ? backends : java.util.stream.Stream.concat(backends.stream(), fallback.stream()).toList();
  }
}
