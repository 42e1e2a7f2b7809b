package io.ceiba.access.limit;

import io.ceiba.store.redis.RedisService;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** A Lua script of the jar run on Redis by its SHA-1, sent in full only when Redis does not have it yet. */
final class LuaScript {

  private final String text;
  private final String sha;

  private LuaScript(String text) {
    this.text = text;
    this.sha = sha1(text);
  }

  /** Loads {@code resource} (e.g. {@code /redis/take.lua}) from the jar. */
  static LuaScript load(String resource) {
    try (InputStream in = LuaScript.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " missing from the jar");
      }
      return new LuaScript(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Runs the script with {@code args} ({@code numkeys}, the keys, then the arguments). */
  Future<Response> run(RedisService redis, Object... args) {
    return redis.send(command(Command.EVALSHA, sha, args))
        .recover(e -> String.valueOf(e.getMessage()).startsWith("NOSCRIPT")
            ? redis.send(command(Command.EVAL, text, args)) : Future.failedFuture(e));
  }

  private static Request command(Command command, String script, Object[] args) {
    Request request = Request.cmd(command).arg(script);
    for (Object a : args) {
      request.arg(String.valueOf(a));
    }
    return request;
  }

  private static String sha1(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
