package io.ceiba.usage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Two counters in a memory-mapped file, so that they survive the process (the page cache keeps what was stored, even
 * after {@code kill -9}): how many events the edges handed to the spool ({@link #recorded}, an atomic add per event,
 * no system call) and how many of them the spool's writer has handed to the journal ({@link #appended}). After a crash their difference is the number of events that were still in
 * memory, in the last group-commit window: lost, but counted and reported instead of silently missing.
 *
 * <p>The writer stores {@code appended} right after each group's {@code write}: a crash in between (microseconds)
 * counts that group as lost although the journal has it and replays it. The count is an upper bound: at most one
 * group more than what was really lost, never less.
 */
final class SpoolCounters implements AutoCloseable {

  static final String FILE = "counters";
  private static final int RECORDED = 0;
  private static final int APPENDED = 8;
  private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

  private final MappedByteBuffer map;
  /** Events counted as lost by the previous run, read at open. */
  private final long lostBefore;

  private SpoolCounters(MappedByteBuffer map, long lostBefore) {
    this.map = map;
    this.lostBefore = lostBefore;
  }

  /** Maps {@code dir/counters} (made if missing), reads what a previous run left and starts both counters at 0. */
  static SpoolCounters open(Path dir) {
    try (FileChannel channel = FileChannel.open(dir.resolve(FILE), StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      MappedByteBuffer map = channel.map(FileChannel.MapMode.READ_WRITE, 0, 16);
      long recorded = (long) LONGS.getVolatile(map, RECORDED);
      long appended = (long) LONGS.getVolatile(map, APPENDED);
      // a file of another byte order or garbage would give nonsense: only a plausible difference counts
      long lost = recorded >= appended && appended >= 0 ? recorded - appended : 0;
      LONGS.setVolatile(map, RECORDED, 0L);
      LONGS.setVolatile(map, APPENDED, 0L);
      return new SpoolCounters(map, lost);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot map the usage spool's counters in " + dir, e);
    }
  }

  long lostBefore() {
    return lostBefore;
  }

  /** One more event handed over; any thread. */
  void recorded() {
    LONGS.getAndAdd(map, RECORDED, 1L);
  }

  /** The writer's running total, stored after the group's write. */
  void appended(long total) {
    LONGS.setRelease(map, APPENDED, total);
  }

  /** Writes the counters back to the file (the mapping itself stays valid until it is collected). */
  @Override
  public void close() {
    map.force();
  }
}
