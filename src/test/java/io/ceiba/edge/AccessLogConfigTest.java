package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The shipped logging configs leave {@code ceiba.access} to the edge's own writer (no appender, no additivity), at INFO:
 * an appender there would take every line through logback instead, one event each.
 */
class AccessLogConfigTest {

  @ParameterizedTest
  @ValueSource(strings = {"logback.xml", "logback-json.xml"})
  void should_leave_access_lines_to_the_edge_writer(String config) throws Exception {
    LoggerContext context = new LoggerContext();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(AccessLogConfigTest.class.getResource("/" + config));

    Logger access = context.getLogger(AccessLog.LOGGER);
    assertThat(access.isAdditive()).as("not through the root's appenders").isFalse();
    assertThat(access.iteratorForAppenders().hasNext()).as("no appender of its own").isFalse();
    assertThat(access.isInfoEnabled()).isTrue();
    assertThat(access.getLevel()).isEqualTo(Level.INFO);
    assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders().hasNext()).as("other loggers print").isTrue();
    context.stop();
  }
}
