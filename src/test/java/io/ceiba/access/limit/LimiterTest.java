package io.ceiba.access.limit;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.access.Plan;
import io.ceiba.access.QuotaPeriod;
import io.ceiba.access.Reason;
import io.ceiba.store.redis.RedisService;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.TestRedis;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The limiter against a real Redis: several limiters stand for several nodes sharing one Redis. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LimiterTest {

  private static final QuotaOwner OWNER = new QuotaOwner("p1", "basic");
  /** Shorter than the nodes' 1 s, so that scenarios with gaps longer than a lease lives take seconds, not minutes. */
  private static final Duration LEASE = Duration.ofMillis(200);
  private final Vertx vertx = Vertx.vertx();
  private TestRedis redis;
  /** Reads what the limiters wrote, as an operator would. */
  private Redis reader;

  @BeforeAll
  void start() {
    redis = TestRedis.start();
    reader = Redis.createClient(vertx, redis.url());
  }

  @AfterAll
  void stop() throws Exception {
    reader.close();
    redis.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private RedisService connected(String url) throws Exception {
    return TestRedis.connected(vertx, url);
  }

  /** {@code count} limiters sharing the test's Redis, as {@code count} nodes would, with leases living {@link #LEASE}. */
  private List<Limiter> nodes(int count, java.util.function.LongSupplier wallMillis) throws Exception {
    List<Limiter> nodes = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      nodes.add(new Limiter(vertx, connected(redis.url()), () -> count, QuotaLedger.NONE, new SimpleMeterRegistry(), LEASE, wallMillis));
    }
    return nodes;
  }

  /** The quota counter of {@code bucket} for the period holding {@code at}, as Redis has it (0 when missing). */
  private Future<Long> quotaCounter(String bucket, QuotaPeriod per, Instant at) {
    return reader.send(Request.cmd(Command.GET).arg("ceiba:q:" + bucket + ":" + per.start(at).getEpochSecond()))
        .map(r -> r == null ? 0L : r.toLong());
  }

  /** Waits (on a Vert.x timer, polling Redis) until {@code bucket}'s quota counter reads {@code expected}. */
  private Duration untilQuotaCounterIs(String bucket, QuotaPeriod per, Instant at, long expected) throws Exception {
    return Eventually.until(vertx, Duration.ofSeconds(5), "quota counter of " + bucket + " reads " + expected,
            () -> quotaCounter(bucket, per, at).map(n -> n == expected))
        .recover(e -> quotaCounter(bucket, per, at).transform(n -> Future.<Duration>failedFuture(
            new AssertionError(e.getMessage() + "; it reads " + (n.succeeded() ? n.result() : n.cause())))))
        .await(10, TimeUnit.SECONDS);
  }

  private static int allowed(List<Future<LimitResult>> results) throws Exception {
    int n = 0;
    for (Future<LimitResult> f : results) {
      n += f.await(10, TimeUnit.SECONDS).allowed() ? 1 : 0;
    }
    return n;
  }

  @Test
  void should_never_admit_more_than_a_quota_across_three_nodes_and_lose_little_to_leases() throws Exception {
    List<Limiter> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      nodes.add(new Limiter(vertx, connected(redis.url()), () -> 3, QuotaLedger.NONE, new SimpleMeterRegistry()));
    }
    Plan.Quota quota = new Plan.Quota(100, QuotaPeriod.DAY);
    String bucket = "q-" + UUID.randomUUID();
    List<Future<LimitResult>> results = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      results.add(nodes.get(i % 3).acquire(bucket, null, quota, OWNER));
    }
    int admitted = allowed(results);
    System.out.println("quota 100, 300 concurrent acquires over 3 limiters: " + admitted + " admitted");
    // never more; less only by leases that lapse unused (1 s), which a starved CPU can cause: 95-100 on a quiet
    // machine, below 95 in 3 of 7 suite runs that shared both cores with another build (count not recorded then)
    assertThat(admitted).isBetween(90, 100);
    // a refused one, whichever: the three limiters answer in the order their leases come back, not in the order
    // asked, so the last request asked is not always among the refused (seen once in 11 runs)
    LimitResult refused = results.stream().map(f -> f.result()).filter(r -> !r.allowed()).reduce((a, b) -> b).orElseThrow();
    assertThat(refused.refusal()).isEqualTo(Reason.QUOTA_EXCEEDED);
    assertThat(refused.retryAfterSeconds()).isPositive();
  }

  @Test
  void should_refill_a_rate_limit_over_time_and_tell_when_to_retry() throws Exception {
    Limiter limiter = new Limiter(vertx, connected(redis.url()), () -> 1, QuotaLedger.NONE, new SimpleMeterRegistry());
    Plan.RateLimit rate = new Plan.RateLimit(10, Duration.ofSeconds(1), 10);
    String bucket = "r-" + UUID.randomUUID();
    int admitted = 0;
    LimitResult last = null;
    for (int i = 0; i < 15; i++) {
      last = limiter.acquire(bucket, rate, null, null).await(5, TimeUnit.SECONDS);
      admitted += last.allowed() ? 1 : 0;
    }
    assertThat(admitted).isEqualTo(10);
    assertThat(last.refusal()).isEqualTo(Reason.RATE_LIMITED);
    assertThat(last.retryAfterSeconds()).isEqualTo(1);
    assertThat(last.limit()).isEqualTo(10);
    Thread.sleep(350); // 3 new tokens at 10 per second
    int later = 0;
    for (int i = 0; i < 10; i++) {
      later += limiter.acquire(bucket, rate, null, null).await(5, TimeUnit.SECONDS).allowed() ? 1 : 0;
    }
    assertThat(later).isBetween(2, 5);
  }

  @Test
  void should_count_a_share_of_the_limit_per_node_without_redis() throws Exception {
    Limiter limiter = new Limiter(vertx, connected(""), () -> 2, QuotaLedger.NONE, new SimpleMeterRegistry());
    List<Future<LimitResult>> results = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      results.add(limiter.acquire("local", null, new Plan.Quota(10, QuotaPeriod.MONTH), OWNER));
    }
    assertThat(allowed(results)).as("half of 10 on one of two nodes").isEqualTo(5);
    assertThat(results.get(19).await(1, TimeUnit.SECONDS).clusterWide()).isFalse();
  }

  @Test
  void should_count_through_a_held_bucket_and_its_name_alike() throws Exception {
    Limiter limiter = new Limiter(vertx, connected(redis.url()), () -> 1, QuotaLedger.NONE, new SimpleMeterRegistry());
    String name = "held-" + UUID.randomUUID();
    Plan.Quota quota = new Plan.Quota(6, QuotaPeriod.MONTH);
    Bucket held = limiter.bucket(name, OWNER);
    assertThat(limiter.bucket(name, OWNER)).isSameAs(held);
    List<Future<LimitResult>> results = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      results.add(limiter.acquire(held, null, quota));
      results.add(limiter.acquire(name, null, quota, OWNER));
    }
    assertThat(allowed(results)).as("one quota of 6, whichever way it is reached").isEqualTo(6);
  }

  @Test
  void should_fall_back_to_per_node_counting_when_redis_goes_away_and_come_back() throws Exception {
    TestRedis own = TestRedis.start();
    RedisService service = connected(own.url());
    Limiter limiter = new Limiter(vertx, service, () -> 1, QuotaLedger.NONE, new SimpleMeterRegistry());
    Plan.RateLimit rate = new Plan.RateLimit(1000, Duration.ofSeconds(1), 1000);
    assertThat(limiter.acquire("b", rate, null, null).await(5, TimeUnit.SECONDS).clusterWide()).isTrue();
    own.stop();
    long start = System.nanoTime();
    for (int i = 0; i < 50; i++) {
      LimitResult r = limiter.acquire("b", rate, null, null).await(5, TimeUnit.SECONDS);
      assertThat(r.allowed()).isTrue();
    }
    // at most one command waits for its timeout before the breaker opens
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(1500));
    assertThat(service.available()).isFalse();
    own.startAgain();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!service.available()) {
      assertThat(System.nanoTime()).as("breaker closes once redis answers").isLessThan(deadline);
      Thread.sleep(50);
    }
    assertThat(limiter.acquire("b2", rate, null, null).await(5, TimeUnit.SECONDS).clusterWide()).isTrue();
    own.close();
  }

  @Test
  void should_rebuild_a_quota_counter_that_redis_lost_from_the_ledger_and_ask_it_once() throws Exception {
    TestRedis own = TestRedis.start();
    Plan.Quota quota = new Plan.Quota(10, QuotaPeriod.DAY);
    java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicLong ledgerSays = new java.util.concurrent.atomic.AtomicLong();
    QuotaLedger ledger = (owner, start) -> {
      asked.incrementAndGet();
      assertThat(owner).isEqualTo(OWNER);
      assertThat(start).isEqualTo(QuotaPeriod.DAY.start(java.time.Instant.now()));
      return Future.succeededFuture(ledgerSays.get());
    };
    try {
      RedisService service = connected(own.url());
      Limiter limiter = new Limiter(vertx, service, () -> 1, ledger, new SimpleMeterRegistry());
      List<Future<LimitResult>> first = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        first.add(limiter.acquire("lost", null, quota, OWNER));
      }
      assertThat(allowed(first)).isEqualTo(4);
      assertThat(asked).as("a new period's counter is seeded once, by the first lease").hasValue(1);

      // Redis restarts empty; the ledger has 7 admitted requests (more than this node saw: other nodes count too)
      own.stop();
      own.startAgain();
      ledgerSays.set(7);
      Thread.sleep(Limiter.LEASE_TTL.toMillis() + 100); // what this node had leased lapses
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!service.available()) {
        assertThat(System.nanoTime()).isLessThan(deadline);
        Thread.sleep(50);
      }
      int admitted = 0;
      for (int i = 0; i < 10; i++) {
        admitted += limiter.acquire("lost", null, quota, OWNER).await(5, TimeUnit.SECONDS).allowed() ? 1 : 0;
      }
      assertThat(admitted).as("10 - 7 used before Redis lost the counter").isEqualTo(3);
      assertThat(asked).hasValue(2);
    } finally {
      own.close();
    }
  }

  @Test
  void should_charge_a_quota_exactly_the_requests_admitted_on_three_nodes_when_they_come_further_apart_than_a_lease_lives()
      throws Exception {
    // issue 16 #11: a 1000/day plan, one request at a time with gaps longer than a lease lives; every lease lapsed with
    // all but one of its requests unused and was never given back (remaining 999, 983, 967 ..., counter 16 x admitted)
    List<Limiter> nodes = nodes(3, System::currentTimeMillis);
    Plan.Quota quota = new Plan.Quota(1000, QuotaPeriod.DAY);
    String bucket = "gaps-" + UUID.randomUUID();
    for (int i = 1; i <= 12; i++) {
      long asked = System.nanoTime();
      LimitResult r = nodes.get(i % 3).acquire(bucket, null, quota, OWNER).await(5, TimeUnit.SECONDS);
      assertThat(r.allowed()).isTrue();
      assertThat(r.clusterWide()).isTrue();
      assertThat(r.remaining()).as("RateLimit-Remaining of request " + i).isEqualTo(1000 - i);
      // the counter comes down to what was admitted only when the lease lapsed: the next request comes after a gap
      // longer than a lease lives, and finds every lease of every node given back
      untilQuotaCounterIs(bucket, QuotaPeriod.DAY, Instant.now(), i);
      assertThat(Duration.ofNanos(System.nanoTime() - asked)).isGreaterThanOrEqualTo(LEASE);
    }
  }

  @Test
  void should_admit_exactly_a_quota_over_bursts_with_gaps_on_three_nodes_and_never_more() throws Exception {
    List<Limiter> nodes = nodes(3, System::currentTimeMillis);
    Plan.Quota quota = new Plan.Quota(60, QuotaPeriod.DAY);
    String bucket = "bursts-" + UUID.randomUUID();
    int admitted = 0;
    List<Integer> rounds = new ArrayList<>();
    for (int round = 0; round < 10 && admitted < 60; round++) {
      List<Future<LimitResult>> burst = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        burst.add(nodes.get(i % 3).acquire(bucket, null, quota, OWNER));
      }
      int now = allowed(burst);
      rounds.add(now);
      admitted += now;
      assertThat(admitted).as("admitted so far, rounds " + rounds).isLessThanOrEqualTo(60);
      untilQuotaCounterIs(bucket, QuotaPeriod.DAY, Instant.now(), admitted); // the leases lapse and are given back
    }
    System.out.println("quota 60 over 3 limiters, bursts of 20 with gaps: admitted per round " + rounds);
    assertThat(admitted).as("rounds " + rounds).isEqualTo(60);
    List<Future<LimitResult>> after = new ArrayList<>();
    for (int i = 0; i < 9; i++) {
      after.add(nodes.get(i % 3).acquire(bucket, null, quota, OWNER));
    }
    assertThat(allowed(after)).isZero();
    assertThat(after.get(8).result().refusal()).isEqualTo(Reason.QUOTA_EXCEEDED);
  }

  @Test
  void should_give_back_the_tokens_of_a_lapsed_lease_to_a_rate_limit() throws Exception {
    // 30 an hour (burst 30): nothing worth counting refills during the test, so every token matters
    List<Limiter> nodes = nodes(3, System::currentTimeMillis);
    Plan.RateLimit rate = new Plan.RateLimit(30, Duration.ofHours(1), 30);
    String bucket = "rate-gaps-" + UUID.randomUUID();
    for (int i = 1; i <= 5; i++) {
      assertThat(nodes.get(i % 3).acquire(bucket, rate, null, null).await(5, TimeUnit.SECONDS).allowed()).isTrue();
      int used = i;
      Eventually.until(vertx, Duration.ofSeconds(5), "the rate bucket holds 30 - " + i + " tokens",
          () -> reader.send(Request.cmd(Command.HGET).arg("ceiba:rl:" + bucket).arg("t"))
              .map(t -> t != null && (long) Math.floor(Double.parseDouble(t.toString())) == 30 - used))
          .await(10, TimeUnit.SECONDS);
    }
    List<Future<LimitResult>> burst = new ArrayList<>();
    for (int i = 0; i < 45; i++) {
      burst.add(nodes.get(i % 3).acquire(bucket, rate, null, null));
    }
    assertThat(allowed(burst)).as("30 - 5 used one at a time with gaps").isEqualTo(25);
  }

  @Test
  void should_not_serve_a_lease_past_its_period_nor_give_it_back_into_the_next_one() throws Exception {
    Instant beforeMidnight = Instant.parse("2030-01-01T23:59:59.500Z");
    AtomicLong wall = new AtomicLong(beforeMidnight.toEpochMilli());
    // leases that live long: only the end of the period stops this one
    Limiter limiter = new Limiter(vertx, connected(redis.url()), () -> 1, QuotaLedger.NONE, new SimpleMeterRegistry(),
        Duration.ofMinutes(1), wall::get);
    Plan.Quota quota = new Plan.Quota(1000, QuotaPeriod.DAY);
    String bucket = "midnight-" + UUID.randomUUID();
    assertThat(limiter.acquire(bucket, null, quota, OWNER).await(5, TimeUnit.SECONDS).remaining()).isEqualTo(999);
    assertThat(quotaCounter(bucket, QuotaPeriod.DAY, beforeMidnight).await(5, TimeUnit.SECONDS)).as("a lease of several").isGreaterThan(1);

    Instant afterMidnight = Instant.parse("2030-01-02T00:00:00.500Z");
    wall.set(afterMidnight.toEpochMilli());
    LimitResult first = limiter.acquire(bucket, null, quota, OWNER).await(5, TimeUnit.SECONDS);
    assertThat(first.remaining()).as("the new day's first request").isEqualTo(999);
    assertThat(first.resetAt()).isEqualTo(Instant.parse("2030-01-03T00:00:00Z"));
    untilQuotaCounterIs(bucket, QuotaPeriod.DAY, beforeMidnight, 1); // yesterday's lease went back to yesterday
    limiter.giveBackLeases().await(5, TimeUnit.SECONDS);
    untilQuotaCounterIs(bucket, QuotaPeriod.DAY, afterMidnight, 1);
  }

  @Test
  void should_count_a_per_node_quota_from_the_ledger_without_redis_so_a_restart_forgets_nothing() throws Exception {
    // issue 16 #12: 21 requests in the usage ledger, a restart (a new limiter), and verify said 1000 remaining again
    Plan.Quota quota = new Plan.Quota(1000, QuotaPeriod.DAY);
    AtomicLong asked = new AtomicLong();
    QuotaLedger ledger = (owner, start) -> {
      asked.incrementAndGet();
      assertThat(owner).isEqualTo(OWNER);
      assertThat(start).isEqualTo(QuotaPeriod.DAY.start(Instant.now()));
      return Future.succeededFuture(21L);
    };
    Limiter restarted = new Limiter(vertx, connected(""), () -> 1, ledger, new SimpleMeterRegistry());
    LimitResult verify = restarted.peek("restart", null, quota, OWNER).await(5, TimeUnit.SECONDS);
    assertThat(verify.remaining()).isEqualTo(979);
    assertThat(verify.clusterWide()).isFalse();
    for (int i = 1; i <= 5; i++) {
      assertThat(restarted.acquire("restart", null, quota, OWNER).await(5, TimeUnit.SECONDS).remaining()).isEqualTo(979 - i);
    }
    assertThat(asked).as("once per period").hasValue(1);

    // one of two nodes: its share of 1000 is 500, of 21 used 11
    Limiter oneOfTwo = new Limiter(vertx, connected(""), () -> 2, ledger, new SimpleMeterRegistry());
    assertThat(oneOfTwo.peek("restart", null, quota, OWNER).await(5, TimeUnit.SECONDS).remaining()).isEqualTo(489);
  }
}
