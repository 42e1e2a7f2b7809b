package io.ceiba.testkit;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

/** Collects what a logger (the root, by default) logs during a test, to fail on errors and exceptions. */
public final class LogWatch implements AutoCloseable {

  private final Logger logger;
  /** Wakes {@link #awaitMore} on each event (logback calls {@code append} holding the appender's monitor). */
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>() {
    @Override
    protected void append(ILoggingEvent event) {
      super.append(event);
      notifyAll();
    }
  };

  private LogWatch(String name) {
    this.logger = (Logger) LoggerFactory.getLogger(name);
    appender.setContext(logger.getLoggerContext());
    appender.start();
    logger.addAppender(appender);
  }

  public static LogWatch root() {
    return new LogWatch(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  public static LogWatch of(String logger) {
    return new LogWatch(logger);
  }

  public List<ILoggingEvent> events() {
    synchronized (appender) {
      return List.copyOf(appender.list);
    }
  }

  /** Events at ERROR, and events of any level that carry an exception, as readable lines. */
  public List<String> problems() {
    return events().stream()
        .filter(e -> e.getLevel().isGreaterOrEqual(Level.ERROR) || e.getThrowableProxy() != null)
        .map(e -> e.getLevel() + " " + e.getLoggerName() + ": " + e.getFormattedMessage()
            + (e.getThrowableProxy() == null ? "" : " / " + e.getThrowableProxy().getClassName() + ": " + e.getThrowableProxy().getMessage()))
        .toList();
  }

  /** The events so far, and forgets them, at once: nothing logged in between is lost. */
  public List<ILoggingEvent> drain() {
    synchronized (appender) {
      List<ILoggingEvent> events = List.copyOf(appender.list);
      appender.list.clear();
      return events;
    }
  }

  /** Waits until more than {@code seen} events were collected or {@code timeout} passed, whichever comes first. */
  public void awaitMore(int seen, Duration timeout) throws InterruptedException {
    long until = System.nanoTime() + timeout.toNanos();
    synchronized (appender) {
      long left;
      while (appender.list.size() <= seen && (left = until - System.nanoTime()) > 0) {
        TimeUnit.NANOSECONDS.timedWait(appender, left);
      }
    }
  }

  public void clear() {
    synchronized (appender) {
      appender.list.clear();
    }
  }

  @Override
  public void close() {
    logger.detachAppender(appender);
    appender.stop();
  }
}
