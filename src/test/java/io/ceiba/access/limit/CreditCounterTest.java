package io.ceiba.access.limit;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.access.Plan;
import io.ceiba.access.QuotaPeriod;
import io.ceiba.store.redis.RedisService;
import io.ceiba.testkit.TestRedis;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Credit balances against a real Redis: several counters stand for several nodes sharing one Redis. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CreditCounterTest {

  private final Vertx vertx = Vertx.vertx();
  private TestRedis redis;

  @BeforeAll
  void start() {
    redis = TestRedis.start();
  }

  @AfterAll
  void stop() throws Exception {
    redis.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private RedisService connected(String url) throws Exception {
    return TestRedis.connected(vertx, url);
  }

  private CreditResult charge(CreditCounter counter, QuotaOwner owner, Plan.Credits credits, long cost) throws Exception {
    return counter.charge(owner, credits, cost, true).await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_refill_the_balance_to_the_grant_when_the_day_turns() throws Exception {
    AtomicLong wall = new AtomicLong(Instant.parse("2026-03-01T23:59:58Z").toEpochMilli());
    QuotaOwner owner = new QuotaOwner("p-refill", "daily");
    Plan.Credits daily = new Plan.Credits(10, QuotaPeriod.DAY, Map.of());
    List<CreditCounter> nodes = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      nodes.add(new CreditCounter(vertx, connected(redis.url()), CreditLedger.NONE, new SimpleMeterRegistry(), wall::get));
    }
    assertThat(charge(nodes.get(0), owner, daily, 4).remaining()).isEqualTo(6);
    assertThat(charge(nodes.get(1), owner, daily, 4).remaining()).isEqualTo(2);
    CreditResult refused = charge(nodes.get(0), owner, daily, 3);
    assertThat(refused.allowed()).isFalse();
    assertThat(refused.remaining()).as("a refusal takes nothing").isEqualTo(2);
    assertThat(refused.resetAt()).isEqualTo(Instant.parse("2026-03-02T00:00:00Z"));
    assertThat(refused.charged()).isZero();

    wall.set(Instant.parse("2026-03-02T00:00:01Z").toEpochMilli());
    CreditResult refilled = charge(nodes.get(1), owner, daily, 3);
    assertThat(refilled.allowed()).isTrue();
    assertThat(refilled.remaining()).as("the grant again, less this request").isEqualTo(7);
  }

  @Test
  void should_rebuild_a_lost_balance_from_the_ledger_and_add_top_ups_to_a_held_one() throws Exception {
    QuotaOwner owner = new QuotaOwner("p-ledger", "prepaid");
    Plan.Credits prepaid = new Plan.Credits(100, null, Map.of());
    // the ledger: 30 spent, 12 topped up since the grant was given
    CreditLedger ledger = (o, start) -> Future.succeededFuture(o.equals(owner) && start.equals(Instant.EPOCH) ? 12L - 30L : 0L);
    CreditCounter counter = new CreditCounter(vertx, connected(redis.url()), ledger, new SimpleMeterRegistry());
    assertThat(counter.topUp(owner, prepaid, 5, Instant.now()).await(10, TimeUnit.SECONDS))
        .as("nothing held in Redis yet: left to the rebuild").isNull();
    assertThat(charge(counter, owner, prepaid, 2).remaining()).isEqualTo(100 + 12 - 30 - 2);
    assertThat(counter.topUp(owner, prepaid, 5, Instant.now()).await(10, TimeUnit.SECONDS)).isEqualTo(85);
    assertThat(counter.charge(owner, prepaid, 86, false).await(10, TimeUnit.SECONDS).allowed()).isFalse();
    assertThat(counter.charge(owner, prepaid, 85, false).await(10, TimeUnit.SECONDS).allowed()).isTrue();
    assertThat(charge(counter, owner, prepaid, 85).remaining()).isZero();
    assertThat(charge(counter, owner, prepaid, 1).allowed()).isFalse();
  }

  @Test
  void should_refuse_to_charge_without_redis_rather_than_guess() throws Exception {
    QuotaOwner owner = new QuotaOwner("p-alone", "prepaid");
    CreditCounter alone = new CreditCounter(vertx, connected(""), (o, start) -> Future.succeededFuture(0L), new SimpleMeterRegistry());
    Future<CreditResult> charged = alone.charge(owner, new Plan.Credits(90, null, Map.of()), 1, true);
    assertThat(charged.failed()).isTrue();
    assertThat(charged.cause()).isInstanceOf(CreditCounter.CreditsUnavailable.class);
    assertThat(alone.topUp(owner, new Plan.Credits(90, null, Map.of()), 5, Instant.now()).await(10, TimeUnit.SECONDS))
        .as("stored in Postgres only: counted when the balance is built").isNull();
  }
}
