package io.ceiba.usage.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UsageJournalTest {

  /** "event-00" is 8 bytes, so every test record takes 12 + 8 = 20 bytes on disk. */
  private static final int RECORD_BYTES = 20;
  /** Three records per segment. */
  private static final long SMALL_SEGMENT = 3 * RECORD_BYTES;

  @TempDir
  Path dir;

  @Test
  void should_read_appended_records_in_order_without_consuming_them() {
    try (UsageJournal journal = UsageJournal.open(dir, 1024 * 1024)) {
      journal.append(events(0, 3));
      journal.append(events(3, 5));

      assertThat(texts(journal.readBatch(10))).containsExactly("event-00", "event-01", "event-02", "event-03", "event-04");
      assertThat(texts(journal.readBatch(3))).containsExactly("event-00", "event-01", "event-02");
      assertThat(texts(journal.readBatch(3))).containsExactly("event-00", "event-01", "event-02");
    }
  }

  @Test
  void should_refuse_a_whole_append_past_its_bound_and_take_appends_again_once_records_are_committed() {
    long bound = 10 * RECORD_BYTES;
    try (UsageJournal journal = UsageJournal.open(dir, SMALL_SEGMENT, FsyncPolicy.NONE, bound)) {
      journal.append(events(0, 8));
      assertThatThrownBy(() -> journal.append(events(8, 11))).isInstanceOf(JournalFullException.class)
          .hasMessageContaining("is full: 160 bytes on disk + 60 to append > bound 200 (usage.journal_max_bytes)");
      assertThat(journal.pendingRecords()).as("nothing of a refused append is written").isEqualTo(8);
      assertThat(journal.diskBytes()).isEqualTo(8 * RECORD_BYTES);

      journal.append(events(8, 10)); // exactly the bound
      assertThat(journal.diskBytes()).isEqualTo(bound);
      assertThatThrownBy(() -> journal.append(events(10, 11))).isInstanceOf(JournalFullException.class);

      // a consumer catches up: the committed segments are deleted and there is room again
      journal.commit(journal.readBatch(6).end());
      assertThat(journal.diskBytes()).isEqualTo(4 * RECORD_BYTES);
      journal.append(events(10, 13));
      assertThat(texts(journal.readBatch(100))).containsExactly("event-06", "event-07", "event-08", "event-09", "event-10",
          "event-11", "event-12");
    }
  }

  @Test
  void should_keep_order_across_rotated_segments() throws IOException {
    try (UsageJournal journal = UsageJournal.open(dir, SMALL_SEGMENT, FsyncPolicy.NONE)) {
      journal.append(events(0, 4));
      journal.append(List.of(new byte[100]));
      journal.append(events(4, 10));

      // 3 + 1 | the oversized record alone | 3 + 3
      assertThat(segmentFiles()).hasSize(5);
      Batch all = journal.readBatch(100);
      assertThat(all.payloads()).hasSize(11);
      assertThat(all.payloads().get(4)).hasSize(100);
      assertThat(texts(new Batch(all.payloads().subList(0, 4), all.end())))
          .containsExactly("event-00", "event-01", "event-02", "event-03");
      assertThat(texts(new Batch(all.payloads().subList(5, 11), all.end())))
          .containsExactly("event-04", "event-05", "event-06", "event-07", "event-08", "event-09");
    }
  }

  @Test
  void should_delete_consumed_segments_and_continue_after_the_committed_position() throws IOException {
    try (UsageJournal journal = UsageJournal.open(dir, SMALL_SEGMENT)) {
      journal.append(events(0, 10));
      assertThat(segmentFiles()).hasSize(4);
      Path first = segmentFiles().get(0);

      Batch batch = journal.readBatch(4);
      assertThat(texts(batch)).containsExactly("event-00", "event-01", "event-02", "event-03");
      journal.commit(batch.end());

      assertThat(first).doesNotExist();
      assertThat(segmentFiles()).hasSize(3);
      assertThat(texts(journal.readBatch(2))).containsExactly("event-04", "event-05");

      journal.commit(journal.readBatch(100).end());
      assertThat(journal.readBatch(100).isEmpty()).isTrue();
      assertThat(segmentFiles()).as("the segment being written to stays").hasSize(1);
    }
  }

  @Test
  void should_not_return_committed_records_after_reopening() {
    try (UsageJournal journal = UsageJournal.open(dir, SMALL_SEGMENT)) {
      journal.append(events(0, 8));
      journal.commit(journal.readBatch(4).end());
    }
    assertThat(dir.resolve("checkpoint")).exists();

    try (UsageJournal journal = UsageJournal.open(dir, SMALL_SEGMENT)) {
      Batch rest = journal.readBatch(100);
      assertThat(texts(rest)).containsExactly("event-04", "event-05", "event-06", "event-07");
      journal.commit(rest.end());
    }
    try (UsageJournal journal = UsageJournal.open(dir, SMALL_SEGMENT)) {
      assertThat(journal.readBatch(100).isEmpty()).isTrue();
      assertThat(journal.pendingRecords()).isZero();
    }
  }

  @Test
  void should_skip_a_torn_tail_on_reopening() throws IOException {
    try (UsageJournal journal = UsageJournal.open(dir, 1024 * 1024)) {
      journal.append(events(0, 5));
    }
    Path segment = segmentFiles().get(0);
    truncate(segment, 5 * RECORD_BYTES - 7);

    try (UsageJournal journal = UsageJournal.open(dir, 1024 * 1024)) {
      assertThat(journal.corruptSkips()).isEqualTo(1);
      assertThat(journal.corruptBytesSkipped()).isEqualTo(RECORD_BYTES - 7);
      assertThat(journal.pendingRecords()).isEqualTo(4);
      journal.append(events(5, 6));
      assertThat(texts(journal.readBatch(100)))
          .containsExactly("event-00", "event-01", "event-02", "event-03", "event-05");
      assertThat(Files.size(segment)).as("an old segment is never appended to").isEqualTo(5 * RECORD_BYTES - 7);
    }
  }

  @Test
  void should_skip_the_rest_of_a_segment_after_a_crc_mismatch_and_read_later_segments() throws IOException {
    try (UsageJournal journal = UsageJournal.open(dir, SMALL_SEGMENT)) {
      journal.append(events(0, 9));
    }
    flipByte(segmentFiles().get(0), RECORD_BYTES + 12 + 3);

    try (UsageJournal journal = UsageJournal.open(dir, SMALL_SEGMENT)) {
      assertThat(texts(journal.readBatch(100)))
          .containsExactly("event-00", "event-03", "event-04", "event-05", "event-06", "event-07", "event-08");
      assertThat(journal.corruptSkips()).isEqualTo(1);
      assertThat(journal.corruptBytesSkipped()).isEqualTo(2 * RECORD_BYTES);
      assertThat(journal.pendingRecords()).isEqualTo(7);
    }
  }

  @Test
  void should_move_appends_to_a_new_segment_when_the_active_one_turns_out_corrupt() throws IOException {
    try (UsageJournal journal = UsageJournal.open(dir, 1024 * 1024)) {
      journal.append(events(0, 3));
      flipByte(segmentFiles().get(0), 2 * RECORD_BYTES + 12);

      assertThat(texts(journal.readBatch(100))).containsExactly("event-00", "event-01");
      assertThat(journal.corruptSkips()).isEqualTo(1);
      journal.append(events(3, 4));
      assertThat(segmentFiles()).hasSize(2);
      assertThat(texts(journal.readBatch(100))).containsExactly("event-00", "event-01", "event-03");
      assertThat(journal.corruptSkips()).as("counted once").isEqualTo(1);
    }
  }

  @Test
  void should_count_pending_records_and_bytes_across_commits_and_reopening() {
    try (UsageJournal journal = UsageJournal.open(dir, SMALL_SEGMENT)) {
      journal.append(events(0, 7));
      assertThat(journal.pendingRecords()).isEqualTo(7);
      assertThat(journal.pendingBytes()).isEqualTo(7 * RECORD_BYTES);

      Batch batch = journal.readBatch(2);
      assertThat(journal.pendingRecords()).as("reading does not consume").isEqualTo(7);
      journal.commit(batch.end());
      assertThat(journal.pendingRecords()).isEqualTo(5);
      assertThat(journal.pendingBytes()).isEqualTo(5 * RECORD_BYTES);

      journal.commit(journal.readBatch(2).end());
      assertThat(journal.pendingRecords()).isEqualTo(3);
      journal.commit(batch.end());
      assertThat(journal.pendingRecords()).as("an older position changes nothing").isEqualTo(3);
    }
    try (UsageJournal journal = UsageJournal.open(dir, SMALL_SEGMENT)) {
      assertThat(journal.pendingRecords()).isEqualTo(3);
      assertThat(journal.pendingBytes()).isEqualTo(3 * RECORD_BYTES);
      journal.append(events(7, 8));
      assertThat(journal.pendingRecords()).isEqualTo(4);
    }
  }

  @Test
  void should_give_an_empty_batch_for_a_new_directory() {
    Path fresh = dir.resolve("not-yet");
    try (UsageJournal journal = UsageJournal.open(fresh, 1024)) {
      Batch batch = journal.readBatch(10);
      assertThat(batch.isEmpty()).isTrue();
      journal.commit(batch.end());
      assertThat(journal.pendingRecords()).isZero();
      assertThat(journal.pendingBytes()).isZero();
      assertThat(journal.corruptSkips()).isZero();
    }
    assertThat(fresh).isDirectory();
  }

  private static List<byte[]> events(int from, int to) {
    return IntStream.range(from, to)
        .mapToObj(i -> String.format("event-%02d", i).getBytes(StandardCharsets.UTF_8))
        .toList();
  }

  private static List<String> texts(Batch batch) {
    return batch.payloads().stream().map(payload -> new String(payload, StandardCharsets.UTF_8)).toList();
  }

  private List<Path> segmentFiles() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(file -> file.getFileName().toString().matches("segment-\\d{20}\\.log")).sorted().toList();
    }
  }

  private static void truncate(Path file, long size) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(size);
    }
  }

  private static void flipByte(Path file, long offset) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.seek(offset);
      int b = raf.read();
      raf.seek(offset);
      raf.write(b ^ 0xFF);
    }
  }
}
