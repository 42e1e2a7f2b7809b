package io.ceiba.edge.accesslog;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the access lines of a node's edge instances on a thread of its own, in large writes: the instances hand over
 * whole batches of finished lines ({@link #offer}), without a lock and without waking it up while it is busy; it
 * gathers what came for {@link #GATHER_NANOS} and writes it at once. What is queued is bounded
 * ({@link #DEFAULT_MAX_QUEUED_BYTES}): a batch beyond it is refused and the caller counts its lines as dropped, so a
 * slow disk or a stuck reader of stdout never blocks an event loop. {@link #drained} says when everything handed over
 * before it is written: a clean stop loses no line.
 *
 * <p>On stdout it writes through {@link System#out} holding its lock, as logback's console appender does, so a batch
 * and another logger's line never interleave.
 */
public final class AccessLogWriter implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(AccessLogWriter.class);
  /** At most this much waits to be written (about 40 000 text lines); beyond it, batches are dropped. */
  public static final long DEFAULT_MAX_QUEUED_BYTES = 16L << 20;
  /** How long a busy writer lets lines gather before its next write: about 100 writes a second under load. */
  static final long GATHER_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final int WRITE_BUFFER = 256 * 1024;
  static final long CLOSE_TIMEOUT_SECONDS = 10;

  private final OutputStream out;
  private final long maxQueuedBytes;
  private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
  private final AtomicLong queuedBytes = new AtomicLong();
  private final AtomicLong failedLines = new AtomicLong();
  private final Thread thread;
  /** The writer found nothing to do and parks until a batch wakes it. */
  private volatile boolean idle;
  private volatile boolean closed;
  /** Set by {@link #close} once everything is written: the thread ends. */
  private volatile boolean stopped;

  /** A batch of whole lines; the writer owns its array once handed over. */
  private record Batch(byte[] bytes, int length, int lines) {
  }

  AccessLogWriter(OutputStream out, long maxQueuedBytes, String name) {
    this.out = out;
    this.maxQueuedBytes = maxQueuedBytes;
    this.thread = new Thread(this::run, name);
    thread.setDaemon(true); // a stop drains it first (drained, close); a crash loses only what was not written yet
    thread.start();
  }

  /** A writer to this process's standard output, where the shipped logback configs print every other log line. */
  public static AccessLogWriter stdout(String nodeId) {
    return new AccessLogWriter(System.out, DEFAULT_MAX_QUEUED_BYTES, "ceiba-access-log-" + nodeId);
  }

  /**
   * Hands {@code lines} finished lines over, in {@code bytes[0..length)}; from now on the array is the writer's.
   * False when the queue is full (or the writer closed): nothing was taken, the caller counts the lines as dropped.
   */
  public boolean offer(byte[] bytes, int length, int lines) {
    if (closed || queuedBytes.addAndGet(length) > maxQueuedBytes) {
      queuedBytes.addAndGet(-length);
      return false;
    }
    queue.add(new Batch(bytes, length, lines));
    if (idle) {
      LockSupport.unpark(thread);
    }
    return true;
  }

  /** Completes once every batch offered before this call is written (or could not be: see {@link #failedLines}). */
  public CompletableFuture<Void> drained() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (stopped) {
      done.complete(null);
      return done;
    }
    queue.add(done);
    LockSupport.unpark(thread);
    return done;
  }

  /** Lines lost because the output failed (an {@link IOException}); a full queue is counted by who offered. */
  public long failedLines() {
    return failedLines.get();
  }

  /**
   * Writes what is queued, then ends the thread; later offers are refused. Waits at most {@link #CLOSE_TIMEOUT_SECONDS}
   * for an output that does not take the lines (a stuck reader of stdout must not hold the node's stop).
   */
  @Override
  public void close() {
    closed = true;
    try {
      drained().get(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      LOG.warn("access log: the output took no line for {} s, the lines still queued are lost", CLOSE_TIMEOUT_SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
    stopped = true;
    LockSupport.unpark(thread);
  }

  private void run() {
    byte[] buffer = new byte[WRITE_BUFFER];
    while (true) {
      int filled = 0;
      int lines = 0;
      boolean any = false;
      Object item;
      while ((item = queue.poll()) != null) {
        any = true;
        if (item instanceof Batch batch) {
          queuedBytes.addAndGet(-batch.length);
          if (filled + batch.length > buffer.length && filled > 0) {
            write(buffer, filled, lines);
            filled = 0;
            lines = 0;
          }
          if (batch.length > buffer.length) {
            write(batch.bytes, batch.length, batch.lines);
          } else {
            System.arraycopy(batch.bytes, 0, buffer, filled, batch.length);
            filled += batch.length;
            lines += batch.lines;
          }
        } else {
          write(buffer, filled, lines);
          filled = 0;
          lines = 0;
          ((CompletableFuture<?>) item).complete(null);
        }
      }
      write(buffer, filled, lines);
      if (stopped) {
        return;
      }
      if (any) {
        LockSupport.parkNanos(this, GATHER_NANOS);
      } else {
        idle = true;
        if (queue.isEmpty() && !stopped) {
          LockSupport.park(this);
        }
        idle = false;
      }
    }
  }

  private void write(byte[] bytes, int length, int lines) {
    if (length == 0) {
      return;
    }
    try {
      synchronized (out) {
        out.write(bytes, 0, length);
        out.flush();
      }
    } catch (IOException | RuntimeException e) {
      if (failedLines.getAndAdd(lines) == 0) {
        LOG.warn("access log: lines not written (counted in ceiba_access_log_dropped_total from now on): {}", e.toString());
      }
    }
  }
}
