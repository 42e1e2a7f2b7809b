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
  void should_recognise_upgrades_only_with_connection_upgrade() {
    assertThat(ProxyHeaders.isUpgrade(MultiMap.caseInsensitiveMultiMap().add("Connection", "keep-alive, Upgrade").add("Upgrade", "websocket"))).isTrue();
    assertThat(ProxyHeaders.isUpgrade(MultiMap.caseInsensitiveMultiMap().add("Upgrade", "websocket"))).isFalse();
  }
}
