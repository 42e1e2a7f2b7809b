package io.ceiba.access;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.ceiba.access.limit.Bucket;
import io.ceiba.access.limit.CreditCounter;
import io.ceiba.access.limit.LimitResult;
import io.ceiba.access.limit.Limiter;
import io.ceiba.access.limit.QuotaOwner;
import io.ceiba.bus.Addresses;
import io.ceiba.bus.Contexts;
import io.ceiba.registry.AccessSpec;
import io.ceiba.registry.HttpService;
import io.ceiba.registry.Rate;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The edge's side of access control, one per node and shared by its edge instances (thread-safe: a
 * Caffeine cache, a concurrent map of lookups in flight, and the thread-safe {@link Limiter}).
 *
 * <p>Key records are cached by key hash, found and not found alike. A fresh entry answers with no
 * round trip at all; past its freshness the record is looked up again through an auth verticle (this
 * node's when it has the role, any node's otherwise), and while authorization cannot answer a stale
 * record keeps serving for up to {@link #STALE} (Kong's {@code db_resurrect_ttl}). Changes to keys, plans
 * and subscriptions arrive on {@link Addresses#ACCESS_CHANGED} and drop exactly the entries they touch,
 * which is how a revocation reaches every node in milliseconds rather than a TTL.
 */
public final class AccessGate {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AccessGate.class);
  static final Duration FRESH = Duration.ofSeconds(30);
  static final Duration FRESH_NOT_FOUND = Duration.ofSeconds(10);
  static final Duration STALE = Duration.ofMinutes(10);
  static final long LOOKUP_TIMEOUT_MS = 1000;

  private final Vertx vertx;
  private final Limiter limiter;
  /** Null: credits are not counted (a gate without Redis access, in benchmarks). */
  private final CreditCounter credits;
  private final DeliveryOptions lookupOptions;
  private final Cache<String, Cached> keys = Caffeine.newBuilder()
      .executor(Runnable::run) // see Limiter#buckets
      .maximumSize(100_000).expireAfterWrite(STALE).build();
  private final Map<String, Future<Cached>> inFlight = new ConcurrentHashMap<>();
  /** By {@link Reason#ordinal()}: counted on every request, so an array rather than a map. */
  private final Counter[] decisions = new Counter[Reason.values().length];
  private final Counter staleServed;

  /**
   * A key record (null: no such key), when it was fetched, and what a request under each of its subscriptions'
   * plans needs besides: made once per fetched record rather than once per request.
   *
   * @param planless the identity headers when no plan applies (an {@code api-key} service the plans do not grant)
   */
  private record Cached(KeyRecord record, long fetchedNanos, PlanSlot[] slots, CallerHeaders planless) {

    static Cached of(KeyRecord record, long fetchedNanos, Limiter limiter) {
      if (record == null) {
        return new Cached(null, fetchedNanos, new PlanSlot[0], null);
      }
      CallerHeaders planless = CallerHeaders.of(record);
      PlanSlot[] slots = new PlanSlot[record.subscriptions().size()];
      for (int i = 0; i < slots.length; i++) {
        Plan plan = record.subscriptions().get(i).plan();
        // limits and quotas count per project and plan: a project's keys share them
        slots[i] = new PlanSlot(limiter.bucket(record.projectId() + ":" + plan.name(),
            plan.quota() == null ? null : new QuotaOwner(record.projectId(), plan.name())), planless.under(plan),
            plan.classLimits().isEmpty() ? Map.of() : new ConcurrentHashMap<>());
      }
      return new Cached(record, fetchedNanos, slots, planless);
    }

    Cached fetchedAt(long nanos) {
      return new Cached(record, nanos, slots, planless);
    }

    boolean fresh(long now) {
      return now - fetchedNanos < (record == null ? FRESH_NOT_FOUND : FRESH).toNanos();
    }

    /** What requests under {@code plan}, one of the record's subscriptions' plans, need. */
    PlanSlot slot(Plan plan) {
      for (int i = 0; i < slots.length; i++) {
        if (record.subscriptions().get(i).plan() == plan) {
          return slots[i];
        }
      }
      throw new IllegalArgumentException("plan " + plan.name() + " is not one of the key's subscriptions");
    }

    CallerHeaders caller(Plan plan) {
      return plan == null ? planless : slot(plan).caller();
    }
  }

  /**
   * A project's limit counter under one plan (held here, so a request does not look it up by name), the identity
   * headers of requests admitted under it, and its counters per route class the plan limits (made when first used).
   */
  private record PlanSlot(Bucket bucket, CallerHeaders caller, Map<String, Bucket> classBuckets) {

    Bucket classBucket(String className, Limiter limiter) {
      return classBuckets.computeIfAbsent(className, c -> limiter.bucket(bucket.key() + ":class:" + c, null));
    }
  }

  /** Thrown (stackless) when no auth verticle answered. */
  static final class AuthUnavailable extends RuntimeException {
    AuthUnavailable(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * @param localAuth whether this node runs the auth role, so lookups stay on the node
   */
  public AccessGate(Vertx vertx, Limiter limiter, boolean localAuth, MeterRegistry meters) {
    this(vertx, limiter, null, localAuth, meters);
  }

  /**
   * @param credits    where plans' credit balances are charged
   * @param localAuth whether this node runs the auth role, so lookups stay on the node
   */
  public AccessGate(Vertx vertx, Limiter limiter, CreditCounter credits, boolean localAuth, MeterRegistry meters) {
    this.vertx = vertx;
    this.limiter = limiter;
    this.credits = credits;
    this.lookupOptions = new DeliveryOptions().setSendTimeout(LOOKUP_TIMEOUT_MS).setLocalOnly(localAuth);
    for (Reason reason : Reason.values()) {
      decisions[reason.ordinal()] = Counter.builder(io.ceiba.observability.MetricNames.AUTH_DECISIONS)
          .tag("decision", reason.allows() ? "allowed" : "denied").tag("reason", reason.label())
          .description("access decisions at the edge").register(meters);
    }
    staleServed = Counter.builder("ceiba.auth.stale.served")
        .description("keyed requests decided from a stale cached key because authorization did not answer").register(meters);
  }

  /**
   * Decides one request. Call on the edge's event loop; the future completes there, already complete
   * when the key is cached and its limit has a local lease.
   *
   * @param client the caller's address; its text is made only for a public service's per-IP limit
   */
  public Future<Decision> authorize(HttpService service, String presentedKey, SocketAddress client) {
    return authorize(service, null, presentedKey, client);
  }

  /**
   * As {@link #authorize(HttpService, String, SocketAddress)} for a request a route of {@code routeClass} took
   * ({@code service} being the route's view of the service): per-IP limits count per class, and a plan's limit
   * for the class applies besides its plan-wide limit and quota.
   *
   * @param routeClass the route class, or null for a service without routes
   */
  public Future<Decision> authorize(HttpService service, String routeClass, String presentedKey, SocketAddress client) {
    return authorize(service, routeClass, null, presentedKey, client);
  }

  /**
   * As {@link #authorize(HttpService, String, String, SocketAddress)}; an admitted request under a plan with credits
   * is charged its cost.
   *
   * @param routeCost the route's own {@code cost}, or null (the plan's cost for the class, else 1)
   */
  public Future<Decision> authorize(HttpService service, String routeClass, Long routeCost, String presentedKey, SocketAddress client) {
    Future<Decision> decided = decide(service, routeClass, routeCost, presentedKey, client, true);
    if (decided.succeeded()) {
      decisions[decided.result().reason().ordinal()].increment();
      return decided;
    }
    return decided.andThen(ar -> {
      if (ar.succeeded()) {
        decisions[ar.result().reason().ordinal()].increment();
      }
    });
  }

  /** What {@link #authorize} would answer, without counting against any limit ({@code POST /v1/verify}). */
  public Future<Decision> verify(HttpService service, String routeClass, Long routeCost, String presentedKey) {
    return decide(service, routeClass, routeCost, presentedKey, null, false);
  }

  private Future<Decision> decide(HttpService service, String routeClass, Long routeCost, String presentedKey, SocketAddress client,
      boolean take) {
    AccessSpec access = service.access();
    if (access.policy() == AccessSpec.Policy.PUBLIC) {
      Rate perIp = service.rateLimit().perIp();
      String clientIp = perIp == null || client == null ? null : client.hostAddress();
      if (clientIp == null) {
        return Future.succeededFuture(Decision.PUBLIC);
      }
      Plan.RateLimit limit = new Plan.RateLimit(perIp.requests(), perIp.per(), perIp.requests());
      String bucket = routeClass == null ? "ip:" + service.name() + ":" + clientIp
          : "ip:" + service.name() + ":class:" + routeClass + ":" + clientIp;
      return (take ? limiter.acquire(bucket, limit, null, null) : limiter.peek(bucket, limit, null, null))
          .map(l -> new Decision(l.allowed() ? Reason.PUBLIC : l.refusal(), null, null, l, false, null));
    }
    if (presentedKey == null) {
      return Future.succeededFuture(Decision.of(Reason.MISSING_KEY));
    }
    if (!ApiKeys.plausible(presentedKey)) {
      return Future.succeededFuture(Decision.of(Reason.INVALID_KEY));
    }
    String hash = ApiKeys.hex(ApiKeys.hash(presentedKey));
    Cached cached = keys.getIfPresent(hash);
    if (cached != null && cached.fresh(System.nanoTime())) {
      return withCredits(withLimits(service, routeClass, cached, take, false), routeClass, routeCost, take);
    }
    return lookup(hash)
        .compose(fetched -> withCredits(withLimits(service, routeClass, fetched, take, false), routeClass, routeCost, take))
        .recover(e -> {
          LOG.debug("key lookup failed ({}); cached record: {}", e.getMessage(),
              cached == null ? "none" : cached.record() == null ? "unknown key" : "stale, served");
          if (cached != null && cached.record() != null) {
            staleServed.increment();
            return withCredits(withLimits(service, routeClass, cached, take, true), routeClass, routeCost, take);
          }
          return Future.succeededFuture(Decision.of(access.onUnavailable() == AccessSpec.OnUnavailable.FAIL_OPEN
              ? Reason.FAIL_OPEN : Reason.AUTH_UNAVAILABLE));
        });
  }

  /**
   * Charges an admitted request under a plan with credits its cost (after its limits, so a request they refuse costs
   * nothing). A balance that cannot be charged (Redis unavailable, or the ledger did not answer for a balance Redis
   * lost) refuses as authorization unavailable: a credit balance is never overspent.
   */
  private Future<Decision> withCredits(Future<Decision> limited, String routeClass, Long routeCost, boolean take) {
    if (credits == null) {
      return limited;
    }
    if (limited.succeeded()) {
      Decision d = limited.result();
      return charged(d) ? charge(d, routeClass, routeCost, take) : limited;
    }
    return limited.compose(d -> charged(d) ? charge(d, routeClass, routeCost, take) : Future.succeededFuture(d));
  }

  private static boolean charged(Decision d) {
    return d.allowed() && d.plan() != null && d.plan().credits() != null && d.key() != null;
  }

  private Future<Decision> charge(Decision d, String routeClass, Long routeCost, boolean take) {
    Plan.Credits grant = d.plan().credits();
    return credits.charge(new QuotaOwner(d.key().projectId(), d.plan().name()), grant, grant.cost(routeClass, routeCost), take)
        .map(d::charged)
        .recover(e -> {
          LOG.debug("credits of {} cannot be charged: {}", d.key().projectId(), e.getMessage());
          return Future.succeededFuture(new Decision(Reason.AUTH_UNAVAILABLE, d.key(), d.plan(), d.limits(), d.stale(), d.caller()));
        });
  }

  private Future<Decision> withLimits(HttpService service, String routeClass, Cached cached, boolean take, boolean stale) {
    KeyRecord record = cached.record();
    if (record == null) {
      return Future.succeededFuture(Decision.of(Reason.INVALID_KEY));
    }
    AccessPolicy.Verdict verdict = AccessPolicy.evaluate(record, service.name(), service.access(), WallClock.now());
    Plan plan = verdict.plan();
    Plan.RateLimit classLimit = plan == null ? null : plan.classLimit(routeClass);
    if (verdict.reason() != Reason.VALID_KEY || plan == null || (plan.rateLimit() == null && plan.quota() == null && classLimit == null)) {
      return Future.succeededFuture(new Decision(verdict.reason(), record, plan, null, stale, cached.caller(plan)));
    }
    PlanSlot slot = cached.slot(plan);
    if (classLimit != null) {
      return withClassLimit(slot.classBucket(routeClass, limiter), classLimit, record, plan, slot, take, stale);
    }
    Future<LimitResult> limited = take ? limiter.acquire(slot.bucket(), plan.rateLimit(), plan.quota())
        : limiter.peek(slot.bucket(), plan.rateLimit(), plan.quota());
    if (limited.succeeded()) {
      // served from a lease, the common case: no second future on the request path
      return Future.succeededFuture(limitedDecision(limited.result(), record, plan, slot, stale));
    }
    return limited.map(l -> limitedDecision(l, record, plan, slot, stale));
  }

  /**
   * A request of a route class the plan limits: the class's counter first (a refusal there takes nothing from the
   * plan's), then the plan-wide limit and quota when the plan has them. The limit headers report the tighter.
   */
  private Future<Decision> withClassLimit(Bucket classBucket, Plan.RateLimit classLimit, KeyRecord record, Plan plan, PlanSlot slot,
      boolean take, boolean stale) {
    Future<LimitResult> byClass = take ? limiter.acquire(classBucket, classLimit, null) : limiter.peek(classBucket, classLimit, null);
    return byClass.compose(c -> {
      if (!c.allowed() || (plan.rateLimit() == null && plan.quota() == null)) {
        return Future.succeededFuture(limitedDecision(c, record, plan, slot, stale));
      }
      Future<LimitResult> byPlan = take ? limiter.acquire(slot.bucket(), plan.rateLimit(), plan.quota())
          : limiter.peek(slot.bucket(), plan.rateLimit(), plan.quota());
      return byPlan.map(p -> limitedDecision(!p.allowed() || p.remaining() < c.remaining() ? p : c, record, plan, slot, stale));
    });
  }

  private static Decision limitedDecision(LimitResult limits, KeyRecord record, Plan plan, PlanSlot slot, boolean stale) {
    return new Decision(limits.allowed() ? Reason.VALID_KEY : limits.refusal(), record, plan, limits, stale, slot.caller());
  }

  /**
   * Adds a stored top-up to the balance in Redis; the balance after it, or null when Redis holds none (the next
   * request rebuilds it from the ledger, top-up included).
   */
  public Future<Long> topUp(String projectId, Plan plan, long amount, java.time.Instant at) {
    return credits == null ? Future.succeededFuture(null)
        : credits.topUp(new QuotaOwner(projectId, plan.name()), plan.credits(), amount, at);
  }

  /**
   * Gives back to Redis what the limiter leased and did not use: for a node that stops, after its edge stopped
   * admitting (else those requests would stay counted against their quotas until the period ends).
   */
  public Future<Void> giveBackLeases() {
    return limiter.giveBackLeases();
  }

  /** One lookup per key hash at a time, whichever edge instance asks; the answer is cached. */
  private Future<Cached> lookup(String hash) {
    var caller = vertx.getOrCreateContext();
    Future<Cached> shared = inFlight.computeIfAbsent(hash, h -> vertx.eventBus()
        .<JsonObject>request(Addresses.AUTH_LOOKUP, h, lookupOptions)
        .<Cached>transform(ar -> {
          if (ar.failed()) {
            return Future.failedFuture(new AuthUnavailable(String.valueOf(ar.cause().getMessage())));
          }
          JsonObject body = ar.result().body();
          KeyRecord record = body.getBoolean("found", false) ? KeyRecord.fromJson(body.getJsonObject("key")) : null;
          Cached fetched = Cached.of(record, System.nanoTime(), limiter);
          keys.put(h, fetched);
          return Future.succeededFuture(fetched);
        })
        .andThen(ar -> inFlight.remove(h)));
    return Contexts.onContext(caller, shared);
  }

  /**
   * Applies a change: keys named by {@code hashes} (hex; revoked keys) are dropped outright, so a revoked
   * key is never served again, not even while authorization is down; {@code unknown} (new keys) lose only a
   * cached "no such key"; keys of the {@code projects}
   * (their plans or subscriptions changed) become stale, so they are read again at once but can still
   * serve from the old record during an outage.
   */
  public void invalidate(JsonObject change) {
    JsonArray hashes = change.getJsonArray("hashes", new JsonArray());
    hashes.forEach(h -> keys.invalidate(String.valueOf(h)));
    JsonArray unknown = change.getJsonArray("unknown", new JsonArray());
    unknown.forEach(h -> keys.asMap().computeIfPresent(String.valueOf(h), (k, c) -> c.record() == null ? null : c));
    JsonArray projects = change.getJsonArray("projects", new JsonArray());
    if (!projects.isEmpty()) {
      Set<String> ids = new HashSet<>();
      projects.forEach(p -> ids.add(String.valueOf(p)));
      long stale = System.nanoTime() - FRESH.toNanos() - 1;
      keys.asMap().replaceAll((hash, c) -> c.record() != null && ids.contains(c.record().projectId()) ? c.fetchedAt(stale) : c);
    }
  }
}
