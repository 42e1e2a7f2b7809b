package io.ceiba.edge.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.MultiMap;
import java.util.List;
import org.junit.jupiter.api.Test;

class CacheRulesTest {

  private static final long SECOND = 1_000_000_000L;
  private static final long TTL = 600 * SECOND;

  private static MultiMap headers(String... pairs) {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap();
    for (int i = 0; i < pairs.length; i += 2) {
      headers.add(pairs[i], pairs[i + 1]);
    }
    return headers;
  }

  @Test
  void should_shorten_the_ttl_to_s_maxage_before_max_age_less_the_age() {
    assertThat(CacheRules.lifetimeNanos(200, headers(), TTL)).isEqualTo(TTL);
    assertThat(CacheRules.lifetimeNanos(200, headers("Cache-Control", "public, max-age=60"), TTL)).isEqualTo(60 * SECOND);
    assertThat(CacheRules.lifetimeNanos(200, headers("Cache-Control", "max-age=60, s-maxage=30"), TTL)).isEqualTo(30 * SECOND);
    assertThat(CacheRules.lifetimeNanos(200, headers("Cache-Control", "max-age=6000"), TTL)).isEqualTo(TTL);
    assertThat(CacheRules.lifetimeNanos(200, headers("Cache-Control", "max-age=60", "Age", "20"), TTL)).isEqualTo(40 * SECOND);
    assertThat(CacheRules.lifetimeNanos(200, headers("Cache-Control", "max-age=60", "Age", "90"), TTL)).isEqualTo(-1);
  }

  @Test
  void should_refuse_to_store_what_the_status_or_the_origin_forbids() {
    assertThat(CacheRules.lifetimeNanos(500, headers(), TTL)).isEqualTo(-1);
    assertThat(CacheRules.lifetimeNanos(206, headers(), TTL)).isEqualTo(-1);
    assertThat(List.of(200, 203, 204, 301, 308, 404, 410)).allMatch(s -> CacheRules.lifetimeNanos(s, headers(), TTL) == TTL);
    for (String cc : List.of("no-store", "private", "no-cache", "private=\"x-user\", max-age=60", "No-Store")) {
      assertThat(CacheRules.lifetimeNanos(200, headers("Cache-Control", cc), TTL)).as(cc).isEqualTo(-1);
    }
    assertThat(CacheRules.lifetimeNanos(200, headers("Set-Cookie", "a=b"), TTL)).isEqualTo(-1);
    assertThat(CacheRules.lifetimeNanos(200, headers("Vary", "Accept, *"), TTL)).isEqualTo(-1);
    assertThat(CacheRules.vary(headers("Vary", "Accept-Language, accept", "vary", "X-Tenant"))).containsExactly("accept", "accept-language", "x-tenant");
  }

  @Test
  void should_bypass_the_lookup_when_the_request_asks_for_a_fresh_answer() {
    assertThat(CacheRules.requestMode(headers(), false)).isEqualTo(CacheRules.RequestMode.LOOKUP);
    assertThat(CacheRules.requestMode(headers("Cache-Control", "no-cache"), false)).isEqualTo(CacheRules.RequestMode.REFRESH);
    assertThat(CacheRules.requestMode(headers("Cache-Control", "max-age=0"), false)).isEqualTo(CacheRules.RequestMode.REFRESH);
    assertThat(CacheRules.requestMode(headers("Pragma", "no-cache"), false)).isEqualTo(CacheRules.RequestMode.REFRESH);
    assertThat(CacheRules.requestMode(headers("Cache-Control", "no-store"), false)).isEqualTo(CacheRules.RequestMode.PASS);
    assertThat(CacheRules.requestMode(headers("Cookie", "s=1"), false)).isEqualTo(CacheRules.RequestMode.PASS);
    assertThat(CacheRules.requestMode(headers(), true)).isEqualTo(CacheRules.RequestMode.PASS);
  }
}
