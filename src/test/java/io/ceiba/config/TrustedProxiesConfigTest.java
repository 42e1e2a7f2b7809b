package io.ceiba.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.yaml.InvalidDocumentException;
import io.ceiba.yaml.Problem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code edge.trusted_proxies}: CIDR blocks, empty by default, each wrong entry reported at its own line. */
class TrustedProxiesConfigTest {

  @TempDir
  Path dir;

  private Path write(String yaml) throws IOException {
    return Files.writeString(dir.resolve("node.yaml"), yaml);
  }

  @Test
  void should_trust_no_proxy_by_default() throws IOException {
    assertThat(NodeConfigLoader.load(write(""), Map.of(), CliOverrides.NONE, dir).edge().trustedProxies()).isEmpty();
  }

  @Test
  void should_read_blocks_from_the_file_and_from_the_environment() throws IOException {
    Path file = write("""
        edge:
          trusted_proxies:
            - 10.0.0.0/8
            - 192.0.2.7
            - "2001:db8::/32"
        """);
    assertThat(NodeConfigLoader.load(file, Map.of(), CliOverrides.NONE, dir).edge().trustedProxies())
        .containsExactly(Cidr.parse("10.0.0.0/8"), Cidr.parse("192.0.2.7/32"), Cidr.parse("2001:db8::/32"));
    assertThat(NodeConfigLoader.load(file, Map.of("CEIBA_EDGE_TRUSTED_PROXIES", "127.0.0.2, 172.16.0.0/12"), CliOverrides.NONE, dir)
        .edge().trustedProxies()).containsExactly(Cidr.parse("127.0.0.2"), Cidr.parse("172.16.0.0/12"));
  }

  @Test
  void should_name_the_line_of_each_entry_that_is_not_a_block() throws IOException {
    Path file = write("""
        edge:
          port: 8080
          trusted_proxies:
            - 10.0.0.0/8
            - lb.internal
            - 10.0.0.1/8
            - 10.0.0.0/40
        """);
    List<Problem> problems;
    try {
      NodeConfigLoader.load(file, Map.of(), CliOverrides.NONE, dir);
      throw new AssertionError("expected the config to be rejected");
    } catch (InvalidDocumentException e) {
      problems = e.problems();
    }
    assertThat(problems).extracting(Problem::field)
        .containsExactly("edge.trusted_proxies[1]", "edge.trusted_proxies[2]", "edge.trusted_proxies[3]");
    assertThat(problems).extracting(Problem::line).containsExactly(5, 6, 7);
    assertThat(problems.get(0).reason()).contains("lb.internal", "not an IP address");
    assertThat(problems.get(1).reason()).contains("did you mean 10.0.0.0/8");
    assertThat(problems.get(2).reason()).contains("0-32");
  }
}
