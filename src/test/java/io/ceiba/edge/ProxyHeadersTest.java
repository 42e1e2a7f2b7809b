package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.MultiMap;
import org.junit.jupiter.api.Test;

class ProxyHeadersTest {

  @Test
  void should_drop_hop_by_hop_headers_and_those_named_in_connection() {
    MultiMap from = MultiMap.caseInsensitiveMultiMap()
        .add("Connection", "keep-alive, X-Secret-Hop").add("Keep-Alive", "timeout=5").add("TE", "trailers")
        .add("Transfer-Encoding", "chunked").add("Upgrade", "h2c").add("Proxy-Authorization", "Basic x")
        .add("Proxy-Connection", "keep-alive").add("Trailer", "x").add("Proxy-Authenticate", "x")
        .add("x-secret-hop", "drop").add("Accept", "text/html").add("X-Custom", "a").add("X-Custom", "b");
    MultiMap to = MultiMap.caseInsensitiveMultiMap();
    ProxyHeaders.copyEndToEnd(from, to);
    assertThat(to.names()).containsExactlyInAnyOrder("Accept", "X-Custom");
    assertThat(to.getAll("x-custom")).containsExactly("a", "b");
  }

  @Test
  void should_leave_out_the_key_or_the_upstream_limit_headers_when_told() {
    MultiMap request = MultiMap.caseInsensitiveMultiMap().add("X-API-Key", "ck_x").add("Authorization", "Bearer ck_y")
        .add("X-Ceiba-Project", "forged").add("Accept", "*/*");
    MultiMap keyOnly = MultiMap.caseInsensitiveMultiMap();
    ProxyHeaders.copyEndToEnd(request, keyOnly, ProxyHeaders.Drop.API_KEY);
    assertThat(keyOnly.names()).containsExactlyInAnyOrder("Authorization", "Accept");
    MultiMap both = MultiMap.caseInsensitiveMultiMap();
    ProxyHeaders.copyEndToEnd(request, both, ProxyHeaders.Drop.API_KEY_AND_AUTHORIZATION);
    assertThat(both.names()).containsExactly("Accept");

    MultiMap answer = MultiMap.caseInsensitiveMultiMap().add("RateLimit-Limit", "5").add("ratelimit-remaining", "4")
        .add("RATELIMIT-RESET", "1").add("RateLimit-Policy", "5;w=1").add("RateLimitXLimit", "x").add("Content-Type", "text/plain");
    MultiMap limited = MultiMap.caseInsensitiveMultiMap();
    ProxyHeaders.copyEndToEnd(answer, limited, ProxyHeaders.Drop.RATE_LIMIT);
    assertThat(limited.names()).containsExactlyInAnyOrder("RateLimit-Policy", "RateLimitXLimit", "Content-Type");
    MultiMap kept = MultiMap.caseInsensitiveMultiMap();
    ProxyHeaders.copyEndToEnd(answer, kept, ProxyHeaders.Drop.NOTHING);
    assertThat(kept.size()).isEqualTo(6);
  }

  @Test
  void should_leave_out_only_the_three_limit_headers_themselves() {
    MultiMap answer = MultiMap.caseInsensitiveMultiMap().add("RateLimit-Limit", "5").add("RateLimit-Limit-Foo", "x")
        .add("RateLimit-Reset-At", "y");
    MultiMap limited = MultiMap.caseInsensitiveMultiMap();
    ProxyHeaders.copyEndToEnd(answer, limited, ProxyHeaders.Drop.RATE_LIMIT);
    assertThat(limited.names()).containsExactlyInAnyOrder("RateLimit-Limit-Foo", "RateLimit-Reset-At");
  }

  @Test
  void should_recognise_upgrades_only_with_connection_upgrade() {
    assertThat(ProxyHeaders.isUpgrade(MultiMap.caseInsensitiveMultiMap().add("Connection", "keep-alive, Upgrade").add("Upgrade", "websocket"))).isTrue();
    assertThat(ProxyHeaders.isUpgrade(MultiMap.caseInsensitiveMultiMap().add("Upgrade", "websocket"))).isFalse();
  }
}
