package io.ceiba.access;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.registry.AccessSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class AccessPolicyTest {

  private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");
  private static final AccessSpec API_KEY = new AccessSpec(AccessSpec.Policy.API_KEY, List.of(), AccessSpec.OnUnavailable.FAIL_CLOSED);

  private static Plan plan(String name, long perSecond, List<String> services) {
    return new Plan(name, new Plan.RateLimit(perSecond, Duration.ofSeconds(1), perSecond), null, services);
  }

  private static KeyRecord key(Instant expires, Instant revoked, KeyRecord.Subscription... subs) {
    return new KeyRecord("key_1", "prj_1", "acme", expires, revoked, List.of(subs));
  }

  private static KeyRecord.Subscription active(Plan plan) {
    return new KeyRecord.Subscription(plan, NOW.minusSeconds(60), null);
  }

  @Test
  void should_refuse_revoked_then_expired_keys() {
    assertThat(AccessPolicy.evaluate(key(null, NOW.minusSeconds(1)), "api", API_KEY, NOW).reason()).isEqualTo(Reason.KEY_REVOKED);
    assertThat(AccessPolicy.evaluate(key(NOW, null), "api", API_KEY, NOW).reason()).isEqualTo(Reason.KEY_EXPIRED);
    assertThat(AccessPolicy.evaluate(key(NOW.plusSeconds(1), null), "api", API_KEY, NOW).reason()).isEqualTo(Reason.VALID_KEY);
  }

  @Test
  void should_pick_the_applicable_plan_with_the_highest_rate() {
    Plan small = plan("small", 5, null);
    Plan big = plan("big", 50, List.of("api"));
    Plan other = plan("other", 500, List.of("billing"));
    Plan future = plan("future", 5000, null);
    KeyRecord k = key(null, null, active(small), active(big), active(other),
        new KeyRecord.Subscription(future, NOW.plusSeconds(60), null));
    assertThat(AccessPolicy.evaluate(k, "api", API_KEY, NOW).plan()).isEqualTo(big);
    assertThat(AccessPolicy.evaluate(k, "search", API_KEY, NOW).plan()).isEqualTo(small);
  }

  @Test
  void should_require_a_listed_plan_for_plan_services_and_serve_api_key_services_without_one() {
    Plan free = plan("free", 1, null);
    KeyRecord k = key(null, null, active(free), new KeyRecord.Subscription(plan("pro", 10, null), NOW.minusSeconds(120), NOW.minusSeconds(60)));
    AccessSpec proOnly = new AccessSpec(AccessSpec.Policy.PLAN, List.of("pro"), AccessSpec.OnUnavailable.FAIL_CLOSED);
    assertThat(AccessPolicy.evaluate(k, "api", proOnly, NOW).reason()).as("pro ended a minute ago").isEqualTo(Reason.PLAN_REQUIRED);
    AccessPolicy.Verdict none = AccessPolicy.evaluate(key(null, null), "api", API_KEY, NOW);
    assertThat(none.reason()).isEqualTo(Reason.VALID_KEY);
    assertThat(none.plan()).isNull();
  }

  @Test
  void should_round_trip_a_key_record_through_json() {
    Plan p = new Plan("pro", new Plan.RateLimit(10, Duration.ofMinutes(1), 20), new Plan.Quota(1000, QuotaPeriod.MONTH), List.of("api"));
    KeyRecord k = key(NOW.plusSeconds(5), null, active(p));
    assertThat(KeyRecord.fromJson(k.toJson())).isEqualTo(k);
    Plan classes = new Plan("classes", null, null, null, java.util.Map.of("read", new Plan.RateLimit(100, Duration.ofMinutes(1), 100),
        "write", new Plan.RateLimit(5, Duration.ofSeconds(1), 10)));
    KeyRecord withClasses = key(NOW.plusSeconds(5), null, active(classes));
    assertThat(KeyRecord.fromJson(withClasses.toJson())).isEqualTo(withClasses);
    assertThat(KeyRecord.fromJson(withClasses.toJson()).subscriptions().get(0).plan().classLimit("write").burst()).isEqualTo(10);
    assertThat(classes.classLimit("auth")).isNull();
    assertThat(classes.classLimit(null)).isNull();
  }

  @Test
  void should_make_long_random_keys_and_show_only_their_prefix() {
    ApiKeys.NewKey a = ApiKeys.generate();
    ApiKeys.NewKey b = ApiKeys.generate();
    assertThat(a.secret()).startsWith("ck_").hasSize(3 + 32).isNotEqualTo(b.secret());
    assertThat(a.hash()).hasSize(32).isEqualTo(ApiKeys.hash(a.secret()));
    assertThat(ApiKeys.redact(a.secret())).isEqualTo(a.prefix() + "…").doesNotContain(a.secret().substring(11));
    assertThat(ApiKeys.plausible("ck_abc\u0000")).isFalse();
    assertThat(ApiKeys.plausible("x".repeat(300))).isFalse();
  }

  @Test
  void should_write_hashes_as_the_lower_case_hex_the_store_and_the_bus_use() {
    byte[] every = new byte[256];
    for (int i = 0; i < every.length; i++) {
      every[i] = (byte) i;
    }
    assertThat(ApiKeys.hex(every)).isEqualTo(java.util.HexFormat.of().formatHex(every));
    assertThat(ApiKeys.fromHex(ApiKeys.hex(every))).isEqualTo(every);
    assertThat(ApiKeys.hex(new byte[0])).isEmpty();
  }

  @Test
  void should_reset_quotas_at_utc_day_and_month_boundaries() {
    assertThat(QuotaPeriod.DAY.end(NOW)).isEqualTo(Instant.parse("2026-11-26T00:00:00Z"));
    assertThat(QuotaPeriod.MONTH.start(NOW)).isEqualTo(Instant.parse("2026-11-01T00:00:00Z"));
    assertThat(QuotaPeriod.MONTH.end(Instant.parse("2026-12-31T23:59:59Z"))).isEqualTo(Instant.parse("2027-01-01T00:00:00Z"));
  }
}
