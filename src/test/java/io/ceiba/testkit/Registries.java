package io.ceiba.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Small valid registries for tests, one HTTP service per version so a change is visible. */
public final class Registries {

  private Registries() {
  }

  public static String yaml(long version) {
    return """
        version: %d
        http:
          svc%d:
            hosts: [svc%d.example.test]
            backends:
              - { url: "http://127.0.0.1:9001", node: node1 }
        """.formatted(version, version, version);
  }

  /** The host of the service of {@link #keyedService}. */
  public static final String KEYED_HOST = "api.test";

  /** One {@code api-key} service, {@code api} at {@link #KEYED_HOST}, served by {@code origin}. */
  public static String keyedService(Origin origin) {
    return "version: 1\nhttp:\n  api:\n    hosts: [" + KEYED_HOST + "]\n"
        + "    backends: [{ url: \"" + origin.url() + "\" }]\n    access: { policy: api-key }\n";
  }

  public static Path write(Path file, String yaml) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      // write then rename, as editors and config managers do, so the poller never sees half a file
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(tmp, yaml);
      Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
