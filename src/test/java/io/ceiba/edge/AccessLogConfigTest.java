package io.ceiba.edge;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The shipped logging configs write {@code ceiba.access} lines off the thread that logs them (an edge event loop). */
class AccessLogConfigTest {

  @ParameterizedTest
  @ValueSource(strings = {"logback.xml", "logback-json.xml"})
  void should_write_access_lines_through_an_asynchronous_appender_that_never_blocks(String config) throws Exception {
    LoggerContext context = new LoggerContext();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(AccessLogConfigTest.class.getResource("/" + config));

    Logger access = context.getLogger("ceiba.access");
    assertThat(access.isAdditive()).as("access lines go only through their own appender").isFalse();
    List<Appender<ILoggingEvent>> appenders = new ArrayList<>();
    access.iteratorForAppenders().forEachRemaining(appenders::add);
    assertThat(appenders).singleElement().isInstanceOf(AsyncAppender.class);
    AsyncAppender async = (AsyncAppender) appenders.get(0);
    assertThat(async.isNeverBlock()).as("a full queue never blocks an event loop").isTrue();
    assertThat(async.getDiscardingThreshold()).as("INFO lines are not dropped before the queue is full").isZero();

    // it hands lines to a console appender of the same config, on its own worker thread
    assertThat(async.isStarted()).isTrue();
    assertThat(async.iteratorForAppenders().next()).isSameAs(context.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders().next());
    context.stop();
  }
}
