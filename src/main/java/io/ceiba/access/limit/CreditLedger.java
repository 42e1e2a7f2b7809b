package io.ceiba.access.limit;

import io.vertx.core.Future;
import java.time.Instant;

/**
 * The source of truth a credit balance is rebuilt from when Redis no longer has it: the credits an owner bought on
 * top of its grant and the costs its admitted requests carried since the start of the credit period.
 */
@FunctionalInterface
public interface CreditLedger {

  /** Top-ups minus costs since {@code periodStart} (negative when more was spent than bought); fails when unanswered. */
  Future<Long> net(QuotaOwner owner, Instant periodStart);

  /** No ledger (no usage recorded anywhere): a lost balance starts again from the grant. */
  CreditLedger NONE = (owner, start) -> Future.succeededFuture(0L);
}
