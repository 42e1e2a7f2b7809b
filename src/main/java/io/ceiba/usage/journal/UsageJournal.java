package io.ceiba.usage.journal;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An append-only on-disk journal of usage events, so that events survive a restart or an unreachable database
 * between being produced and being stored: the producer {@link #append appends}, a consumer {@link #readBatch reads}
 * from the last committed position and {@link #commit commits} once the batch is stored elsewhere. Delivery is
 * at-least-once: a crash between storing a batch and committing it returns the batch again after reopening.
 *
 * <p>On disk it is a directory of segment files {@code segment-%020d.log} holding records
 * {@code [int magic][int payload length][int CRC32C of payload][payload]} (big-endian), plus a {@code checkpoint}
 * file holding the committed position within the oldest segment. Fully committed segments are deleted. A record
 * that fails validation (torn write, bit rot) ends its segment: the rest of that segment is skipped, counted and
 * logged, and reading goes on with the next segment. Opening always starts a new segment, so nothing is ever
 * appended after a possibly torn tail.
 *
 * <p>Bounded on disk when opened with a {@code maxBytes}: an {@link #append} that would take the segment files past it
 * is refused whole with a {@link JournalFullException} (the caller decides what happens to the events; see
 * docs/usage.md), and segments are then at most an eighth of the bound, so committed segments are deleted early
 * enough for the bound to be reached by pending records rather than by consumed ones.
 *
 * <p>Not thread-safe and blocking: meant to be owned by a single worker verticle (or {@code executeBlocking} on one
 * context), never called from an event-loop thread. I/O errors are thrown as {@link UncheckedIOException}; corrupt
 * content never throws.
 */
public final class UsageJournal implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(UsageJournal.class);

  static final int MAGIC = 0xCE1BA001;
  static final int HEADER_BYTES = 12;
  /** Larger lengths are taken for garbage rather than allocated. */
  static final int MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
  static final String CHECKPOINT = "checkpoint";
  /** The smallest segment a bound shrinks segments to. */
  static final long MIN_SEGMENT_BYTES = 64 * 1024;
  /** No bound. */
  public static final long UNBOUNDED = Long.MAX_VALUE;
  private static final Pattern SEGMENT_NAME = Pattern.compile("segment-(\\d{20})\\.log");

  private final Path dir;
  private final long maxSegmentBytes;
  private final FsyncPolicy fsync;
  private final long maxBytes;
  /** Live segments by sequence number; only the valid prefix of each counts. */
  private final TreeMap<Long, Segment> segments = new TreeMap<>();
  private long nextSequence;
  /** The segment being appended to, or null after a failed write until the next append starts a new one. */
  private Segment active;
  private FileChannel writer;
  /** Everything before this is committed; it points into the oldest live segment, or at offset 0. */
  private Position committed;
  /** Records of the committed segment before {@code committed.offset()}. */
  private long committedRecords;
  private long corruptSkips;
  private long corruptBytesSkipped;
  private boolean closed;

  private UsageJournal(Path dir, long maxSegmentBytes, FsyncPolicy fsync, long maxBytes) {
    this.dir = dir;
    this.maxSegmentBytes = maxBytes == UNBOUNDED ? maxSegmentBytes : Math.min(maxSegmentBytes, Math.max(MIN_SEGMENT_BYTES, maxBytes / 8));
    this.fsync = fsync;
    this.maxBytes = maxBytes;
  }

  /** Opens with the default {@link FsyncPolicy#EVERY_BATCH}. */
  public static UsageJournal open(Path dir, long maxSegmentBytes) {
    return open(dir, maxSegmentBytes, FsyncPolicy.EVERY_BATCH);
  }

  /**
   * Opens the journal in {@code dir} (created if missing), validating every existing segment and starting a new one.
   *
   * @param maxSegmentBytes segments are rotated before they would grow past this; a larger record gets a segment of
   *                        its own
   */
  public static UsageJournal open(Path dir, long maxSegmentBytes, FsyncPolicy fsync) {
    return open(dir, maxSegmentBytes, fsync, UNBOUNDED);
  }

  /**
   * As {@link #open(Path, long, FsyncPolicy)}, bounded on disk.
   *
   * @param maxBytes the segment files never grow past this many bytes through {@link #append}
   */
  public static UsageJournal open(Path dir, long maxSegmentBytes, FsyncPolicy fsync, long maxBytes) {
    Objects.requireNonNull(fsync, "fsync");
    if (maxSegmentBytes <= 0 || maxBytes <= 0) {
      throw new IllegalArgumentException("maxSegmentBytes and maxBytes must be positive: " + maxSegmentBytes + ", " + maxBytes);
    }
    UsageJournal journal = new UsageJournal(dir, maxSegmentBytes, fsync, maxBytes);
    try {
      journal.load();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open usage journal " + dir, e);
    }
    return journal;
  }

  private void load() throws IOException {
    Files.createDirectories(dir);
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Matcher name = SEGMENT_NAME.matcher(file.getFileName().toString());
        if (name.matches()) {
          Segment segment = new Segment(Long.parseLong(name.group(1)), file);
          segment.size = Files.size(file);
          segments.put(segment.sequence, segment);
        }
      }
    }
    for (Segment segment : segments.values()) {
      scan(segment);
    }
    Position checkpoint = readCheckpoint();
    committed = new Position(checkpoint.segment(), 0);
    Segment partlyCommitted = segments.get(checkpoint.segment());
    if (partlyCommitted != null) {
      advanceWithin(partlyCommitted, checkpoint.offset());
    }
    nextSequence = Math.max(segments.isEmpty() ? 0 : segments.lastKey(), checkpoint.segment()) + 1;
    startSegment();
    dropConsumedSegments();
    LOG.info("Usage journal {}: {} pending records in {} segments", dir, pendingRecords(), segments.size());
  }

  private void scan(Segment segment) throws IOException {
    try (RecordReader reader = new RecordReader(segment.path, 0, segment.size)) {
      while (reader.next() != null) {
        segment.records++;
      }
      if (reader.corrupt) {
        skipCorruptTail(segment, reader.offset, segment.records);
      }
    }
  }

  private Position readCheckpoint() throws IOException {
    Path file = dir.resolve(CHECKPOINT);
    if (!Files.exists(file)) {
      return new Position(0, 0);
    }
    String text = Files.readString(file, StandardCharsets.ISO_8859_1).trim();
    try {
      String[] parts = text.split(" ");
      return new Position(Long.parseLong(parts[0]), Long.parseLong(parts[1]));
    } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
      LOG.warn("Usage journal {}: unreadable checkpoint '{}', reading all segments from the start", dir, text);
      return new Position(0, 0);
    }
  }

  /**
   * Appends the payloads as records, rotating segments as needed, then applies the {@link FsyncPolicy}. The records
   * of one call go to each segment in one gathering {@code write}: a caller that groups events makes one system call
   * per group, not per event. If it throws, a prefix of the payloads may have been appended, except for a
   * {@link JournalFullException}: then nothing was.
   *
   * @return the position just after the last appended record (for an empty list, the end of what was appended before)
   */
  public Position append(List<byte[]> payloads) {
    ensureOpen();
    for (byte[] payload : payloads) {
      if (payload.length > MAX_PAYLOAD_BYTES) {
        throw new IllegalArgumentException("payload of " + payload.length + " bytes exceeds " + MAX_PAYLOAD_BYTES);
      }
    }
    if (payloads.isEmpty()) {
      return active == null ? committed : new Position(active.sequence, active.size);
    }
    long appendBytes = 0;
    for (byte[] payload : payloads) {
      appendBytes += HEADER_BYTES + payload.length;
    }
    long onDisk = diskBytes();
    if (onDisk + appendBytes > maxBytes) {
      throw new JournalFullException(dir, onDisk, appendBytes, maxBytes);
    }
    try {
      if (active == null) {
        startSegment();
      }
      List<ByteBuffer> toWrite = new ArrayList<>(payloads.size());
      long records = 0;
      long bytes = 0;
      for (byte[] payload : payloads) {
        long recordBytes = HEADER_BYTES + payload.length;
        if (active.size + bytes > 0 && active.size + bytes + recordBytes > maxSegmentBytes) {
          writeAll(toWrite, records, bytes);
          toWrite.clear();
          records = 0;
          bytes = 0;
          if (fsync == FsyncPolicy.EVERY_BATCH) {
            writer.force(false);
          }
          closeWriter();
          startSegment();
        }
        toWrite.add(record(payload));
        records++;
        bytes += recordBytes;
      }
      writeAll(toWrite, records, bytes);
      if (fsync == FsyncPolicy.EVERY_BATCH) {
        writer.force(false);
      }
      return new Position(active.sequence, active.size);
    } catch (IOException e) {
      // the segment may now end in a torn record: never write after it, the next append starts a new segment
      try {
        closeWriter();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw new UncheckedIOException("cannot append to usage journal " + dir, e);
    }
  }

  private static ByteBuffer record(byte[] payload) {
    CRC32C crc = new CRC32C();
    crc.update(payload);
    return ByteBuffer.allocate(HEADER_BYTES + payload.length)
        .putInt(MAGIC).putInt(payload.length).putInt((int) crc.getValue()).put(payload).flip();
  }

  /** Writes the records to the active segment (gathering writes until all is out) and counts them in. */
  private void writeAll(List<ByteBuffer> records, long count, long bytes) throws IOException {
    ByteBuffer[] buffers = records.toArray(ByteBuffer[]::new);
    long left = bytes;
    while (left > 0) {
      left -= writer.write(buffers);
    }
    active.size += bytes;
    active.records += count;
  }

  /** Records appended but not yet committed, including those already returned by {@link #readBatch}. */
  public long pendingRecords() {
    return segments.values().stream().mapToLong(segment -> segment.records).sum() - committedRecords;
  }

  /** Bytes on disk (headers included) of the {@link #pendingRecords() pending records}. */
  public long pendingBytes() {
    return segments.values().stream().mapToLong(segment -> segment.size).sum() - committed.offset();
  }

  /** Bytes of the segment files (their valid records, consumed ones of the oldest segment included). */
  public long diskBytes() {
    return segments.values().stream().mapToLong(segment -> segment.size).sum();
  }

  public long maxBytes() {
    return maxBytes;
  }

  /** Corrupt regions skipped since opening, each one the tail of a segment from its first bad record. */
  public long corruptSkips() {
    return corruptSkips;
  }

  public long corruptBytesSkipped() {
    return corruptBytesSkipped;
  }

  /**
   * Returns up to {@code maxRecords} of the oldest uncommitted records, without consuming them: until
   * {@link #commit} the same records come back again.
   */
  public Batch readBatch(int maxRecords) {
    ensureOpen();
    if (maxRecords <= 0) {
      throw new IllegalArgumentException("maxRecords must be positive: " + maxRecords);
    }
    List<byte[]> payloads = new ArrayList<>();
    Position end = committed;
    try {
      for (Segment segment : segments.tailMap(committed.segment(), true).values()) {
        if (payloads.size() == maxRecords) {
          break;
        }
        boolean first = segment.sequence == committed.segment();
        long records = first ? committedRecords : 0;
        try (RecordReader reader = new RecordReader(segment.path, first ? committed.offset() : 0, segment.size)) {
          byte[] payload;
          while (payloads.size() < maxRecords && (payload = reader.next()) != null) {
            payloads.add(payload);
            records++;
          }
          if (reader.corrupt) {
            skipCorruptTail(segment, reader.offset, records);
          }
          end = new Position(segment.sequence, reader.offset);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read usage journal " + dir, e);
    }
    return new Batch(payloads, end);
  }

  /**
   * Marks every record up to {@code end}, a {@link Batch#end()} of this journal, as handled: a reopened journal does
   * not return them again and fully consumed segments are deleted. Committing a position at or before the committed
   * one does nothing.
   */
  public void commit(Position end) {
    ensureOpen();
    if (end.compareTo(committed) <= 0) {
      return;
    }
    Segment segment = segments.get(end.segment());
    if (segment == null) {
      throw new IllegalArgumentException("not a position of this journal: " + end);
    }
    try {
      if (segment.sequence != committed.segment()) {
        committed = new Position(segment.sequence, 0);
        committedRecords = 0;
      }
      advanceWithin(segment, end.offset());
      writeCheckpoint();
      dropConsumedSegments();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot commit usage journal " + dir, e);
    }
  }

  /** Moves the committed position forward within its segment to {@code offset}, counting the records passed. */
  private void advanceWithin(Segment segment, long offset) throws IOException {
    long records = committedRecords;
    try (RecordReader reader = new RecordReader(segment.path, committed.offset(), segment.size)) {
      while (reader.offset < offset && reader.next() != null) {
        records++;
      }
      if (reader.corrupt) {
        skipCorruptTail(segment, reader.offset, records);
      }
      committed = new Position(segment.sequence, reader.offset);
      committedRecords = records;
    }
  }

  private void writeCheckpoint() throws IOException {
    Path tmp = dir.resolve(CHECKPOINT + ".tmp");
    byte[] text = (committed.segment() + " " + committed.offset() + "\n").getBytes(StandardCharsets.ISO_8859_1);
    try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      channel.write(ByteBuffer.wrap(text));
      if (fsync == FsyncPolicy.EVERY_BATCH) {
        channel.force(false);
      }
    }
    Files.move(tmp, dir.resolve(CHECKPOINT), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    if (fsync == FsyncPolicy.EVERY_BATCH) {
      syncDirectory();
    }
  }

  /** Deletes the segments before the committed position, and the committed one if it is used up and not active. */
  private void dropConsumedSegments() throws IOException {
    Iterator<Segment> oldestFirst = segments.values().iterator();
    while (oldestFirst.hasNext()) {
      Segment segment = oldestFirst.next();
      boolean consumed = segment.sequence < committed.segment()
          || segment.sequence == committed.segment() && committed.offset() >= segment.size;
      if (!consumed || segment == active) {
        break;
      }
      Files.deleteIfExists(segment.path);
      oldestFirst.remove();
    }
    long oldest = segments.isEmpty() ? nextSequence : segments.firstKey();
    if (oldest > committed.segment()) {
      committed = new Position(oldest, 0);
      committedRecords = 0;
    }
  }

  /** Ends {@code segment} at {@code offset}, where its first bad record starts. */
  private void skipCorruptTail(Segment segment, long offset, long recordsBefore) throws IOException {
    long skipped = segment.size - offset;
    LOG.warn("Usage journal: corrupt record in {} at offset {}, skipping the remaining {} bytes of the segment",
        segment.path, offset, skipped);
    corruptSkips++;
    corruptBytesSkipped += skipped;
    segment.size = offset;
    segment.records = recordsBefore;
    if (segment == active) {
      closeWriter();
    }
  }

  private void startSegment() throws IOException {
    Segment segment = new Segment(nextSequence, dir.resolve(String.format("segment-%020d.log", nextSequence)));
    writer = FileChannel.open(segment.path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    nextSequence++;
    segments.put(segment.sequence, segment);
    active = segment;
    if (fsync == FsyncPolicy.EVERY_BATCH) {
      syncDirectory();
    }
  }

  /** Makes a new or renamed directory entry durable; the file's own force does not cover it. */
  private void syncDirectory() throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  private void closeWriter() throws IOException {
    try {
      if (writer != null) {
        writer.close();
      }
    } finally {
      writer = null;
      active = null;
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("usage journal " + dir + " is closed");
    }
  }

  /** Forces the active segment to disk, whatever the policy, and closes it. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (writer != null) {
        writer.force(false);
      }
      closeWriter();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close usage journal " + dir, e);
    }
  }

  private static final class Segment {
    final long sequence;
    final Path path;
    /** End of the valid records: the file may be longer when its tail is corrupt. */
    long size;
    long records;

    Segment(long sequence, Path path) {
      this.sequence = sequence;
      this.path = path;
    }
  }

  /** Reads records from {@code offset} up to {@code limit}, stopping at the first invalid one. */
  private static final class RecordReader implements AutoCloseable {
    private final DataInputStream in;
    private final long limit;
    long offset;
    /** Whether reading stopped at an invalid record rather than at {@code limit}. */
    boolean corrupt;

    RecordReader(Path file, long offset, long limit) throws IOException {
      FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
      try {
        channel.position(offset);
      } catch (IOException e) {
        channel.close();
        throw e;
      }
      this.in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(channel), 64 * 1024));
      this.offset = offset;
      this.limit = limit;
    }

    /** The next payload, or null at the limit or at an invalid record. */
    byte[] next() throws IOException {
      if (offset >= limit || corrupt) {
        return null;
      }
      try {
        if (limit - offset < HEADER_BYTES) {
          corrupt = true;
          return null;
        }
        int magic = in.readInt();
        int length = in.readInt();
        int crc = in.readInt();
        if (magic != MAGIC || length < 0 || length > MAX_PAYLOAD_BYTES || length > limit - offset - HEADER_BYTES) {
          corrupt = true;
          return null;
        }
        byte[] payload = new byte[length];
        in.readFully(payload);
        CRC32C actual = new CRC32C();
        actual.update(payload);
        if ((int) actual.getValue() != crc) {
          corrupt = true;
          return null;
        }
        offset += HEADER_BYTES + length;
        return payload;
      } catch (EOFException e) {
        // the file is shorter than it was when it was scanned
        corrupt = true;
        return null;
      }
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
