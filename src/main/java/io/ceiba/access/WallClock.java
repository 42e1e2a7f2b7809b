package io.ceiba.access;

import java.time.Instant;

/**
 * The wall clock at millisecond precision, for the per-request path. {@link Instant#now()} reads the clock through a
 * native call ({@code VM.getNanoTimeAdjustment}) that is not compiled inline: in a perf profile of
 * {@code AccessDecisionBench}, clock reads were 12% of a decision with limits. {@link System#currentTimeMillis()} is
 * a JIT intrinsic. Limits, quotas, expiry and usage times need no finer precision than a millisecond.
 */
public final class WallClock {

  private WallClock() {
  }

  public static Instant now() {
    return inMillis(0);
  }

  /** The instant {@code millis} from now, without the intermediate {@code now()} a {@code plusMillis} would make. */
  public static Instant inMillis(long millis) {
    return Instant.ofEpochMilli(System.currentTimeMillis() + millis);
  }
}
