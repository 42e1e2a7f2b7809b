package io.ceiba.cli;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code ceiba registry rollback [--to VERSION]}: against a node's control API. */
@Command(name = "registry", mixinStandardHelpOptions = true, description = "Registry operations against a node's control API.",
    subcommands = RegistryCommand.Rollback.class)
public final class RegistryCommand implements Runnable {

  @Spec
  CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
  }

  /** Distributes an earlier registry from registry_history as a new version. Exit 0 when every node applied it. */
  @Command(name = "rollback", mixinStandardHelpOptions = true,
      description = "Distribute an earlier registry (default: the newest recorded below the current version) to the whole cluster "
          + "as a new version. Exit 0 when every node applied it, 1 when some did not, 2 when refused.")
  static final class Rollback implements Callable<Integer> {

    @Option(names = "--to", paramLabel = "VERSION", description = "the version to go back to (from registry_history)")
    Long to;

    @Option(names = "--server", paramLabel = "URL", description = "control API of a node with role control "
        + "(default: $CEIBA_SERVER, else http://127.0.0.1:9090)")
    String server;

    @Option(names = "--token-file", paramLabel = "FILE", description = "admin token file (default: $CEIBA_ADMIN_TOKEN, else data/admin-token)")
    Path tokenFile;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      String base = server != null ? server : System.getenv().getOrDefault("CEIBA_SERVER", "http://127.0.0.1:9090");
      String token;
      if (tokenFile != null) {
        token = Files.readString(tokenFile).trim();
      } else if (System.getenv("CEIBA_ADMIN_TOKEN") != null) {
        token = System.getenv("CEIBA_ADMIN_TOKEN");
      } else {
        token = Files.readString(Path.of("data/admin-token")).trim();
      }
      HttpRequest request = HttpRequest.newBuilder(URI.create(base.replaceAll("/+$", "") + "/v1/registry/rollback"))
          .timeout(Duration.ofSeconds(30))
          .header("Authorization", "Bearer " + token)
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(to == null ? "" : "{\"to\": " + to + "}"))
          .build();
      // HttpClient is not AutoCloseable on Java 17; its threads end with the command
      HttpResponse<String> response = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
          .send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        spec.commandLine().getErr().println("rollback refused (" + response.statusCode() + "): " + response.body());
        return 2;
      }
      spec.commandLine().getOut().println(response.body());
      return response.body().contains("\"complete\":true") ? 0 : 1;
    }
  }
}
