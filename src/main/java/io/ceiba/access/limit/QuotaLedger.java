package io.ceiba.access.limit;

import io.vertx.core.Future;
import java.time.Instant;

/**
 * The source of truth a quota counter is rebuilt from when Redis no longer has it: the requests an owner was
 * admitted and counted under since the start of the period (the usage rollups plus the raw rows not rolled up).
 */
@FunctionalInterface
public interface QuotaLedger {

  /** Fails when the ledger cannot answer; the limiter then keeps what it knew. */
  Future<Long> used(QuotaOwner owner, Instant periodStart);

  /** No ledger (no usage recorded anywhere): a lost counter starts again from what this node knew. */
  QuotaLedger NONE = (owner, start) -> Future.succeededFuture(0L);
}
