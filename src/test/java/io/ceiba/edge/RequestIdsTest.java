package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class RequestIdsTest {

  @Test
  void should_make_unique_version_7_uuids_that_sort_by_time() throws Exception {
    long before = System.currentTimeMillis();
    String first = RequestIds.next();
    UUID parsed = UUID.fromString(first);
    assertThat(parsed.version()).isEqualTo(7);
    assertThat(parsed.variant()).isEqualTo(2);
    assertThat(parsed.getMostSignificantBits() >>> 16).isBetween(before, System.currentTimeMillis());
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 100_000; i++) {
      assertThat(seen.add(RequestIds.next())).isTrue();
    }
    Thread.sleep(2);
    assertThat(RequestIds.next()).as("a later millisecond sorts after, as text").isGreaterThan(first);
  }
}
