package io.ceiba.registry;

import io.ceiba.yaml.InvalidDocumentException;
import io.ceiba.yaml.Problem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** Blocking file work for the registry: read and parse, write atomically. Call from a worker thread. */
final class RegistryFiles {

  private RegistryFiles() {
  }

  /** A read of one registry file: either a registry, or why not. {@code sha256} is null when the file is missing. */
  record Read(Path file, String sha256, Registry registry, List<Problem> problems) {

    boolean missing() {
      return sha256 == null;
    }

    boolean valid() {
      return registry != null;
    }
  }

  /** Reads {@code file}; parses it unless its digest equals {@code knownSha256} (then registry and problems are empty). */
  static Read read(Path file, String knownSha256, Path baseDir) {
    String text;
    try {
      if (Files.size(file) > io.ceiba.yaml.YamlDocument.MAX_BYTES) {
        return new Read(file, "", null, List.of(new Problem(file.toString(), 0, "", "file larger than " + io.ceiba.yaml.YamlDocument.MAX_BYTES + " bytes")));
      }
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return new Read(file, null, null, List.of(new Problem(file.toString(), 0, "", "file not found")));
    } catch (IOException | java.io.UncheckedIOException e) {
      return new Read(file, null, null, List.of(new Problem(file.toString(), 0, "", "cannot read: " + e.getMessage())));
    }
    String sha = sha256(text);
    if (sha.equals(knownSha256)) {
      return new Read(file, sha, null, List.of());
    }
    try {
      return new Read(file, sha, RegistryParser.parse(file.toString(), text, baseDir), List.of());
    } catch (InvalidDocumentException e) {
      return new Read(file, sha, null, e.problems());
    }
  }

  /** Writes {@code text} next to {@code file} and renames it over, so readers never see half a file. */
  static void writeAtomically(Path file, String text) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = Files.createTempFile(parent, "." + file.getFileName(), ".tmp");
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
