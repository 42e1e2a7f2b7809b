package io.ceiba.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.ceiba.yaml.InvalidDocumentException;
import io.ceiba.yaml.Problem;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class NodeConfigLoaderTest {

  @TempDir
  Path dir;

  private Path write(String yaml) throws IOException {
    Path file = dir.resolve("node.yaml");
    Files.writeString(file, yaml);
    return file;
  }

  private NodeConfig load(String yaml) throws IOException {
    return NodeConfigLoader.load(write(yaml), Map.of(), CliOverrides.NONE, dir);
  }

  private List<Problem> problemsOf(Path file, Map<String, String> env, CliOverrides flags) {
    try {
      NodeConfigLoader.load(file, env, flags, dir);
    } catch (InvalidDocumentException e) {
      return e.problems();
    }
    throw new AssertionError("expected the config to be rejected");
  }

  @Test
  void should_start_a_single_node_with_every_role_when_there_is_no_config() {
    NodeConfig config = NodeConfigLoader.load(null, Map.of(), CliOverrides.NONE, dir);
    assertThat(config.nodeId()).isEqualTo("node1");
    assertThat(config.roles()).isEqualTo(Role.availableRoles());
    assertThat(config.edge().port()).isEqualTo(8080);
    assertThat(config.edge().advertise()).isEqualTo("http://127.0.0.1:8080");
    assertThat(config.control().host()).isEqualTo("127.0.0.1");
    assertThat(config.control().port()).isEqualTo(9090);
    assertThat(config.cluster().enabled()).isFalse();
    assertThat(config.postgres().embedded()).isTrue();
    assertThat(config.redis().enabled()).isFalse();
    assertThat(config.dataDir()).isEqualTo(dir.resolve("data"));
    assertThat(config.registry().file()).isEqualTo(dir.resolve("node-configs/registry.yaml"));
    assertThat(config.shutdown().grace()).isEqualTo(Duration.ofSeconds(10));
    assertThat(config.shutdown().drainDelay()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void should_read_acme_and_refuse_what_cannot_work() throws IOException {
    assertThat(NodeConfigLoader.load(null, Map.of(), CliOverrides.NONE, dir).acme().enabled()).isFalse();
    AcmeConfig acme = load("acme: { directory: \"https://acme.example/dir\", email: ops@example.com, ca: ca.pem, renew_at: 0.5 }\n").acme();
    assertThat(acme.enabled()).isTrue();
    assertThat(acme.ca()).isEqualTo(dir.resolve("ca.pem"));
    assertThat(acme.renewAt()).isEqualTo(0.5);
    assertThat(acme.checkInterval()).isEqualTo(AcmeConfig.DEFAULT_CHECK_INTERVAL);
    assertThat(NodeConfigLoader.load(write("node: { id: a }\n"), Map.of("CEIBA_ACME_DIRECTORY", "https://acme.example/dir"),
        CliOverrides.NONE, dir).acme().directory()).isEqualTo("https://acme.example/dir");
    assertThat(problemsOf(write("acme: { directory: \"ftp://x/dir\", email: not-an-address, renew_at: 1.5, colour: red }\n"),
        Map.of(), CliOverrides.NONE)).extracting(Problem::field)
        .containsExactlyInAnyOrder("acme.directory", "acme.email", "acme.renew_at", "acme.colour");
  }

  @Test
  void should_take_a_drain_delay_of_zero_from_the_file_and_another_from_the_environment() throws IOException {
    Path file = write("shutdown: { drain_delay: 0s }\n");
    assertThat(NodeConfigLoader.load(file, Map.of(), CliOverrides.NONE, dir).shutdown().drainDelay()).isZero();
    assertThat(NodeConfigLoader.load(file, Map.of("CEIBA_SHUTDOWN_DRAIN_DELAY", "2s"), CliOverrides.NONE, dir).shutdown().drainDelay())
        .isEqualTo(Duration.ofSeconds(2));
    assertThat(problemsOf(write("shutdown: { drain_delay: -1s }\n"), Map.of(), CliOverrides.NONE)).singleElement()
        .satisfies(p -> assertThat(p.field()).isEqualTo("shutdown.drain_delay"));
  }

  @Test
  void should_take_a_join_timeout_from_the_file_or_the_environment_and_refuse_one_out_of_bounds() throws IOException {
    assertThat(NodeConfigLoader.load(write(""), Map.of(), CliOverrides.NONE, dir).cluster().joinTimeout()).isEqualTo(Duration.ofSeconds(10));
    Path file = write("cluster: { join_timeout: 4s }\n");
    assertThat(NodeConfigLoader.load(file, Map.of(), CliOverrides.NONE, dir).cluster().joinTimeout()).isEqualTo(Duration.ofSeconds(4));
    assertThat(NodeConfigLoader.load(file, Map.of("CEIBA_CLUSTER_JOIN_TIMEOUT", "20s"), CliOverrides.NONE, dir).cluster().joinTimeout())
        .isEqualTo(Duration.ofSeconds(20));
    for (String bad : new String[] {"0s", "-1s", "3m", "soon"}) {
      assertThat(problemsOf(write("cluster: { join_timeout: " + bad + " }\n"), Map.of(), CliOverrides.NONE)).as(bad).singleElement()
          .satisfies(p -> assertThat(p.field()).isEqualTo("cluster.join_timeout"));
    }
  }

  @Test
  void should_equal_the_built_in_defaults_when_loading_the_reference_file() throws IOException {
    try (InputStream in = NodeConfigLoader.class.getResourceAsStream("/conf/node.yaml")) {
      Files.write(dir.resolve("node.yaml"), in.readAllBytes());
    }
    NodeConfig reference = NodeConfigLoader.load(dir.resolve("node.yaml"), Map.of(), CliOverrides.NONE, dir);
    NodeConfig defaults = NodeConfigLoader.load(write(""), Map.of(), CliOverrides.NONE, dir);
    assertThat(reference.cluster()).isEqualTo(defaults.cluster());
    assertThat(reference.postgres()).isEqualTo(defaults.postgres());
    assertThat(reference.control()).isEqualTo(defaults.control());
    assertThat(reference.edge()).isEqualTo(defaults.edge());
    assertThat(reference.registry()).isEqualTo(defaults.registry());
    assertThat(reference.redis()).isEqualTo(defaults.redis());
    assertThat(reference.shutdown()).isEqualTo(defaults.shutdown());
    assertThat(reference.usage()).isEqualTo(defaults.usage()).isEqualTo(io.ceiba.config.UsageConfig.defaults());
    assertThat(reference.roles()).isEqualTo(defaults.roles());
    assertThat(reference.dataDir()).isEqualTo(defaults.dataDir());
    assertThat(reference.nodeId()).isEqualTo(defaults.nodeId());
  }

  @Test
  void should_resolve_relative_paths_against_the_config_folder_when_loaded_from_a_file() throws IOException {
    Path sub = Files.createDirectories(dir.resolve("conf"));
    Path file = sub.resolve("n.yaml");
    Files.writeString(file, "registry: { file: reg.yaml }\ndata_dir: ../state\n");
    NodeConfig config = NodeConfigLoader.load(file, Map.of(), CliOverrides.NONE, dir);
    assertThat(config.registry().file()).isEqualTo(sub.resolve("reg.yaml"));
    assertThat(config.dataDir()).isEqualTo(dir.resolve("state"));
  }

  @Test
  void should_let_environment_override_the_file_and_flags_override_both() throws IOException {
    Path file = write("""
        node: { id: from-file }
        edge: { port: 8081 }
        cluster: { enabled: true, members: ["127.0.0.1:5701"] }
        """);
    Map<String, String> env = Map.of(
        "CEIBA_NODE_ID", "from-env",
        "CEIBA_EDGE_PORT", "8082",
        "DATABASE_URL", "postgres://u:secret@db.internal:5433/ceiba",
        "REDIS_URL", "redis://127.0.0.1:6379",
        "DB_MAX_CONNECTIONS", "16",
        "DB_CONNECT_TIMEOUT_SECONDS", "7",
        "CEIBA_CLUSTER_MEMBERS", "127.0.0.1:5701,127.0.0.1:5702");
    NodeConfig config = NodeConfigLoader.load(file, env, new CliOverrides("control,auth", "auth=2", "from-flag", false), dir);
    assertThat(config.nodeId()).isEqualTo("from-flag");
    assertThat(config.edge().port()).isEqualTo(8082);
    assertThat(config.postgres().url()).isEqualTo("postgres://u:secret@db.internal:5433/ceiba");
    assertThat(config.postgres().toString()).doesNotContain("secret");
    assertThat(config.postgres().maxConnections()).isEqualTo(16);
    assertThat(config.postgres().connectTimeout()).isEqualTo(Duration.ofSeconds(7));
    assertThat(config.redis().url()).isEqualTo("redis://127.0.0.1:6379");
    assertThat(config.cluster().members()).containsExactly("127.0.0.1:5701", "127.0.0.1:5702");
    assertThat(config.cluster().enabled()).isFalse();
    assertThat(config.roles()).containsExactlyInAnyOrder(Role.CONTROL, Role.AUTH);
    assertThat(config.instancesOf(Role.AUTH)).isEqualTo(2);
  }

  @Test
  void should_let_the_ceiba_name_of_an_environment_pair_win_every_start_and_warn_naming_both() throws IOException {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger logger = (Logger) LoggerFactory.getLogger(NodeConfigLoader.class);
    logger.addAppender(log);
    try {
      Map<String, String> env = Map.of(
          "DATABASE_URL", "postgres://u:generic-secret@generic-db:5432/ceiba",
          "CEIBA_POSTGRES_URL", "postgres://u:ceiba-secret@ceiba-db:5432/ceiba",
          "REDIS_URL", "redis://generic-redis:6379",
          "CEIBA_REDIS_URL", "redis://ceiba-redis:6379",
          "CEIBA_CONTROL_TOKEN", "alias-token",
          "CEIBA_ADMIN_TOKEN", "spec-token");
      NodeConfig config = NodeConfigLoader.load(write("node: { id: n1 }\n"), env, CliOverrides.NONE, dir);

      assertThat(config.postgres().url()).isEqualTo("postgres://u:ceiba-secret@ceiba-db:5432/ceiba");
      assertThat(config.redis().url()).isEqualTo("redis://ceiba-redis:6379");
      assertThat(config.control().token()).isEqualTo("spec-token");
      assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage).containsExactlyInAnyOrder(
          "both DATABASE_URL and CEIBA_POSTGRES_URL are set; CEIBA_POSTGRES_URL wins (postgres.url)",
          "both REDIS_URL and CEIBA_REDIS_URL are set; CEIBA_REDIS_URL wins (redis.url)",
          "both CEIBA_CONTROL_TOKEN and CEIBA_ADMIN_TOKEN are set; CEIBA_ADMIN_TOKEN wins (control.token)");
    } finally {
      logger.detachAppender(log);
    }
  }

  @Test
  void should_take_either_name_of_a_pair_alone() throws IOException {
    NodeConfig config = NodeConfigLoader.load(write("node: { id: n1 }\n"),
        Map.of("DATABASE_URL", "postgres://u@generic-db/ceiba", "CEIBA_REDIS_URL", "redis://ceiba-redis:6379",
            "CEIBA_CONTROL_TOKEN", "alias-token"), CliOverrides.NONE, dir);
    assertThat(config.postgres().url()).isEqualTo("postgres://u@generic-db/ceiba");
    assertThat(config.redis().url()).isEqualTo("redis://ceiba-redis:6379");
    assertThat(config.control().token()).isEqualTo("alias-token");
  }

  @Test
  void should_name_file_line_and_key_when_keys_are_unknown_or_values_have_the_wrong_type() throws IOException {
    Path file = write("""
        node:
          id: n1
        edge:
          port: eighty
          hots: 0.0.0.0
        control: { port: 70000 }
        cluster: { enabled: maybe, members: ["nohost"] }
        shutdown: { grace: -5s }
        postgres: { url: "mysql://x" }
        """);
    List<Problem> problems = problemsOf(file, Map.of(), CliOverrides.NONE);
    assertThat(problems).extracting(Problem::field).containsExactlyInAnyOrder(
        "edge.port", "edge.hots", "control.port", "cluster.enabled", "cluster.members", "shutdown.grace", "postgres.url");
    assertThat(problems).allSatisfy(p -> assertThat(p.file()).isEqualTo(file.toString()));
    assertThat(problems).filteredOn(p -> p.field().equals("edge.port")).singleElement()
        .satisfies(p -> {
          assertThat(p.line()).isEqualTo(4);
          assertThat(p.reason()).contains("whole number").contains("eighty");
        });
    assertThat(problems).filteredOn(p -> p.field().equals("edge.hots")).singleElement()
        .satisfies(p -> assertThat(p.reason()).contains("unknown key").contains("host"));
    assertThat(problems).filteredOn(p -> p.field().equals("control.port")).singleElement()
        .satisfies(p -> assertThat(p.reason()).contains("between 0 and 65535"));
    assertThat(problems).filteredOn(p -> p.field().equals("shutdown.grace")).singleElement()
        .satisfies(p -> assertThat(p.reason()).contains("negative"));
  }

  @Test
  void should_refuse_unknown_and_not_yet_built_roles_when_named() throws IOException {
    // a role still to come (if any) is refused by name, not silently ignored
    String notYet = java.util.Arrays.stream(Role.values()).filter(r -> !r.available()).map(Role::configName).findFirst().orElse(null);
    Path file = write("roles: [control, gateway" + (notYet == null ? "" : ", " + notYet) + "]\ninstances: { control: 0, proxy: 2 }\n");
    List<Problem> problems = problemsOf(file, Map.of(), CliOverrides.NONE);
    assertThat(problems).extracting(Problem::reason).anySatisfy(r -> assertThat(r).contains("unknown role 'gateway'"));
    if (notYet != null) {
      assertThat(problems).extracting(Problem::reason).anySatisfy(r -> assertThat(r).contains("role '" + notYet + "' is not in this build yet"));
    }
    assertThat(problems).extracting(Problem::field).contains("instances.control", "instances.proxy");
  }

  @Test
  void should_name_file_line_and_field_when_more_than_one_usage_instance_is_asked_for() throws IOException {
    Path file = write("roles: [usage, control]\ninstances:\n  edge: 2\n  usage: 3\n");
    List<Problem> problems = problemsOf(file, Map.of(), CliOverrides.NONE);
    assertThat(problems).singleElement().satisfies(p -> {
      assertThat(p.file()).isEqualTo(file.toString());
      assertThat(p.line()).isEqualTo(4);
      assertThat(p.field()).isEqualTo("instances.usage");
      assertThat(p.reason()).isEqualTo("must be 1 — the usage role has one journal writer per node");
    });
    assertThat(problemsOf(write(""), Map.of("CEIBA_INSTANCES", "edge=2,usage=2"), CliOverrides.NONE)).singleElement()
        .satisfies(p -> assertThat(p.toString()).isEqualTo("env CEIBA_INSTANCES: instances.usage: must be 1 — the usage role has one journal writer per node"));
    assertThat(problemsOf(write(""), Map.of(), new CliOverrides(null, "usage=2", null, null))).singleElement()
        .satisfies(p -> assertThat(p.file()).isEqualTo("--instances"));
    assertThat(load("instances: { usage: 1, auth: 2 }\n").instancesOf(Role.USAGE)).isEqualTo(1);
    assertThat(problemsOf(write("instances: { health: 2, control: 3 }\n"), Map.of(), CliOverrides.NONE))
        .extracting(Problem::field).containsExactlyInAnyOrder("instances.health", "instances.control");
  }

  @Test
  void should_name_the_variable_when_an_environment_override_is_wrong() throws IOException {
    List<Problem> problems = problemsOf(write(""), Map.of("CEIBA_EDGE_PORT", "http", "DB_IDLE_TIMEOUT_SECONDS", "ten"), CliOverrides.NONE);
    assertThat(problems).extracting(Problem::file).containsExactlyInAnyOrder("env CEIBA_EDGE_PORT", "env DB_IDLE_TIMEOUT_SECONDS");
  }

  @Test
  void should_report_the_line_when_the_file_is_not_yaml() throws IOException {
    List<Problem> problems = problemsOf(write("node:\n  id: [unclosed\nedge: {"), Map.of(), CliOverrides.NONE);
    assertThat(problems).singleElement().satisfies(p -> {
      assertThat(p.reason()).startsWith("not valid YAML");
      assertThat(p.line()).isGreaterThan(1);
    });
    assertThat(problemsOf(write("just a string"), Map.of(), CliOverrides.NONE)).singleElement()
        .satisfies(p -> assertThat(p.reason()).contains("expected a mapping"));
    assertThat(problemsOf(dir.resolve("missing.yaml"), Map.of(), CliOverrides.NONE)).singleElement()
        .satisfies(p -> assertThat(p.reason()).isEqualTo("file not found"));
  }

  @Test
  void should_report_duplicate_keys_with_both_lines() throws IOException {
    List<Problem> problems = problemsOf(write("edge:\n  port: 1\n  port: 2\n"), Map.of(), CliOverrides.NONE);
    assertThat(problems).singleElement().satisfies(p -> {
      assertThat(p.field()).isEqualTo("edge.port");
      assertThat(p.line()).isEqualTo(3);
      assertThat(p.reason()).contains("duplicate key").contains("line 2");
    });
  }

  @Test
  void should_accept_every_shipped_node_config() throws IOException {
    List<Path> shipped = new java.util.ArrayList<>();
    for (String folder : List.of("node-configs", "docker")) {
      try (var files = Files.list(Path.of(folder))) {
        files.filter(f -> f.getFileName().toString().matches("(node\\d|single)\\.yaml")).forEach(shipped::add);
      }
    }
    assertThat(shipped).hasSize(7);
    for (Path file : shipped) {
      NodeConfig config = NodeConfigLoader.load(file, Map.of(), CliOverrides.NONE, dir);
      assertThat(config.nodeId()).as(file.toString()).isNotBlank();
    }
  }

  @Test
  void should_read_tls_pairs_relative_to_the_config_and_refuse_missing_files() throws IOException {
    Files.writeString(dir.resolve("a.pem"), "x");
    Files.writeString(dir.resolve("a.key"), "x");
    NodeConfig config = load("edge: { tls: { port: 8443, certificates: [{ cert: a.pem, key: a.key }] } }\n");
    assertThat(config.edge().tls().port()).isEqualTo(8443);
    assertThat(config.edge().tls().certificates().get(0).cert()).isEqualTo(dir.resolve("a.pem"));
    List<Problem> problems = problemsOf(write("edge:\n  tls:\n    certificates:\n      - { cert: a.pem, key: missing.key }\n"),
        Map.of(), CliOverrides.NONE);
    assertThat(problems).singleElement().satisfies(p -> {
      assertThat(p.field()).isEqualTo("edge.tls.certificates[0].key");
      assertThat(p.line()).isEqualTo(4);
      assertThat(p.reason()).contains("cannot read");
    });
    assertThat(problemsOf(write("edge: { tls: { port: 8443 } }\n"), Map.of(), CliOverrides.NONE)).extracting(Problem::field)
        .containsExactly("edge.tls.certificates");
  }

  @Test
  void should_read_the_usage_section_and_refuse_a_buffer_smaller_than_a_batch() throws IOException {
    NodeConfig config = NodeConfigLoader.load(write(
        "usage: { flush_interval: 250ms, batch_size: 100, buffer_size: 2000, retention: 2d, journal_fsync: none,"
            + " spool_interval: 5ms, spool_fsync: every-batch, journal_max_bytes: 64MiB }\n"),
        Map.of(), CliOverrides.NONE, dir);
    assertThat(config.usage()).isEqualTo(new UsageConfig(Duration.ofMillis(250), 100, 2000, Duration.ofDays(2),
        io.ceiba.usage.journal.FsyncPolicy.NONE, Duration.ofMillis(5), io.ceiba.usage.journal.FsyncPolicy.EVERY_BATCH, 64L << 20));

    List<Problem> problems = problemsOf(write("usage: { batch_size: 500, buffer_size: 100, retention: 10m, journal_fsync: always,"
            + " spool_interval: 50ms, journal_max_bytes: 10KiB }\n"),
        Map.of(), CliOverrides.NONE);
    assertThat(problems).extracting(Problem::field).containsExactlyInAnyOrder("usage.buffer_size", "usage.retention", "usage.journal_fsync",
        "usage.spool_interval", "usage.journal_max_bytes");

    // no batch size given: the default, or the whole buffer when that is smaller
    assertThat(NodeConfigLoader.load(write("usage: { buffer_size: 300 }\n"), Map.of(), CliOverrides.NONE, dir).usage().batchSize())
        .isEqualTo(300);
    assertThat(NodeConfigLoader.load(write("usage: {}\n"), Map.of(), CliOverrides.NONE, dir).usage())
        .isEqualTo(UsageConfig.defaults());
  }

  @Test
  void should_read_the_listener_deadlines_and_caps_of_edge_and_control_and_name_the_line_of_a_bad_one() throws IOException {
    NodeConfig defaults = NodeConfigLoader.load(write(""), Map.of(), CliOverrides.NONE, dir);
    assertThat(defaults.edge().listener()).isEqualTo(new ListenerLimits(Duration.ofSeconds(10), 10_000));
    assertThat(defaults.control().listener()).isEqualTo(new ListenerLimits(Duration.ofSeconds(10), 256));
    assertThat(defaults.control().idleTimeout()).isEqualTo(Duration.ofSeconds(60));

    NodeConfig config = load("edge: { header_timeout: 2s, max_connections: 500 }\n"
        + "control: { idle_timeout: 5s, header_timeout: 750ms, max_connections: 8 }\n");
    assertThat(config.edge().listener()).isEqualTo(new ListenerLimits(Duration.ofSeconds(2), 500));
    assertThat(config.control().listener()).isEqualTo(new ListenerLimits(Duration.ofMillis(750), 8));
    assertThat(config.control().idleTimeout()).isEqualTo(Duration.ofSeconds(5));

    Path file = write("""
        edge:
          max_connections: 0
          header_timeout: soon
          idle_timeout: 500ms
        control:
          idle_timeout: 0s
          max_connections: lots
        """);
    List<Problem> problems = problemsOf(file, Map.of(), CliOverrides.NONE);
    assertThat(problems).extracting(Problem::field, Problem::line).containsExactlyInAnyOrder(
        tuple("edge.max_connections", 2), tuple("edge.header_timeout", 3), tuple("edge.idle_timeout", 4),
        tuple("control.idle_timeout", 6), tuple("control.max_connections", 7));
    // the edge's idle timeout counts whole seconds: 500ms would have meant none at all
    assertThat(problems).filteredOn(p -> p.field().equals("edge.idle_timeout")).singleElement()
        .satisfies(p -> assertThat(p.reason()).contains("at least 1s"));
    assertThat(problems).filteredOn(p -> p.field().equals("edge.max_connections")).singleElement()
        .satisfies(p -> assertThat(p.reason()).contains("between 1 and 1000000"));
  }
}
