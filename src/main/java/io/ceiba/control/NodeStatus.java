package io.ceiba.control;

import io.ceiba.bus.Addresses;
import io.ceiba.cli.VersionInfo;
import io.ceiba.node.NodeContext;
import io.ceiba.observability.TrafficFigures;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * What each node tells the console about itself over the event bus ({@link Addresses#nodeStatus}): its build version,
 * its readiness as {@code /ready} would answer (every check, with the reason of those that fail) and its traffic
 * figures ({@link TrafficFigures}); and {@code GET /v1/cluster/status}, which asks every node of the view.
 */
final class NodeStatus {

  /** How long {@code GET /v1/cluster/status} waits for a node: one killed a moment ago must not hold the answer up. */
  static final long ASK_TIMEOUT_MS = 1000;
  private static final DeliveryOptions LOCAL = new DeliveryOptions().setLocalOnly(true).setSendTimeout(2000);

  private NodeStatus() {
  }

  /** Answers for this node; call on the control verticle's context, which owns {@code readiness}. */
  static MessageConsumer<Object> serve(Vertx vertx, NodeContext node, Readiness readiness) {
    String version = VersionInfo.version();
    return vertx.eventBus().consumer(Addresses.nodeStatus(node.nodeId()), msg -> readiness.evaluate()
        .otherwise(e -> new JsonObject().put("status", "DOWN").put("reason", "checks failed: " + e.getMessage()))
        .onComplete(ready -> msg.reply(new JsonObject().put("node", node.nodeId()).put("version", version)
            .put("ready", ready.result()).put("traffic", TrafficFigures.of(node.meters())))));
  }

  /** Every node of this node's view with its answer, or {@code error} when it gave none in time. */
  static Future<JsonObject> gather(Vertx vertx, String self) {
    DeliveryOptions ask = new DeliveryOptions().setSendTimeout(ASK_TIMEOUT_MS);
    return vertx.eventBus().<JsonArray>request(Addresses.CLUSTER_VIEW, null, LOCAL).compose(view -> {
      List<Future<JsonObject>> answers = new ArrayList<>();
      for (Object o : view.body()) {
        String id = ((JsonObject) o).getString("id");
        answers.add(vertx.eventBus().<JsonObject>request(Addresses.nodeStatus(id), null, ask).map(reply -> reply.body())
            .otherwise(e -> new JsonObject().put("node", id).put("error", e.getMessage())));
      }
      return Future.join(answers).map(all -> {
        JsonArray nodes = new JsonArray();
        answers.forEach(f -> nodes.add(f.result()));
        return new JsonObject().put("self", self).put("time", java.time.Instant.now().toString()).put("nodes", nodes);
      });
    });
  }
}
