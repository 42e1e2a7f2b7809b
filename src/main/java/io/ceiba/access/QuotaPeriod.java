package io.ceiba.access;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Optional;

/** Calendar periods of a quota, in UTC: a quota resets at midnight or on the first of the month. */
public enum QuotaPeriod {
  DAY("day"),
  MONTH("month");

  private final String wireName;

  QuotaPeriod(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }

  public static Optional<QuotaPeriod> byName(String name) {
    for (QuotaPeriod p : values()) {
      if (p.wireName.equals(name)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** Start of the period holding {@code at}. */
  public Instant start(Instant at) {
    LocalDate day = at.atZone(ZoneOffset.UTC).toLocalDate();
    LocalDate first = this == DAY ? day : day.withDayOfMonth(1);
    return first.atStartOfDay(ZoneOffset.UTC).toInstant();
  }

  /** End (exclusive) of the period holding {@code at}: when the quota resets. */
  public Instant end(Instant at) {
    ZonedDateTime start = start(at).atZone(ZoneOffset.UTC);
    return (this == DAY ? start.plusDays(1) : start.plusMonths(1)).toInstant();
  }
}
