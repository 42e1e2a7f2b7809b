package io.ceiba.usage;

/**
 * An event that can never be written, with the reason: malformed on arrival, or refused by a constraint of
 * {@code usage_events}. Stored in {@code usage_dead_letters} once per event text.
 *
 * @param requestId the event's request id when it had a readable one, else null
 * @param event     the event as JSON text, cut to {@link UsageRecord#MAX_DEAD_LETTER_TEXT} characters
 * @param reason    why it was refused
 * @param node      the node that refused it
 */
public record DeadLetter(String requestId, String event, String reason, String node) implements UsageRecord {

  public static DeadLetter of(String requestId, String event, String reason, String node) {
    String text = event.length() > MAX_DEAD_LETTER_TEXT ? event.substring(0, MAX_DEAD_LETTER_TEXT) : event;
    String id = requestId != null && requestId.length() > 256 ? requestId.substring(0, 256) : requestId;
    return new DeadLetter(id, text, reason, node);
  }

  @Override
  public String journalText() {
    return event;
  }
}
