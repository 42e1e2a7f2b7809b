package io.ceiba.node;

import io.ceiba.config.NodeConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bearer token of {@code /v1/*}: {@code control.token} when set, else one generated once and kept in
 * {@code data_dir/admin-token} (mode 600), so a node never runs its admin API unprotected.
 */
final class AdminToken {

  private static final Logger LOG = LoggerFactory.getLogger(AdminToken.class);
  static final String FILE_NAME = "admin-token";

  private AdminToken() {
  }

  static Future<String> resolve(Vertx vertx, NodeConfig config) {
    if (!config.control().token().isEmpty()) {
      return Future.succeededFuture(config.control().token());
    }
    return vertx.executeBlocking(() -> readOrCreate(config.dataDir().resolve(FILE_NAME)));
  }

  private static String readOrCreate(Path file) throws java.io.IOException {
    if (Files.isRegularFile(file)) {
      String token = Files.readString(file, StandardCharsets.UTF_8).trim();
      if (!token.isEmpty()) {
        return token;
      }
    }
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
    Files.writeString(tmp, token + "\n", StandardCharsets.UTF_8);
    // on a non-POSIX file system the data dir's own permissions apply
    if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
    }
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    LOG.info("control.token is not set: generated an admin token into {}", file);
    return token;
  }
}
