package io.ceiba.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.ceiba.node.CeibaNode;
import io.ceiba.testkit.ControlClient;
import io.ceiba.testkit.Eventually;
import io.ceiba.testkit.Registries;
import io.ceiba.testkit.TestNodes;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A control node takes scheduled backups, keeps the newest ones, and proves each restorable into a throwaway PostgreSQL. */
class BackupScheduleIT {

  @TempDir
  Path dir;

  private final Vertx client = Vertx.vertx();
  private CeibaNode node;

  @AfterEach
  void stop() throws Exception {
    TestNodes.stopQuietly(node);
    client.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void should_take_scheduled_backups_keep_the_newest_and_prove_them_restorable() throws Exception {
    Path backups = dir.resolve("backups");
    Path registry = Registries.write(dir.resolve("registry.yaml"), Registries.yaml(1));
    TestNodes.Spec spec = TestNodes.write(dir, "n1", null, null, registry,
        "backup: { dir: " + backups + ", interval: 2s, keep: 1 }\n");
    node = TestNodes.start(spec);
    ControlClient control = new ControlClient(client, spec.controlPort(), TestNodes.TOKEN);
    Eventually.until(client, Duration.ofSeconds(90), "a backup proved restorable",
        () -> control.metric("ceiba_restore_check_last_success_timestamp_seconds").map(t -> t > 0)).await(100, TimeUnit.SECONDS);
    double first = control.metric("ceiba_backup_last_success_timestamp_seconds").await(10, TimeUnit.SECONDS);
    assertThat(first).isGreaterThan(0);
    Eventually.until(client, Duration.ofSeconds(90), "a second scheduled backup",
        () -> control.metric("ceiba_backup_last_success_timestamp_seconds").map(t -> t > first)).await(100, TimeUnit.SECONDS);
    Eventually.until(client, Duration.ofSeconds(30), "only the newest backup kept (keep: 1)",
        () -> client.executeBlocking(() -> listBackups(backups).size() == 1)).await(40, TimeUnit.SECONDS);
    Path kept = listBackups(backups).get(0);
    Eventually.until(client, Duration.ofSeconds(60), "the kept backup's restore evidence",
        () -> client.executeBlocking(() -> Files.isRegularFile(kept.resolve(RestoreRunner.EVIDENCE)))).await(70, TimeUnit.SECONDS);
    JsonObject evidence = new JsonObject(Files.readString(kept.resolve(RestoreRunner.EVIDENCE)));
    assertThat(evidence.getBoolean("ok")).as(evidence.encodePrettily()).isTrue();
    assertThat(control.metric("ceiba_backup_failures_total").await(10, TimeUnit.SECONDS)).isZero();
  }

  private static List<Path> listBackups(Path backups) throws Exception {
    try (Stream<Path> all = Files.list(backups)) {
      return all.filter(p -> p.getFileName().toString().startsWith("ceiba-backup-")).toList();
    }
  }
}
