package io.ceiba.registry;

import java.time.Duration;

/** A request rate such as {@code 100/1s}: {@code requests} per {@code per}. */
public record Rate(long requests, Duration per) {
}
