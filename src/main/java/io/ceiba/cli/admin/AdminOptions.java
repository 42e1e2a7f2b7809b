package io.ceiba.cli.admin;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The options every {@code ceiba admin} command takes (a picocli mixin): which control node, the admin token, the
 * output form. There is no {@code --token VALUE}: a token on the command line ends up in the shell history and in
 * every other user's {@code ps}.
 */
public final class AdminOptions {

  static final String DEFAULT_SERVER = "http://127.0.0.1:9090";
  /** The token file a node generates when it is given none (the quick start's). */
  static final Path DEFAULT_TOKEN_FILE = Path.of("data", "admin-token");

  @Option(names = "--server", paramLabel = "URL", description = "control API of a node with role control "
      + "(default: $CEIBA_SERVER, else " + DEFAULT_SERVER + ")")
  String server;

  @Option(names = "--token-file", paramLabel = "FILE", description = "file holding the admin token "
      + "(default: $CEIBA_ADMIN_TOKEN, else data/admin-token)")
  Path tokenFile;

  @Option(names = "--json", description = "print the API's JSON answer (for scripts) instead of a table")
  boolean json;

  /** Thrown for what the operator must fix before a request is sent (exit 2). */
  static final class UsageProblem extends RuntimeException {
    UsageProblem(String message) {
      super(message);
    }
  }

  AdminClient client(Map<String, String> env) {
    String base = server != null ? server : env.getOrDefault("CEIBA_SERVER", DEFAULT_SERVER);
    if (!base.matches("https?://[^/\\s]+/?")) {
      throw new UsageProblem("--server must be http(s)://HOST:PORT, got '" + base + "'");
    }
    return new AdminClient(base, token(env));
  }

  private String token(Map<String, String> env) {
    String token;
    if (tokenFile != null) {
      token = read(tokenFile);
    } else if (env.get("CEIBA_ADMIN_TOKEN") != null && !env.get("CEIBA_ADMIN_TOKEN").isBlank()) {
      token = env.get("CEIBA_ADMIN_TOKEN").trim();
    } else if (Files.isReadable(DEFAULT_TOKEN_FILE)) {
      token = read(DEFAULT_TOKEN_FILE);
    } else {
      throw new UsageProblem("no admin token: set CEIBA_ADMIN_TOKEN or give --token-file FILE (no " + DEFAULT_TOKEN_FILE + " here)");
    }
    if (token.isEmpty() || token.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
      throw new UsageProblem("the admin token must be one line of printable characters without spaces");
    }
    return token;
  }

  private static String read(Path file) {
    try {
      return Files.readString(file).trim();
    } catch (IOException e) {
      throw new UsageProblem("cannot read the token file " + file + ": " + e.getMessage());
    }
  }
}
