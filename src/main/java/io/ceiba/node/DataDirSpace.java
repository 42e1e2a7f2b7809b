package io.ceiba.node;

import io.ceiba.observability.MetricNames;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * The data_dir's file system, seen from the node: free bytes as metrics, and a {@code disk} check in {@code /ready}
 * that says when the usage journals and the embedded PostgreSQL are short of room. The check is not required: a node
 * with a full disk still serves (keys from its cache, usage events in memory until the disk takes writes again), so a
 * load balancer keeps it in rotation while the body and the metrics tell the operator.
 */
public final class DataDirSpace {

  /** Below this the next journal segments or PostgreSQL's next WAL file may not fit. */
  static final long LOW_BYTES = 64L * 1024 * 1024;
  static final long PROBE_INTERVAL_MS = 5000;

  private final Path dataDir;
  private final BooleanSupplier spoolWritesFailing;
  private final AtomicLong free = new AtomicLong(-1);
  private final AtomicLong size = new AtomicLong(-1);
  private volatile String probeError;

  private DataDirSpace(Path dataDir, BooleanSupplier spoolWritesFailing) {
    this.dataDir = dataDir;
    this.spoolWritesFailing = spoolWritesFailing;
  }

  /** Probes now and every {@link #PROBE_INTERVAL_MS} (off the event loop: statvfs may stall on a sick disk). */
  public static DataDirSpace watch(Vertx vertx, Path dataDir, MeterRegistry meters, BooleanSupplier spoolWritesFailing) {
    DataDirSpace space = new DataDirSpace(dataDir, spoolWritesFailing);
    Gauge.builder(MetricNames.DATA_DIR_FREE, space.free, AtomicLong::get)
        .description("Bytes free for this node on the file system of data_dir (journals, embedded PostgreSQL); -1 unknown")
        .baseUnit("bytes").register(meters);
    Gauge.builder(MetricNames.DATA_DIR_SIZE, space.size, AtomicLong::get)
        .description("Size of the file system of data_dir; -1 unknown").baseUnit("bytes").register(meters);
    space.probe(vertx);
    vertx.setPeriodic(PROBE_INTERVAL_MS, t -> space.probe(vertx));
    return space;
  }

  private void probe(Vertx vertx) {
    vertx.executeBlocking(() -> {
      try {
        FileStore store = Files.getFileStore(dataDir);
        size.set(store.getTotalSpace());
        free.set(store.getUsableSpace());
        probeError = null;
      } catch (IOException e) {
        probeError = e.getMessage();
      }
      return null;
    }, false);
  }

  /** The {@code disk} check of {@code /ready}: answers from the last probe (atomics, any thread). */
  public void registerReadiness(HealthChecks readiness) {
    readiness.register("disk", promise -> promise.tryComplete(status()));
  }

  Status status() {
    long freeBytes = free.get();
    JsonObject data = new JsonObject().put("data_dir", dataDir.toString()).put("free_bytes", freeBytes).put("size_bytes", size.get());
    boolean failing = spoolWritesFailing.getAsBoolean();
    data.put("spool_writes", failing ? "failing" : "ok");
    String reason = null;
    if (probeError != null) {
      reason = "cannot read the file system of data_dir: " + probeError;
    } else if (failing) {
      reason = "the usage spool cannot write to data_dir: usage events go on in memory without crash safety";
    } else if (freeBytes >= 0 && freeBytes < LOW_BYTES) {
      reason = "data_dir has " + freeBytes + " bytes free (under " + LOW_BYTES + "): journals and the embedded PostgreSQL"
          + " are about to fail their writes";
    }
    return reason == null ? Status.OK(data) : Status.KO(data.put("reason", reason));
  }
}
