package io.ceiba.acme;

import io.ceiba.bus.Addresses;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The HTTP-01 challenges this node's edge answers, whichever node ordered them: the ordering node sends each token
 * and its key authorization to every node of the view ({@link Addresses#acmeChallenge}) before asking the CA to
 * check, so the CA may reach any edge. Shared by the node's edge instances (a concurrent map, read on their event
 * loops); entries expire by themselves, so a node that ordered and died leaves nothing behind for long.
 */
public final class AcmeChallenges {

  /** Where HTTP-01 challenges are fetched (RFC 8555 section 8.3). */
  public static final String PATH_PREFIX = "/.well-known/acme-challenge/";
  /** A token is base64url (RFC 8555 section 8.1), at least 128 bits. */
  private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]{16,128}");
  private static final Pattern KEY_AUTHORIZATION = Pattern.compile("[A-Za-z0-9_-]{16,128}\\.[A-Za-z0-9_-]{16,128}");
  static final Duration LIFETIME = Duration.ofMinutes(10);

  private record Entry(String keyAuthorization, long expiresNanos) {
  }

  private final Map<String, Entry> tokens = new ConcurrentHashMap<>();

  /** Takes challenges sent to this node over the cluster; the reply confirms the edge answers it now. */
  public MessageConsumer<JsonObject> listen(Vertx vertx, String nodeId) {
    return vertx.eventBus().consumer(Addresses.acmeChallenge(nodeId), msg -> {
      JsonObject body = msg.body();
      String token = body == null ? null : body.getString("token");
      if (token == null || !TOKEN.matcher(token).matches()) {
        msg.fail(400, "not an ACME token");
        return;
      }
      if (body.getBoolean("remove", false)) {
        tokens.remove(token);
        msg.reply(true);
        return;
      }
      String keyAuthorization = body.getString("key_authorization");
      if (keyAuthorization == null || !KEY_AUTHORIZATION.matcher(keyAuthorization).matches()
          || !keyAuthorization.startsWith(token + ".")) {
        msg.fail(400, "not a key authorization of this token");
        return;
      }
      tokens.values().removeIf(e -> e.expiresNanos() - System.nanoTime() < 0);
      tokens.put(token, new Entry(keyAuthorization, System.nanoTime() + LIFETIME.toNanos()));
      msg.reply(true);
    });
  }

  /** The key authorization to answer for {@code token}, or null. */
  public String answer(String token) {
    Entry entry = tokens.get(token);
    if (entry == null || entry.expiresNanos() - System.nanoTime() < 0) {
      return null;
    }
    return entry.keyAuthorization();
  }
}
