package io.ceiba.control;

import io.ceiba.bus.Addresses;
import io.ceiba.error.CeibaException;
import io.ceiba.error.ErrorCode;
import io.ceiba.node.NodeContext;
import io.ceiba.tls.CertificateChecks;
import io.ceiba.tls.ServedCertificate;
import io.ceiba.tls.StoredCertificates;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * {@code /v1/certificates}: a certificate stored once serves on every edge of the cluster. {@code PUT
 * /v1/certificates/{name}} takes {@code {"cert": PEM, "key": PEM}}, checks the pair as a reload would (chain, key is
 * the certificate's, valid now), seals the key and stores both; {@code GET} lists names, DNS names, issuer and expiry,
 * and which certificates each node's edge serves; {@code DELETE} removes one. A private key is never returned.
 */
final class CertificateApi {

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
  private static final DeliveryOptions ASK = new DeliveryOptions().setSendTimeout(2000);

  private final Vertx vertx;
  private final NodeContext node;
  private final StoredCertificates store;

  CertificateApi(Vertx vertx, NodeContext node) {
    this.vertx = vertx;
    this.node = node;
    this.store = new StoredCertificates(node.postgres().pool());
  }

  void mount(Router router, Function<RoutingContext, String> body) {
    router.get("/certificates").handler(ctx -> ApiReplies.send(ctx, 200, ApiReplies.call(this::list), e -> e));
    router.put("/certificates/:name").handler(ctx -> ApiReplies.send(ctx, 200,
        ApiReplies.call(() -> put(ctx.pathParam("name"), body.apply(ctx))), e -> e));
    router.delete("/certificates/:name").handler(ctx -> ApiReplies.send(ctx, 200,
        ApiReplies.call(() -> delete(ctx.pathParam("name"))), e -> e));
  }

  private static String checkedName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw JsonInput.invalidField("name", "must be 1-63 lower-case letters, digits, '.', '_' or '-', got '" + JsonInput.clip(name) + "'");
    }
    return name;
  }

  private Future<JsonObject> put(String rawName, String body) {
    String name = checkedName(rawName);
    JsonInput in = JsonInput.parse(body, Set.of("cert", "key"));
    String cert = in.string("cert", true);
    String key = in.string("key", true);
    return store.store(vertx, node.vault(), name, cert, key)
        .recover(e -> Future.failedFuture(e instanceof CertificateChecks.Refused
            ? new CeibaException(ErrorCode.INVALID_REQUEST, e.getMessage()) : e))
        .map(stored -> describe(name, stored).put("stored", true));
  }

  private Future<JsonObject> delete(String rawName) {
    String name = checkedName(rawName);
    return store.delete(name).map(found -> {
      if (!found) {
        throw new CeibaException(ErrorCode.NOT_FOUND, "no stored certificate '" + name + "'");
      }
      vertx.eventBus().publish(Addresses.TLS_STORED_CHANGED, new JsonObject().put("name", name));
      return new JsonObject().put("name", name).put("deleted", true);
    });
  }

  /** The stored certificates, and per node of the view what its edge serves (asked over the cluster, 2 s at most). */
  private Future<JsonObject> list() {
    return store.rows(false).compose(stored -> vertx.eventBus()
        .<JsonArray>request(Addresses.CLUSTER_VIEW, null, new DeliveryOptions().setLocalOnly(true)).compose(view -> {
          List<Future<JsonObject>> nodes = new ArrayList<>();
          for (Object o : view.body()) {
            String id = ((JsonObject) o).getString("id");
            nodes.add(vertx.eventBus().<JsonArray>request(Addresses.tlsServed(id), null, ASK)
                .map(served -> new JsonObject().put("id", id).put("serves", served.body()))
                .otherwise(e -> new JsonObject().put("id", id).put("serves", new JsonArray())
                    .put("note", "no TLS listener, or no answer: " + e.getMessage())));
          }
          return Future.join(nodes).map(all -> {
            JsonArray out = new JsonArray();
            nodes.forEach(f -> out.add(f.result()));
            return new JsonObject().put("stored", stored).put("nodes", out);
          });
        }));
  }

  static JsonObject describe(String name, ServedCertificate c) {
    return new JsonObject().put("name", name).put("dns_names", new JsonArray(c.dnsNames())).put("issuer", c.issuer())
        .put("not_after", c.notAfter().toString());
  }
}
