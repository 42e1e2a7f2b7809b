package io.ceiba.edge.cache;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Issue 16 defect 7: requests an origin sees differently never share a cache entry. */
class CacheKeyTest {

  private final EdgeCache.Scope scope = null; // keys compare scopes by identity; one scope for all here

  @Test
  void should_keep_scheme_port_and_forwarded_host_apart_and_ignore_host_case() {
    EdgeCache.Key plain = EdgeCache.Key.of(scope, "http", "app.local", "app.local", "/p", null);
    assertThat(EdgeCache.Key.of(scope, "http", "APP.local", "APP.local", "/p", null)).isEqualTo(plain);
    assertThat(EdgeCache.Key.of(scope, "http", "app.local:6666", "app.local:6666", "/p", null)).isNotEqualTo(plain);
    assertThat(EdgeCache.Key.of(scope, "https", "app.local", "app.local", "/p", null)).isNotEqualTo(plain);
    assertThat(EdgeCache.Key.of(scope, "http", "app.local", "evil.test", "/p", null)).isNotEqualTo(plain);
    assertThat(EdgeCache.Key.of(scope, "http", "app.local", "app.local", "/p?x", null)).isNotEqualTo(plain);
    assertThat(EdgeCache.Key.of(scope, "http", "app.local", "app.local", "/p", "prj_1")).isNotEqualTo(plain);
  }
}
