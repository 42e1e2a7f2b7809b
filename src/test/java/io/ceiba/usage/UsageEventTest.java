package io.ceiba.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class UsageEventTest {

  private static JsonObject valid() {
    return new JsonObject().put("request_id", "r1").put("time", "2026-05-01T12:00:00.123Z").put("project", "p1")
        .put("key_id", null).put("plan", "pro").put("service", "api").put("status", 200).put("latency_ms", 3)
        .put("bytes_in", 10L).put("bytes_out", 20).put("node", "node1").put("added_by_a_newer_edge", true);
  }

  @Test
  void should_read_an_edge_event_and_give_the_same_event_back_from_its_journal_text() {
    UsageEvent event = UsageEvent.fromJson(valid());
    assertThat(event).isEqualTo(new UsageEvent("r1", Instant.parse("2026-05-01T12:00:00.123Z"), "p1", null, "pro", "api", 200, 3, 10, 20,
        "node1"));
    assertThat(event.rangeProblem()).isNull();
    assertThat(UsageRecord.fromJournal(event.journalText().getBytes(StandardCharsets.UTF_8), "n")).isEqualTo(event);
  }

  @Test
  void should_name_the_field_when_the_shape_is_wrong() {
    assertThatThrownBy(() -> UsageEvent.fromJson(valid().put("status", "200"))).hasMessage("status: must be a whole number (64-bit)");
    assertThatThrownBy(() -> UsageEvent.fromJson(valid().put("bytes_in", 1.5))).hasMessage("bytes_in: must be a whole number (64-bit)");
    assertThatThrownBy(() -> UsageEvent.fromJson(valid().put("time", "2026-05-01"))).hasMessageStartingWith("time: must be an ISO-8601");
    assertThatThrownBy(() -> UsageEvent.fromJson(valid().put("request_id", ""))).hasMessage("request_id: must not be empty");
    assertThatThrownBy(() -> UsageEvent.fromJson(valid().putNull("service"))).hasMessage("service: is required");
    assertThatThrownBy(() -> UsageEvent.fromJson(valid().put("status", 1L << 40))).hasMessage("status: must be an HTTP status code");
  }

  @Test
  void should_leave_value_ranges_to_the_table_but_report_them_when_asked() {
    UsageEvent poison = UsageEvent.fromJson(valid().put("status", 1000));
    assertThat(poison.rangeProblem()).isEqualTo("status: must be between 100 and 599");
    assertThat(UsageEvent.fromJson(valid().put("bytes_out", -1)).rangeProblem()).isEqualTo("bytes_out: must not be negative");
    assertThat(UsageEvent.fromJson(valid().put("service", "a\0b")).rangeProblem()).startsWith("service:");
  }

  @Test
  void should_turn_what_is_not_an_event_into_a_dead_letter_with_the_same_reason_after_a_journal_round_trip() {
    UsageRecord fromBus = UsageRecord.fromBus(valid().putNull("request_id"), "node1");
    assertThat(fromBus).isInstanceOfSatisfying(DeadLetter.class, d -> assertThat(d.reason()).isEqualTo("malformed: request_id: is required"));
    assertThat(UsageRecord.fromJournal(fromBus.journalText().getBytes(StandardCharsets.UTF_8), "node1")).isEqualTo(fromBus);

    UsageRecord text = UsageRecord.fromBus("hello", "node1");
    assertThat(text).isInstanceOfSatisfying(DeadLetter.class, d -> assertThat(d.reason()).isEqualTo("malformed: the message body is not a JSON object"));
    assertThat(UsageRecord.fromJournal(text.journalText().getBytes(StandardCharsets.UTF_8), "node1")).isEqualTo(text);

    assertThat(UsageRecord.fromJournal("{not json".getBytes(StandardCharsets.UTF_8), "node1"))
        .isInstanceOfSatisfying(DeadLetter.class, d -> assertThat(d.reason()).isEqualTo("malformed: not valid JSON"));
  }
}
