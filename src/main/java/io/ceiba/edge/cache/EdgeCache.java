package io.ceiba.edge.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.ceiba.observability.MetricNames;
import io.ceiba.registry.HttpService;
import io.ceiba.registry.Route;
import io.ceiba.registry.Registry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.MultiMap;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The node's cache of GET/HEAD responses for services with {@code cache: { ttl }}, shared by every edge
 * instance of the node. Thread-safe: Caffeine holds the entries (bounded by total bytes, each entry
 * expiring after its own freshness lifetime) and the per-service scopes are swapped whole, lock-free, when
 * a registry is applied. What may be stored and for how long is {@link CacheRules}'.
 */
public final class EdgeCache {

  /** Total bytes of cached bodies and headers (estimated) the node keeps; least used entries go first beyond it. */
  public static final long DEFAULT_MAX_BYTES = 64L * 1024 * 1024;
  /** A response body larger than this is streamed to the client and not stored. */
  public static final int DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;

  /** What a cacheable request met, as sent in {@code X-Ceiba-Cache} and counted in {@code ceiba_edge_cache_total{result}}. */
  public enum Result {
    HIT, MISS, BYPASS;

    private final String label = name().toLowerCase(java.util.Locale.ROOT);

    public String label() {
      return label;
    }
  }

  /**
   * One service definition's share of the cache. Keys hold their scope by identity: when the registry
   * changes a service, it gets a new scope, so what was stored under the old definition is never served again.
   */
  public static final class Scope {
    private final HttpService service;
    private final long ttlNanos;

    Scope(HttpService service) {
      this.service = service;
      this.ttlNanos = service.cache().ttl().toNanos();
    }

    public String serviceName() {
      return service.name();
    }

    public long ttlNanos() {
      return ttlNanos;
    }
  }

  /**
   * @param origin  what names the origin's view of the request: the scheme and host (with port) an origin gets in
   *                {@code X-Forwarded-Proto}, {@code Host} and {@code X-Forwarded-Host}. An origin may build links
   *                from any of them, so requests that differ in any one never share an entry
   * @param uri     the target in origin-form, as the origin gets it
   * @param project the caller's project for services that are not public, so one project never gets another's response
   * @param variant null for the primary key; else the request's values of the headers the response's
   *                {@code Vary} lists. Only GET-class requests (GET, and HEAD answered from a GET) are cached,
   *                so the method class is implied.
   */
  public record Key(Scope scope, String origin, String uri, String project, String variant) {

    /**
     * The key of a request whose origin gets {@code scheme} as {@code X-Forwarded-Proto}, {@code host} as
     * {@code Host} and {@code forwardedHost} as {@code X-Forwarded-Host} (the same text unless a trusted proxy
     * set it). Host names compare without case; ports are kept: {@code a.test:6666} is not {@code a.test}.
     */
    public static Key of(Scope scope, String scheme, String host, String forwardedHost, String uri, String project) {
      String h = host.toLowerCase(Locale.ROOT);
      String origin = scheme + "://" + h;
      if (!forwardedHost.equalsIgnoreCase(host)) {
        origin = origin + " " + forwardedHost.toLowerCase(Locale.ROOT);
      }
      return new Key(scope, origin, uri, project, null);
    }

    Key withVariant(String values) {
      return new Key(scope, origin, uri, project, values);
    }
  }

  private record Applied(long version, Map<String, Scope> scopes) {
  }

  private final Cache<Key, Stored> entries;
  private final int maxEntryBytes;
  private final AtomicReference<Applied> applied = new AtomicReference<>(new Applied(Long.MIN_VALUE, Map.of()));
  private final Counter[] results = new Counter[Result.values().length];

  public EdgeCache(MeterRegistry meters) {
    this(meters, DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRY_BYTES);
  }

  public EdgeCache(MeterRegistry meters, long maxBytes, int maxEntryBytes) {
    this.maxEntryBytes = maxEntryBytes;
    this.entries = Caffeine.newBuilder()
        .executor(Runnable::run) // upkeep on the reading event loop, not handed to the common pool (see Limiter#buckets)
        .maximumWeight(maxBytes)
        .weigher((Key key, Stored value) -> value.weight())
        .expireAfter(new Expiry<Key, Stored>() {
          @Override
          public long expireAfterCreate(Key key, Stored value, long now) {
            return value.lifetimeNanos();
          }

          @Override
          public long expireAfterUpdate(Key key, Stored value, long now, long current) {
            return value.lifetimeNanos();
          }

          @Override
          public long expireAfterRead(Key key, Stored value, long now, long current) {
            return current;
          }
        })
        .build();
    for (Result r : Result.values()) {
      results[r.ordinal()] = Counter.builder(MetricNames.EDGE_CACHE).tag(MetricNames.TAG_RESULT, r.label())
          .description("Cacheable requests by what they met in the edge cache").register(meters);
    }
    Gauge.builder(MetricNames.EDGE_CACHE_BYTES, this, c -> c.entries.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L))
        .description("Bytes held by the edge cache (bodies and headers, estimated)").register(meters);
  }

  public int maxEntryBytes() {
    return maxEntryBytes;
  }

  /**
   * The scopes of a registry's cached services, by service name. Called by every edge instance for every
   * registry it applies: the first call for a newer version makes the scopes (a service whose definition is
   * unchanged keeps its scope and entries), drops the entries of changed and removed services, and the
   * other instances get the same scopes.
   */
  public Map<String, Scope> apply(Registry registry) {
    while (true) {
      Applied current = applied.get();
      if (registry.version() == current.version()) {
        return current.scopes();
      }
      Map<String, Scope> next = scopesFor(registry, current.scopes());
      if (registry.version() < current.version()) {
        return next; // an instance catching up with an older snapshot: never shares scopes it must not
      }
      if (applied.compareAndSet(current, new Applied(registry.version(), next))) {
        Set<Scope> gone = identitySet(current.scopes().values());
        gone.removeAll(identitySet(next.values()));
        if (!gone.isEmpty()) {
          // unreachable already (keys hold their scope); this frees the memory, off the event loop
          ForkJoinPool.commonPool().execute(() -> entries.asMap().keySet().removeIf(k -> gone.contains(k.scope())));
        }
        return next;
      }
    }
  }

  private static Set<Scope> identitySet(java.util.Collection<Scope> scopes) {
    Set<Scope> set = Collections.newSetFromMap(new IdentityHashMap<>());
    set.addAll(scopes);
    return set;
  }

  /** The name of the scope of a route that sets {@code cache} itself. */
  public static String routeScopeName(HttpService service, Route route) {
    return service.name() + "#" + route.name();
  }

  private static Map<String, Scope> scopesFor(Registry registry, Map<String, Scope> previous) {
    Map<String, Scope> next = new HashMap<>();
    for (HttpService service : registry.http().values()) {
      if (service.cache() != null) {
        Scope old = previous.get(service.name());
        next.put(service.name(), old != null && old.service.equals(service) ? old : new Scope(service));
      }
      for (Route route : service.routes().list()) {
        if (route.ownCache() && route.service().cache() != null) {
          String name = routeScopeName(service, route);
          Scope old = previous.get(name);
          next.put(name, old != null && old.service.equals(route.service()) ? old : new Scope(route.service()));
        }
      }
    }
    return Map.copyOf(next);
  }

  /** Counts a cacheable request's result. */
  public void count(Result result) {
    results[result.ordinal()].increment();
  }

  /**
   * @return the fresh response stored for this request, or null
   */
  public CachedResponse lookup(Key key, MultiMap requestHeaders) {
    Stored found = entries.getIfPresent(key);
    if (found instanceof Variants variants) {
      found = entries.getIfPresent(key.withVariant(variants.valuesOf(requestHeaders)));
    }
    return found instanceof CachedResponse response && response.isFresh(System.nanoTime()) ? response : null;
  }

  /** Stores a whole response fetched for {@code key} (a GET whose request headers are {@code requestHeaders}). */
  public void store(Key key, MultiMap requestHeaders, CachedResponse response) {
    List<String> vary = response.vary();
    if (vary.isEmpty()) {
      entries.put(key, response);
      return;
    }
    Variants variants = new Variants(vary, response.lifetimeNanos());
    entries.put(key, variants);
    entries.put(key.withVariant(variants.valuesOf(requestHeaders)), response);
  }

  /** Something the cache holds under a key: a response, or the {@link Variants} marker of a response with {@code Vary}. */
  sealed interface Stored permits CachedResponse, Variants {
    int weight();

    long lifetimeNanos();
  }

  /** Under the primary key of a response with {@code Vary}: which request headers pick the variant. */
  record Variants(List<String> names, long lifetimeNanos) implements Stored {
    @Override
    public int weight() {
      return 64 + names.stream().mapToInt(String::length).sum();
    }

    String valuesOf(MultiMap requestHeaders) {
      StringBuilder sb = new StringBuilder();
      for (String name : names) {
        List<String> values = requestHeaders.getAll(name);
        // an absent header differs from an empty one
        sb.append(values.isEmpty() ? "\u0001" : String.join(",", values)).append('\u0000');
      }
      return sb.toString();
    }
  }
}
