package io.ceiba.usage;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;

/**
 * What the usage pipeline carries from the bus to Postgres: a well-formed {@link UsageEvent}, or a
 * {@link DeadLetter} for a message that is not one. Both survive the journal as their JSON text, and decoding that
 * text again gives the same record, so a journal replay dead-letters exactly what the first attempt would have.
 */
public sealed interface UsageRecord permits UsageEvent, DeadLetter {

  /** Longest event text kept for a dead letter; a larger message is cut (its reason says why it failed). */
  int MAX_DEAD_LETTER_TEXT = 64 * 1024;

  /** The JSON text the journal keeps. */
  String journalText();

  /**
   * The records of one event-bus message: a batch from an edge ({@link UsageEvent.Batch} from this node, a
   * JSON array from another), or a single event.
   */
  static java.util.List<UsageRecord> allFromBus(Object body, String nodeId) {
    if (body instanceof UsageEvent.Batch batch) {
      return java.util.Collections.unmodifiableList(batch.events()); // a view: the edge hands the list over for good
    }
    if (body instanceof io.vertx.core.json.JsonArray array) {
      java.util.List<UsageRecord> records = new java.util.ArrayList<>(array.size());
      array.forEach(o -> records.add(fromBus(o, nodeId)));
      return records;
    }
    return java.util.List.of(fromBus(body, nodeId));
  }

  /**
   * A record from one event-bus value.
   *
   * @param body   normally a {@link UsageEvent} or a {@link JsonObject}; anything else becomes a dead letter
   * @param nodeId the node that received it, kept with a dead letter
   */
  static UsageRecord fromBus(Object body, String nodeId) {
    if (body instanceof UsageEvent event) {
      return event; // from this node's edge, by reference: built by Ceiba itself, so already well-formed
    }
    if (body instanceof JsonObject json) {
      return fromJson(json, nodeId);
    }
    String text = body == null ? "null" : Json.encode(body instanceof String s ? s : String.valueOf(body));
    return DeadLetter.of(null, text, "malformed: the message body is not a JSON object", nodeId);
  }

  /** A record from a journal payload (UTF-8 JSON text). */
  static UsageRecord fromJournal(byte[] payload, String nodeId) {
    String text = new String(payload, StandardCharsets.UTF_8);
    Object value;
    try {
      value = Json.decodeValue(text);
    } catch (DecodeException e) {
      return DeadLetter.of(null, text, "malformed: not valid JSON", nodeId);
    }
    if (value instanceof JsonObject json) {
      return fromJson(json, nodeId);
    }
    return DeadLetter.of(null, text, "malformed: the message body is not a JSON object", nodeId);
  }

  private static UsageRecord fromJson(JsonObject json, String nodeId) {
    try {
      return UsageEvent.fromJson(json);
    } catch (UsageEvent.InvalidEventException e) {
      Object id = json.getValue("request_id");
      return DeadLetter.of(id instanceof String s ? s : null, json.encode(), "malformed: " + e.getMessage(), nodeId);
    }
  }
}
