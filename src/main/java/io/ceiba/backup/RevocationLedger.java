package io.ceiba.backup;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every key revocation this node hears of, appended to {@code data_dir/revocations.jsonl}: outside the database, so
 * outside what a backup holds. A restore replays it, so a key revoked after the backup was taken does not come back
 * to life. Every node keeps one (revocations are announced cluster-wide), so any surviving node's file will do.
 * One line per revocation: {@code {"hash": "<sha-256 hex>", "at": "<instant>"}}; a torn last line is skipped.
 */
public final class RevocationLedger {

  private static final Logger LOG = LoggerFactory.getLogger(RevocationLedger.class);
  public static final String FILE = "revocations.jsonl";

  public record Entry(String hash, Instant at) {
  }

  private final Vertx vertx;
  private final Path file;
  /** Revocations recorded lately, so the repeated announcement is written once; bounded, oldest dropped first. */
  private final java.util.Set<String> recent = java.util.Collections.newSetFromMap(new java.util.LinkedHashMap<>(64, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(java.util.Map.Entry<String, Boolean> eldest) {
      return size() > 1024;
    }
  });

  public RevocationLedger(Vertx vertx, Path dataDir) {
    this.vertx = vertx;
    this.file = dataDir.resolve(FILE);
  }

  /** Records the revocation an access-change announcement carries, if it carries one (it is announced twice: kept once). */
  public void record(JsonObject change) {
    var revoked = change.getJsonArray("revoked");
    String at = change.getString("revoked_at");
    if (revoked == null || revoked.isEmpty() || at == null) {
      return;
    }
    List<String> hashes = new ArrayList<>();
    for (Object h : revoked) {
      String hash = String.valueOf(h);
      // the announcement is repeated; hashes must look like SHA-256 hex (a peer's message is input like any other)
      if (hash.matches("[0-9a-f]{64}") && recent.add(hash + ' ' + at)) {
        hashes.add(hash);
      }
    }
    try {
      append(hashes, Instant.parse(at));
    } catch (java.time.format.DateTimeParseException e) {
      LOG.warn("ignoring a revocation announcement with an invalid time '{}'", at);
    }
  }

  /** Appends on a worker, in order; a failure is logged (the revocation itself already happened). */
  public Future<Void> append(List<String> hashes, Instant at) {
    if (hashes.isEmpty()) {
      return Future.succeededFuture();
    }
    StringBuilder lines = new StringBuilder();
    hashes.forEach(h -> lines.append(new JsonObject().put("hash", h).put("at", at.toString()).encode()).append('\n'));
    return vertx.<Void>executeBlocking(() -> {
      Files.createDirectories(file.getParent());
      Files.writeString(file, lines, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
          StandardOpenOption.WRITE, StandardOpenOption.SYNC);
      return null;
    }).onFailure(e -> LOG.error("revocation of {} keys not written to {}: a restore from an older backup would not know of it: {}",
        hashes.size(), file, e.getMessage()));
  }

  /** The entries of a ledger file, the earliest revocation per key; lines that do not parse are skipped. */
  public static List<Entry> read(Path file) throws IOException {
    Map<String, Instant> earliest = new java.util.LinkedHashMap<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      try {
        JsonObject json = new JsonObject(line);
        String hash = json.getString("hash");
        Instant at = Instant.parse(json.getString("at"));
        if (hash != null && hash.matches("[0-9a-f]{64}")) {
          earliest.merge(hash, at, (a, b) -> a.isBefore(b) ? a : b);
        }
      } catch (RuntimeException e) {
        // a torn line (crash mid-append) or foreign content: not a revocation
      }
    }
    List<Entry> entries = new ArrayList<>();
    earliest.forEach((hash, at) -> entries.add(new Entry(hash, at)));
    return entries;
  }
}
