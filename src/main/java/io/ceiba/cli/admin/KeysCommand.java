package io.ceiba.cli.admin;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ceiba admin keys create|list|revoke|verify}. */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "API keys of projects.",
    subcommands = {KeysCommand.CreateKey.class, KeysCommand.ListKeys.class, KeysCommand.RevokeKey.class, KeysCommand.VerifyKey.class})
final class KeysCommand extends AdminGroup {

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create a key for a project. The key is printed once: only its hash is stored.")
  static final class CreateKey extends AdminCall {
    @Parameters(index = "0", paramLabel = "PROJECT", description = "project id (prj_...)")
    String project;

    @Option(names = "--name", paramLabel = "NAME", description = "a name for the key (default: default)")
    String name;

    @Option(names = "--expires-at", paramLabel = "TIME", description = "expiry, a UTC timestamp such as 2027-01-01T00:00:00Z")
    String expiresAt;

    @Override
    int run(AdminClient api) {
      JsonObject body = new JsonObject();
      if (name != null) {
        body.put("name", name);
      }
      if (expiresAt != null) {
        body.put("expires_at", expiresAt);
      }
      return print(api.send("POST", "/v1/projects/" + Paths.segment(project) + "/keys", body, 201), key -> {
        new Table("ID", "PROJECT", "NAME", "PREFIX", "EXPIRES").row(key.getString("id"), key.getString("project"),
            key.getString("name"), key.getString("prefix"), key.getString("expires_at")).print(out());
        out().println();
        out().println("key: " + key.getString("key"));
        out().println("This is the only time the key is shown; store it now (only its SHA-256 is kept).");
      });
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "A project's keys (prefixes, never the keys).")
  static final class ListKeys extends AdminCall {
    @Parameters(index = "0", paramLabel = "PROJECT", description = "project id (prj_...)")
    String project;

    @Override
    int run(AdminClient api) {
      return print(api.get("/v1/projects/" + Paths.segment(project) + "/keys"), answer -> {
        Table table = new Table("ID", "NAME", "PREFIX", "CREATED", "EXPIRES", "REVOKED");
        answer.getJsonArray("keys", new JsonArray()).forEach(o -> {
          JsonObject k = (JsonObject) o;
          table.row(k.getString("id"), k.getString("name"), k.getString("prefix"), k.getString("created_at"),
              k.getString("expires_at"), k.getString("revoked_at"));
        });
        table.print(out());
      });
    }
  }

  @Command(name = "revoke", mixinStandardHelpOptions = true,
      description = "Revoke a key: refused on every node within moments. Revoking a revoked key is not an error.")
  static final class RevokeKey extends AdminCall {
    @Parameters(index = "0", paramLabel = "KEY_ID", description = "key id (key_...)")
    String id;

    @Override
    int run(AdminClient api) {
      AdminClient.expect(api.send("DELETE", "/v1/keys/" + Paths.segment(id), null, null), 204);
      return print(new JsonObject().put("id", id).put("revoked", true), r -> out().println("key " + id + " revoked"));
    }
  }

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = {"What the edge would decide for a key on a service, without counting a request.",
          "The key is read from --key-file (- for standard input), else $CEIBA_API_KEY: never from the command line."})
  static final class VerifyKey extends AdminCall {
    @Option(names = "--service", paramLabel = "SERVICE", required = true, description = "http service of the registry")
    String service;

    @Option(names = "--key-file", paramLabel = "FILE", description = "file holding the key, - for standard input")
    String keyFile;

    @Override
    int run(AdminClient api) {
      String key = key();
      JsonObject body = new JsonObject().put("key", key).put("service", service);
      return print(api.send("POST", "/v1/verify", body, 200), d -> new Table("ALLOWED", "CODE", "SERVICE", "PROJECT", "KEY_ID", "PLAN",
          "REMAINING", "RESET").row(d.getValue("allowed"), d.getString("code"), d.getString("service"), d.getString("project"),
          d.getString("key_id"), d.getString("plan"), d.getValue("remaining"), d.getString("reset")).print(out()));
    }

    private String key() {
      try {
        if ("-".equals(keyFile)) {
          InputStream in = System.in;
          return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
        if (keyFile != null) {
          return Files.readString(Path.of(keyFile)).trim();
        }
      } catch (IOException e) {
        throw new AdminOptions.UsageProblem("cannot read the key from " + keyFile + ": " + e.getMessage());
      }
      String key = System.getenv("CEIBA_API_KEY");
      if (key == null || key.isBlank()) {
        throw new AdminOptions.UsageProblem("give the key with --key-file FILE (- for standard input) or $CEIBA_API_KEY");
      }
      return key.trim();
    }
  }
}
