package io.ceiba.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.Main;
import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.ceiba.testkit.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Backup, wipe, restore, proof: the restore evidence says OK with the manifest's counts, a canary key works, and a key
 * revoked after the backup was taken stays revoked (the revocation ledger is replayed).
 */
class BackupRestoreIT {

  private static final String REGISTRY = """
      version: 1
      http:
        api:
          hosts: [api.test]
          backends: [{ url: "http://127.0.0.1:9" }]
          access: { policy: api-key }
      """;

  @TempDir
  Path dir;

  private final Vertx client = Vertx.vertx();
  private CeibaNode node;

  @AfterEach
  void stop() throws Exception {
    TestNodes.stopQuietly(node);
    client.close().await(10, TimeUnit.SECONDS);
  }

  private record Run(int exit, String out, String err) {
  }

  private static Run cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new Main()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private ControlClient startNode(String id, String database) {
    Path registry = Registries.write(dir.resolve("registry-" + id + ".yaml"), REGISTRY);
    TestNodes.Spec spec = TestNodes.write(dir, id, null, null, registry, "roles: [control, auth]\npostgres: { url: \"" + database + "\" }\n");
    node = TestNodes.start(spec);
    ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);
    try {
      Eventually.until(client, Duration.ofSeconds(60), id + " ready", () -> control.get("/ready").map(r -> r.statusCode() == 200))
          .await(70, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    return control;
  }

  private JsonObject key(ControlClient control, String projectId) throws Exception {
    return control.create("/v1/projects/" + projectId + "/keys", "{\"name\": \"k\"}").await(10, TimeUnit.SECONDS);
  }

  private String verify(ControlClient control, String key) throws Exception {
    var r = control.send(HttpMethod.POST, "/v1/verify", new JsonObject().put("key", key).put("service", "api").encode(), "application/json")
        .await(10, TimeUnit.SECONDS);
    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
    return r.bodyAsJsonObject().getString("code");
  }

  @Test
  void should_restore_a_backup_into_an_empty_database_with_evidence_and_keep_later_revocations() throws Exception {
    ControlClient before = startNode("n1", TestPostgres.newDatabase());
    before.create("/v1/plans", "{\"name\": \"pro\", \"rate_limit\": {\"requests\": 10, \"per\": \"1s\"}}").await(10, TimeUnit.SECONDS);
    String project = before.create("/v1/projects", "{\"name\": \"acme\"}").await(10, TimeUnit.SECONDS).getString("id");
    before.create("/v1/projects/" + project + "/subscriptions", "{\"plan\": \"pro\"}").await(10, TimeUnit.SECONDS);
    String canary = key(before, project).getString("key");
    JsonObject revokedLater = key(before, project);
    JsonObject revokedBefore = key(before, project);
    assertThat(before.send(HttpMethod.DELETE, "/v1/keys/" + revokedBefore.getString("id"), null).await(10, TimeUnit.SECONDS).statusCode())
        .isEqualTo(204);

    Run backup = cli("backup", "--config", dir.resolve("n1.yaml").toString(), "--to", dir.resolve("backups").toString());
    assertThat(backup.exit()).as(backup.err()).isZero();
    Path backupDir;
    try (Stream<Path> made = Files.list(dir.resolve("backups"))) {
      backupDir = made.filter(p -> p.getFileName().toString().startsWith("ceiba-backup-")).findFirst().orElseThrow();
    }
    JsonObject manifest = new JsonObject(Files.readString(backupDir.resolve("manifest.json")));
    assertThat(manifest.getJsonObject("tables").getJsonObject("api_keys").getLong("rows")).isEqualTo(3);
    assertThat(manifest.getJsonObject("tables").getJsonObject("plans").getLong("rows")).isEqualTo(1);

    // after the backup: a revocation the backup cannot know of
    assertThat(before.send(HttpMethod.DELETE, "/v1/keys/" + revokedLater.getString("id"), null).await(10, TimeUnit.SECONDS).statusCode())
        .isEqualTo(204);
    Path ledger = dir.resolve("data-n1").resolve(RevocationLedger.FILE);
    Eventually.until(client, Duration.ofSeconds(10), "the revocation in the node's ledger",
        () -> client.executeBlocking(() -> Files.isRegularFile(ledger) && RevocationLedger.read(ledger).size() == 2))
        .await(15, TimeUnit.SECONDS);
    TestNodes.stopQuietly(node);
    node = null;

    // the database is gone: restore into a new, empty one
    String fresh = TestPostgres.newDatabase();
    Registries.write(dir.resolve("registry-n2.yaml"), REGISTRY);
    TestNodes.Spec restored = TestNodes.write(dir, "n2", null, null, dir.resolve("registry-n2.yaml"),
        "roles: [control, auth]\npostgres: { url: \"" + fresh + "\" }\n");
    Run restore = cli("restore", "--config", restored.configFile().toString(), "--from", backupDir.toString(),
        "--revocations", ledger.toString(), "--canary-key", canary);
    assertThat(restore.exit()).as(restore.out() + restore.err()).isZero();
    JsonObject evidence = new JsonObject(Files.readString(backupDir.resolve("restore-evidence.json")));
    assertThat(evidence.getBoolean("ok")).as(evidence.encodePrettily()).isTrue();
    assertThat(evidence.getJsonArray("checks").stream().map(c -> ((JsonObject) c).getString("check")))
        .anyMatch(c -> c.startsWith("table api_keys restored: 3 rows"))
        .anyMatch(c -> c.startsWith("canary key"))
        .anyMatch(c -> c.startsWith("revocations replayed"));
    assertThat(evidence.encode()).doesNotContain(canary);

    ControlClient after = startNode("n2", fresh);
    assertThat(verify(after, canary)).isEqualTo("valid_key");
    assertThat(verify(after, revokedLater.getString("key"))).isEqualTo("key_revoked");
    assertThat(verify(after, revokedBefore.getString("key"))).isEqualTo("key_revoked");
    TestNodes.stopQuietly(node);
    node = null;

    // a database that holds data is not overwritten without --force
    Run again = cli("restore", "--config", restored.configFile().toString(), "--from", backupDir.toString(), "--revocations", "none");
    assertThat(again.exit()).isEqualTo(2);
    assertThat(again.err()).contains("already holds").contains("--force");

    // a damaged backup is caught before anything is loaded
    Path keys = backupDir.resolve("api_keys.copy");
    Files.writeString(keys, Files.readString(keys).replace('a', 'b'));
    Run damaged = cli("restore", "--config", restored.configFile().toString(), "--from", backupDir.toString(), "--force",
        "--revocations", "none");
    assertThat(damaged.exit()).isEqualTo(1);
    assertThat(Files.readString(backupDir.resolve("restore-evidence.json"))).contains("\"ok\" : false").contains("api_keys.copy");
  }
}
