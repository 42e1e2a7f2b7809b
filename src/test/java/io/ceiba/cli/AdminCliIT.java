package io.ceiba.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.Main;
import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Origin;
import io.ceiba.testkit.Ports;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Every admin action of the README through {@code ceiba admin}, run in-process against a real node (embedded
 * PostgreSQL): plans, a project, a subscription, a key, verify, a keyed request and its usage, revoke, registry show,
 * diff, apply, history and rollback, cluster status; with the exit codes and the {@code --json} answers scripts read.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminCliIT {

  static {
    System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
  }

  private final Vertx vertx = Vertx.vertx();
  private CeibaNode node;
  private TestNodes.Spec spec;
  private Origin origin;
  private Path dir;
  private Path tokenFile;
  private String server;
  private String registryYaml;

  private record Run(int exit, String out, String err) {

    JsonObject json() {
      return new JsonObject(out);
    }

    @Override
    public String toString() {
      return "exit " + exit + "\nout: " + out + "\nerr: " + err;
    }
  }

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    this.dir = dir;
    origin = Origin.start(vertx, "origin");
    registryYaml = "version: 1\nhttp:\n  api:\n    hosts: [api.test]\n"
        + "    backends: [{ url: \"" + origin.url() + "\" }]\n    access: { policy: plan, plans: [pro] }\n";
    Path registry = Registries.write(dir.resolve("registry.yaml"), registryYaml);
    spec = TestNodes.write(dir, "node1", null, null, registry, "roles: [edge, auth, usage, health, control]\n");
    node = TestNodes.start(spec);
    ControlClient control = new ControlClient(vertx, spec.controlPort(), TestNodes.TOKEN);
    Eventually.until(vertx, Duration.ofSeconds(60), "node ready", () -> control.get("/ready").map(r -> r.statusCode() == 200))
        .await(70, TimeUnit.SECONDS);
    control.close();
    tokenFile = Files.writeString(dir.resolve("admin-token"), TestNodes.TOKEN + "\n");
    server = "http://127.0.0.1:" + spec.controlPort();
  }

  @AfterAll
  void stop() throws Exception {
    TestNodes.stopQuietly(node);
    origin.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static Run ceiba(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new Main()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  /** {@code ceiba admin ARGS --server ... --token-file ...}. */
  private Run admin(String... args) {
    List<String> all = new ArrayList<>(List.of("admin"));
    all.addAll(List.of(args));
    all.addAll(List.of("--server", server, "--token-file", tokenFile.toString()));
    return ceiba(all.toArray(String[]::new));
  }

  private Run ok(Run run) {
    assertThat(run.exit()).as(run.toString()).isZero();
    return run;
  }

  private int edgeRequest(String key) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + spec.edgePort() + "/hello"))
        .header("host", "api.test").header("x-api-key", key).build();
    return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  @Test
  void should_do_every_admin_action_of_the_readme_through_the_cli() throws Exception {
    // plans: created with options, listed as a table and as JSON
    JsonObject pro = ok(admin("plans", "create", "pro", "--rate", "10/1s", "--quota", "1000/day", "--json")).json();
    assertThat(pro.getJsonObject("rate_limit").getLong("requests")).isEqualTo(10);
    assertThat(pro.getJsonObject("quota").getString("per")).isEqualTo("day");
    assertThat(ok(admin("plans", "create", "free")).out()).contains("NAME").contains("free").contains("(all)");
    assertThat(ok(admin("plans", "update", "free", "--quota", "50/month", "--services", "api")).out()).contains("50/month");
    assertThat(ok(admin("plans", "list")).out()).contains("pro").contains("10/1s").contains("1000/day");
    assertThat(ok(admin("plans", "list", "--json")).json().getJsonArray("plans")).hasSize(2);

    // a project, its subscription, a key shown once
    String project = ok(admin("projects", "create", "acme", "--json")).json().getString("id");
    assertThat(project).startsWith("prj_");
    JsonObject subscription = ok(admin("subscriptions", "create", project, "pro", "--json")).json();
    assertThat(subscription.getString("plan")).isEqualTo("pro");
    JsonObject created = ok(admin("keys", "create", project, "--name", "ci", "--json")).json();
    String key = created.getString("key");
    assertThat(key).startsWith("ck_");
    Run shown = ok(admin("keys", "create", project, "--name", "spare"));
    assertThat(shown.out()).contains("key: ck_").contains("only time the key is shown");
    JsonObject shownProject = ok(admin("projects", "show", project, "--json")).json();
    assertThat(shownProject.getLong("active_keys")).isEqualTo(2);
    assertThat(ok(admin("projects", "show", project)).out()).contains("acme").contains("pro");
    Run listed = ok(admin("keys", "list", project, "--json"));
    assertThat(listed.json().getJsonArray("keys")).hasSize(2);
    assertThat(listed.out()).doesNotContain(key);

    // verify, then a keyed request through the edge, and its usage
    Path keyFile = Files.writeString(dir.resolve("key"), key);
    JsonObject verdict = ok(admin("keys", "verify", "--service", "api", "--key-file", keyFile.toString(), "--json")).json();
    assertThat(verdict.getBoolean("allowed")).as(verdict.encode()).isTrue();
    assertThat(verdict.getString("project")).isEqualTo(project);
    assertThat(edgeRequest(key)).isEqualTo(200);
    Eventually.until(vertx, Duration.ofSeconds(30), "the keyed request in the usage", () -> vertx.executeBlocking(() -> {
      Run usage = admin("usage", project, "--json");
      return usage.exit() == 0 && usage.json().getLong("total") == 1;
    })).await(40, TimeUnit.SECONDS);
    assertThat(ok(admin("usage", project)).out()).contains("api").contains("REQUESTS");
    // per route class: this service has no routes, so no class rows; a wrong --by is the API's 400, exit 1
    JsonObject byClass = ok(admin("usage", project, "--by", "route_class", "--json")).json();
    assertThat(byClass.getString("by")).isEqualTo("route_class");
    assertThat(byClass.getJsonArray("rows")).isEmpty();
    assertThat(ok(admin("usage", project, "--by", "route_class")).out()).contains("CLASS").contains("429S");
    assertThat(admin("usage", project, "--by", "route").exit()).isEqualTo(1);

    // revoke: refused from then on
    assertThat(ok(admin("keys", "revoke", created.getString("id"))).out()).contains("revoked");
    verdict = ok(admin("keys", "verify", "--service", "api", "--key-file", keyFile.toString(), "--json")).json();
    assertThat(verdict.getBoolean("allowed")).isFalse();
    assertThat(verdict.getString("code")).isEqualTo("key_revoked");
    Eventually.until(vertx, Duration.ofSeconds(10), "the edge refuses the revoked key",
        () -> vertx.executeBlocking(() -> edgeRequest(key) == 403)).await(15, TimeUnit.SECONDS);

    // registry: show, diff against a file, apply, history, diff between versions, rollback (both command names)
    JsonObject current = ok(admin("registry", "show", "--json")).json();
    assertThat(current.getLong("version")).isEqualTo(1);
    assertThat(ok(admin("registry", "show", "--yaml")).out()).isEqualTo(registryYaml);
    Path v2 = Files.writeString(dir.resolve("v2.yaml"), registryYaml.replace("version: 1", "version: 2"));
    Path v3 = Files.writeString(dir.resolve("v3.yaml"), registryYaml.replace("version: 1", "version: 3")
        .replace("hosts: [api.test]", "hosts: [api.test, api2.test]"));
    assertThat(ok(admin("registry", "diff", v2.toString())).out()).contains("-version: 1").contains("+version: 2");
    assertThat(ok(admin("registry", "validate", v2.toString())).out()).contains("is valid");
    JsonObject applied = ok(admin("registry", "apply", v2.toString(), "--json")).json();
    assertThat(applied.getBoolean("complete")).isTrue();
    assertThat(applied.getJsonObject("nodes").getJsonObject("node1").getString("result")).isEqualTo("applied");
    assertThat(ok(admin("registry", "apply", v3.toString())).out()).contains("node1").contains("applied on every node");
    JsonArray history = ok(admin("registry", "history", "--json")).json().getJsonArray("versions");
    assertThat(history.stream().map(v -> ((JsonObject) v).getLong("version")).toList()).containsExactly(3L, 2L);
    assertThat(ok(admin("registry", "show", "2", "--yaml")).out()).isEqualTo(Files.readString(v2));
    assertThat(ok(admin("registry", "show", "--help")).out()).contains("VERSION");
    String diff = ok(admin("registry", "diff", "2", "3")).out();
    assertThat(diff).contains("--- version 2").contains("+++ version 3").contains("-    hosts: [api.test]")
        .contains("+    hosts: [api.test, api2.test]");
    assertThat(ok(admin("registry", "diff", "3", "current", "--json")).json().getBoolean("same")).isTrue();
    JsonObject rolledBack = ok(admin("registry", "rollback", "--to", "2", "--json")).json();
    assertThat(rolledBack.getLong("rolled_back_to")).isEqualTo(2);
    assertThat(rolledBack.getLong("version")).isEqualTo(4);
    Run alias = ok(ceiba("registry", "rollback", "--to", "3", "--server", server, "--token-file", tokenFile.toString()));
    assertThat(alias.out()).contains("distributed as version 5");
    assertThat(ok(admin("registry", "show", "--json")).json().getJsonArray("http").getString(0)).isEqualTo("api");

    // cluster status: this node, its registry version, its view of the backend
    Eventually.until(vertx, Duration.ofSeconds(20), "cluster status shows version 5 and the backend up", () -> vertx.executeBlocking(() -> {
      JsonObject self = ok(admin("cluster", "status", "--json")).json().getJsonArray("nodes").getJsonObject(0);
      return self.getLong("registry_version") == 5 && self.getJsonArray("backends", new JsonArray()).size() == 1
          && self.getJsonArray("backends").getJsonObject(0).getBoolean("up");
    })).await(25, TimeUnit.SECONDS);
    assertThat(ok(admin("cluster", "status")).out()).contains("node1 (self)").contains("1/1").contains("5");
  }

  @Test
  void should_exit_with_a_code_per_kind_of_failure() throws Exception {
    // 1: the API refused; its code on stderr, its body on stdout with --json
    Run missing = admin("projects", "show", "prj_nosuch", "--json");
    assertThat(missing.exit()).as(missing.toString()).isEqualTo(1);
    assertThat(missing.err()).contains("404 not_found");
    assertThat(missing.json().getJsonObject("error").getString("code")).isEqualTo("not_found");
    Run stale = admin("registry", "apply", Files.writeString(dir.resolve("old.yaml"), "version: 1\nhttp: {}\n").toString());
    assertThat(stale.exit()).as(stale.toString()).isEqualTo(1);
    assertThat(stale.err()).contains("stale_version");
    Run invalid = admin("registry", "validate", Files.writeString(dir.resolve("bad.yaml"), "version: 9\nhttp: { x: 1 }\n").toString());
    assertThat(invalid.exit()).as(invalid.toString()).isEqualTo(1);
    assertThat(invalid.err()).contains("invalid_registry").contains("http.x");
    Path wrong = Files.writeString(dir.resolve("wrong-token"), "not-the-token");
    Run unauthorized = ceiba("admin", "plans", "list", "--server", server, "--token-file", wrong.toString());
    assertThat(unauthorized.exit()).isEqualTo(1);
    assertThat(unauthorized.err()).contains("401 unauthorized");

    // 2: usage errors, found before anything is sent
    assertThat(admin("keys", "create").exit()).isEqualTo(2);
    Run rate = admin("plans", "create", "x", "--rate", "10");
    assertThat(rate.exit()).isEqualTo(2);
    assertThat(rate.err()).contains("--rate must be REQUESTS/PER");
    Run noTokenFile = ceiba("admin", "plans", "list", "--server", server, "--token-file", dir.resolve("absent").toString());
    assertThat(noTokenFile.exit()).isEqualTo(2);
    assertThat(noTokenFile.err()).contains("cannot read the token file");
    assertThat(admin("registry", "diff", "no-such-file.yaml").exit()).isEqualTo(2);
    assertThat(ceiba("admin").exit()).isEqualTo(2);

    // 3: nothing listens there
    Run unreachable = ceiba("admin", "cluster", "status", "--server", "http://127.0.0.1:" + Ports.free(), "--token-file", tokenFile.toString());
    assertThat(unreachable.exit()).as(unreachable.toString()).isEqualTo(3);
    assertThat(unreachable.err()).contains("cannot reach");

    // completion: a bash script that knows the admin subcommands
    Run completion = ceiba("admin", "completion");
    assertThat(completion.exit()).isZero();
    assertThat(completion.out()).startsWith("#!/usr/bin/env bash").contains("ceiba").contains("subscriptions").contains("rollback");
  }
}
