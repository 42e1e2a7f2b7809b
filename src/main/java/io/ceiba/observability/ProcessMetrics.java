package io.ceiba.observability;

import io.ceiba.cli.VersionInfo;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;

/**
 * The JVM and process meters every node exports ({@code jvm_memory_*}, {@code jvm_gc_*}, {@code jvm_threads_*},
 * {@code jvm_classes_*}, {@code process_cpu_usage}, {@code process_files_*}, {@code process_uptime_seconds}) and
 * {@code ceiba_build_info{version}} = 1, so a dashboard can tell which release each node runs.
 */
public final class ProcessMetrics {

  private ProcessMetrics() {
  }

  /**
   * Binds them to {@code meters}. The GC binder listens to the JVM's GC notifications: it stops when {@code vertx}
   * closes, so a stopped node (several per JVM in tests) leaves no listener holding its registry.
   */
  public static void bindTo(MeterRegistry meters, Vertx vertx) {
    new JvmMemoryMetrics().bindTo(meters);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(meters);
    ((VertxInternal) vertx).addCloseHook(completion -> {
      gc.close();
      completion.succeed();
    });
    new JvmThreadMetrics().bindTo(meters);
    new ClassLoaderMetrics().bindTo(meters);
    new ProcessorMetrics().bindTo(meters);
    new UptimeMetrics().bindTo(meters);
    new FileDescriptorMetrics().bindTo(meters);
    Gauge.builder(MetricNames.BUILD_INFO, () -> 1).tag(MetricNames.TAG_VERSION, VersionInfo.version())
        .description("1, labelled with the version of the running build").strongReference(true).register(meters);
  }
}
