package io.ceiba.edge.accesslog;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The access-log writer: batches in order, in large writes; a bounded queue; nothing lost on a clean stop. */
class AccessLogWriterTest {

  private static byte[] lines(String prefix, int n) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < n; i++) {
      s.append(prefix).append(i).append('\n');
    }
    return s.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Counts the writes it gets. */
  private static final class Counting extends ByteArrayOutputStream {
    int writes;

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      writes++;
      super.write(b, off, len);
    }
  }

  @Test
  void should_write_every_offered_batch_in_order_and_drain_before_close() throws Exception {
    Counting out = new Counting();
    AccessLogWriter writer = new AccessLogWriter(out, 1 << 20, "test-writer");
    StringBuilder expected = new StringBuilder();
    for (int b = 0; b < 200; b++) {
      byte[] batch = lines("b" + b + "-", 10);
      expected.append(new String(batch, StandardCharsets.UTF_8));
      byte[] padded = java.util.Arrays.copyOf(batch, batch.length + 7); // only [0, length) counts
      assertThat(writer.offer(padded, batch.length, 10)).isTrue();
    }
    writer.drained().get(5, TimeUnit.SECONDS);
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(expected.toString());
    assertThat(out.writes).as("batches gathered into large writes").isLessThan(200);
    writer.close();
    assertThat(writer.offer(lines("late", 1), 6, 1)).as("closed").isFalse();
    assertThat(writer.drained()).isDone();
  }

  @Test
  void should_refuse_batches_beyond_its_bound_while_the_output_is_stuck_and_never_block_the_caller() throws Exception {
    CountDownLatch writing = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ByteArrayOutputStream written = new ByteArrayOutputStream();
    OutputStream stuck = new OutputStream() {
      @Override
      public void write(int b) {
        throw new UnsupportedOperationException();
      }

      @Override
      public void write(byte[] b, int off, int len) {
        writing.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        written.write(b, off, len);
      }
    };
    AccessLogWriter writer = new AccessLogWriter(stuck, 100, "test-stuck");
    assertThat(writer.offer(lines("first", 1), 7, 1)).isTrue();
    assertThat(writing.await(5, TimeUnit.SECONDS)).isTrue(); // the writer is inside a write that does not return
    int accepted = 0;
    int refused = 0;
    for (int i = 0; i < 100; i++) {
      byte[] batch = lines("x" + i + "-", 1);
      if (writer.offer(batch, batch.length, 1)) {
        accepted++;
      } else {
        refused++;
      }
    }
    assertThat(refused).isPositive();
    assertThat(accepted).isPositive();
    release.countDown();
    writer.drained().get(5, TimeUnit.SECONDS);
    assertThat(written.toString(StandardCharsets.UTF_8).lines()).hasSize(1 + accepted);
    writer.close();
  }

  @Test
  void should_count_the_lines_an_output_refused() throws Exception {
    OutputStream failing = new OutputStream() {
      @Override
      public void write(int b) throws java.io.IOException {
        throw new java.io.IOException("disk full");
      }
    };
    AccessLogWriter writer = new AccessLogWriter(failing, 1 << 20, "test-failing");
    assertThat(writer.offer(lines("a", 3), 9, 3)).isTrue();
    writer.drained().get(5, TimeUnit.SECONDS);
    assertThat(writer.failedLines()).isEqualTo(3);
    writer.close();
  }
}
