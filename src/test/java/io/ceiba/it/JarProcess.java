package io.ceiba.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The fat jar started as a real process, the way an operator starts it. */
final class JarProcess implements AutoCloseable {

  private final Process process;
  private final Path log;

  private JarProcess(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  static Path jar() {
    Path jar = Path.of(System.getProperty("ceiba.jar", "target/ceiba.jar")).toAbsolutePath();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: integration tests run after 'package'");
    }
    return jar;
  }

  static JarProcess start(Path workDir, Map<String, String> env, String... args) throws IOException {
    List<String> command = new ArrayList<>(DEFAULT_SIGNALS);
    command.addAll(List.of(javaBinary(), "-Xmx512m"));
    command.addAll(classDataArchive());
    command.addAll(List.of("-jar", jar().toString()));
    command.addAll(List.of(args));
    Path log = workDir.resolve("ceiba-" + System.nanoTime() + ".log");
    ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().keySet().removeIf(k -> k.startsWith("CEIBA_") || k.equals("DATABASE_URL") || k.equals("REDIS_URL"));
    builder.environment().putAll(env);
    return new JarProcess(builder.start(), log);
  }

  /**
   * Signals as systemd hands them to a service: at their defaults. A test run started under {@code nohup} ignores
   * SIGHUP, every child inherits that, and a JVM leaves an ignored SIGHUP ignored (the node's reload handler is never
   * called). GNU env resets it; without that env the child inherits what the test has.
   */
  private static final List<String> DEFAULT_SIGNALS = defaultSignals();

  private static List<String> defaultSignals() {
    List<String> prefix = List.of("env", "--default-signal=HUP,TERM,INT");
    try {
      Process probe = new ProcessBuilder(prefix.get(0), prefix.get(1), "true").start();
      return probe.waitFor(10, TimeUnit.SECONDS) && probe.exitValue() == 0 ? prefix : List.of();
    } catch (IOException e) {
      return List.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
  }

  /**
   * Starts as the README's first command does, with the class data archive {@code mvn package} made beside the jar
   * (none with -Dceiba.cds.skip=true). An archive of another JVM or jar is skipped by the JVM; its one warning is
   * kept out of the outputs the tests read.
   */
  static List<String> classDataArchive() {
    Path archive = jar().resolveSibling("ceiba.jsa");
    return Files.isRegularFile(archive)
        ? List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:cds=off", "-Xlog:cds+dynamic=off")
        : List.of();
  }

  static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** Runs the jar to completion (for short commands such as {@code --version} or {@code validate}). */
  static Result run(Path workDir, String... args) throws Exception {
    try (JarProcess p = start(workDir, Map.of(), args)) {
      if (!p.process.waitFor(60, TimeUnit.SECONDS)) {
        throw new AssertionError("ceiba " + String.join(" ", args) + " did not finish");
      }
      return new Result(p.process.exitValue(), p.output());
    }
  }

  record Result(int exit, String output) {
  }

  long pid() {
    return process.pid();
  }

  String output() throws IOException {
    return Files.readString(log);
  }

  /** SIGTERM, then the exit code (or -1 if it did not exit in time). */
  int terminate(long timeoutSeconds) throws InterruptedException {
    process.destroy();
    return process.waitFor(timeoutSeconds, TimeUnit.SECONDS) ? process.exitValue() : -1;
  }

  /** Waits for the process to end by itself: its exit code, or -1 if it still runs after {@code timeoutSeconds}. */
  int waitFor(long timeoutSeconds) throws InterruptedException {
    return process.waitFor(timeoutSeconds, TimeUnit.SECONDS) ? process.exitValue() : -1;
  }

  /** SIGHUP: what {@code systemctl reload} sends. */
  void hangUp() throws IOException, InterruptedException {
    new ProcessBuilder("kill", "-HUP", Long.toString(pid())).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
  }

  /** SIGKILL: a crash, no goodbye to anyone. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }
}
