package io.ceiba;

import io.ceiba.cli.BackupCommand;
import io.ceiba.cli.RegistryCommand;
import io.ceiba.cli.RestoreCommand;
import io.ceiba.cli.ClusterCommand;
import io.ceiba.cli.ValidateCommand;
import io.ceiba.cli.VersionInfo;
import io.ceiba.cli.admin.AdminCommand;
import io.ceiba.config.CliOverrides;
import io.ceiba.config.NodeConfig;
import io.ceiba.config.NodeConfigLoader;
import io.ceiba.node.CeibaNode;
import io.ceiba.yaml.InvalidDocumentException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * {@code java -jar ceiba.jar [--config FILE] [--roles …] [--instances role=N,…] [--node-id ID] [--cluster|--no-cluster]}
 * starts a node; {@code validate} checks files; {@code cluster init} makes the cluster credentials; {@code --version}
 * prints the version; {@code admin} operates a running cluster through its control API.
 */
@Command(name = "ceiba", description = "Multi-node edge gateway and API access layer.",
    mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    subcommands = {ValidateCommand.class, ClusterCommand.class, BackupCommand.class, RestoreCommand.class, RegistryCommand.class,
        AdminCommand.class})
public final class Main implements Callable<Integer> {

  static {
    // must run before the first logger is created: pick the JSON layout when asked for
    if ("json".equalsIgnoreCase(System.getenv("CEIBA_LOG_FORMAT")) && System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "logback-json.xml");
    }
  }

  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  @Mixin
  NodeOptions node;

  @Spec
  CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine(args).execute(args));
  }

  /**
   * The command line for {@code args}. A node start (no subcommand named, no help asked for) gets one without the
   * subcommands: picocli reads the model of every one of them (the admin commands are many) when it is built, half a
   * second of a start's CPU. Any error in the arguments goes to the full command line, so the messages are the same.
   */
  static CommandLine commandLine(String[] args) {
    if (!startsNode(args)) {
      return new CommandLine(new Main());
    }
    CommandLine start = new CommandLine(new Start());
    return start.setParameterExceptionHandler((e, given) -> new CommandLine(new Main()).setOut(start.getOut()).setErr(start.getErr())
        .execute(given));
  }

  private static boolean startsNode(String[] args) {
    if (args.length > 0 && !args[0].startsWith("-")) {
      return false; // a subcommand (or a mistake the full command line explains)
    }
    Set<String> subcommands = new HashSet<>();
    for (Class<?> type : Main.class.getAnnotation(Command.class).subcommands()) {
      subcommands.add(type.getAnnotation(Command.class).name());
    }
    for (String arg : args) {
      if (arg.equals("-h") || arg.equals("--help") || subcommands.contains(arg)) {
        return false;
      }
    }
    return true;
  }

  /** The node start alone: {@link Main}'s options and version, no subcommands. */
  @Command(name = "ceiba", mixinStandardHelpOptions = true, versionProvider = Main.Version.class)
  static final class Start implements Callable<Integer> {

    @Mixin
    NodeOptions node;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
      return runNode(node, spec);
    }
  }

  /** The options of a node start. */
  static final class NodeOptions {

    @Option(names = "--config", paramLabel = "FILE", description = "node config YAML (default: built-in single node)")
    Path config;

    @Option(names = "--roles", paramLabel = "ROLES", description = "edge,auth,usage,health,control or combined")
    String roles;

    @Option(names = "--instances", paramLabel = "ROLE=N,...", description = "verticle instances per role, e.g. edge=4,auth=2")
    String instances;

    @Option(names = "--node-id", paramLabel = "ID", description = "node id")
    String nodeId;

    @Option(names = "--cluster", negatable = true, description = "join the cluster (--no-cluster: run alone)")
    Boolean cluster;
  }

  @Override
  public Integer call() throws InterruptedException {
    return runNode(node, spec);
  }

  private static int runNode(NodeOptions options, CommandSpec spec) throws InterruptedException {
    NodeConfig nodeConfig;
    try {
      nodeConfig = NodeConfigLoader.load(options.config, System.getenv(),
          new CliOverrides(options.roles, options.instances, options.nodeId, options.cluster), Path.of("").toAbsolutePath());
    } catch (InvalidDocumentException e) {
      spec.commandLine().getErr().println("ceiba: " + e.getMessage());
      spec.commandLine().getErr().flush();
      return ExitCodes.CONFIG_INVALID;
    }
    // SIGHUP reloads (the JVM's default would exit without a drain): registry file and TLS certificates. Installed
    // before the start: a reload sent while the node starts (systemctl reload, a deploy script right after /ready)
    // must not end it; it is carried out once the node runs
    AtomicReference<CeibaNode> running = new AtomicReference<>();
    AtomicBoolean reloadWhenStarted = new AtomicBoolean();
    SignalHandler previousHup = Signal.handle(new Signal("HUP"), sig -> {
      // flag first, then look: the start's end and this handler each take the flag back; one of them reloads
      reloadWhenStarted.set(true);
      CeibaNode started = running.get();
      if (started == null) {
        LOG.info("node {}: SIGHUP while starting; reloading once started", nodeConfig.nodeId());
      } else if (reloadWhenStarted.getAndSet(false)) {
        reload(started);
      }
    });
    if (previousHup == SignalHandler.SIG_IGN) {
      // started under nohup (or a supervisor that ignores it): the JVM keeps an ignored signal ignored
      LOG.warn("node {}: SIGHUP is ignored in this process (started under nohup?), so it does not reload; the registry"
          + " file and the TLS certificates are still watched", nodeConfig.nodeId());
    }
    CeibaNode node;
    try {
      node = CeibaNode.start(nodeConfig).await(5, TimeUnit.MINUTES);
      running.set(node);
      if (reloadWhenStarted.getAndSet(false)) {
        reload(node);
      }
    } catch (Exception e) {
      LOG.error("node {} failed to start: {}", nodeConfig.nodeId(), StartFailures.describe(e));
      return ExitCodes.START_FAILED;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    AtomicBoolean stopping = new AtomicBoolean();
    AtomicBoolean stoppedCleanly = new AtomicBoolean();
    Runnable stop = () -> {
      if (stopping.compareAndSet(false, true)) {
        // off the signal thread: the drain takes shutdown.drain_delay, then up to shutdown.grace
        Thread t = new Thread(() -> {
          try {
            node.stop().await(nodeConfig.shutdown().stopDeadline().toMillis(), TimeUnit.MILLISECONDS);
            stoppedCleanly.set(true);
          } catch (Exception e) {
            LOG.warn("node {} did not stop cleanly: {}", nodeConfig.nodeId(), e.getMessage());
          } finally {
            stopped.countDown();
          }
        }, "ceiba-shutdown");
        t.start();
      }
    };
    Signal.handle(new Signal("TERM"), sig -> stop.run());
    Signal.handle(new Signal("INT"), sig -> stop.run());
    stopped.await();
    return stoppedCleanly.get() ? ExitCodes.OK : ExitCodes.STOP_TIMED_OUT;
  }

  private static void reload(CeibaNode node) {
    LOG.info("node {}: SIGHUP, reloading the registry file and the TLS certificates", node.config().nodeId());
    node.reload();
  }

  /** Prints the jar's version. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"ceiba " + VersionInfo.version()};
    }
  }
}
