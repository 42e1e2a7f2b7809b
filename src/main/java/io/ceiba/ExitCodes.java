package io.ceiba;

/** What {@code java -jar ceiba.jar} exits with, so a service manager or script can tell the cases apart. */
public final class ExitCodes {

  /** Ran and stopped cleanly (SIGTERM drained), or a command succeeded. */
  public static final int OK = 0;
  /** The node config or a checked file is invalid: fix the file; restarting will not help. */
  public static final int CONFIG_INVALID = 1;
  /** The config was valid but the node could not start (port taken, database unreachable at start, data dir): the log's one line says what. */
  public static final int START_FAILED = 3;
  /** The node was asked to stop and did not finish within shutdown.grace plus 10 s. */
  public static final int STOP_TIMED_OUT = 4;

  private ExitCodes() {
  }
}
