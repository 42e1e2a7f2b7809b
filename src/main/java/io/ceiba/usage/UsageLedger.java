package io.ceiba.usage;

import io.ceiba.access.limit.CreditLedger;
import io.ceiba.access.limit.QuotaLedger;
import io.ceiba.access.limit.QuotaOwner;
import io.ceiba.bus.Addresses;
import io.ceiba.config.NodeConfig;
import io.ceiba.config.Role;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * The usage records as the quota ledger: asks a usage verticle (this node's when it has the role, any node's
 * otherwise) how many requests an owner was admitted under its plan since a period start, and (as the credit ledger)
 * what it topped up and spent in credits since then.
 */
public final class UsageLedger implements QuotaLedger, CreditLedger {

  /** A rebuild holds the requests of one bucket back while it runs: it must not wait long. */
  static final long TIMEOUT_MS = 1000;

  private final Vertx vertx;
  private final DeliveryOptions delivery;

  private UsageLedger(Vertx vertx, boolean local) {
    this.vertx = vertx;
    this.delivery = new DeliveryOptions().setLocalOnly(local).setSendTimeout(TIMEOUT_MS);
  }

  /** The ledger for a node: none when no usage verticle can be reached (no usage role, no cluster). */
  public static QuotaLedger forNode(Vertx vertx, NodeConfig config) {
    boolean local = config.has(Role.USAGE);
    return local || config.cluster().enabled() ? new UsageLedger(vertx, local) : QuotaLedger.NONE;
  }

  /** The credit ledger for a node: none when no usage verticle can be reached (no usage role, no cluster). */
  public static CreditLedger creditsForNode(Vertx vertx, NodeConfig config) {
    boolean local = config.has(Role.USAGE);
    return local || config.cluster().enabled() ? new UsageLedger(vertx, local) : CreditLedger.NONE;
  }

  @Override
  public Future<Long> net(QuotaOwner owner, Instant periodStart) {
    JsonObject ask = new JsonObject().put("project", owner.projectId()).put("plan", owner.plan()).put("from", periodStart.toString())
        .put("credits", true);
    return vertx.eventBus().<JsonObject>request(Addresses.USAGE_QUOTA_USED, ask, delivery)
        .map(reply -> reply.body().getLong("topped_up") - reply.body().getLong("spent"));
  }

  @Override
  public Future<Long> used(QuotaOwner owner, Instant periodStart) {
    JsonObject ask = new JsonObject().put("project", owner.projectId()).put("plan", owner.plan()).put("from", periodStart.toString());
    return vertx.eventBus().<JsonObject>request(Addresses.USAGE_QUOTA_USED, ask, delivery).map(reply -> reply.body().getLong("used"));
  }
}
