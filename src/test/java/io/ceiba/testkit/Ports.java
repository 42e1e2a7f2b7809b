package io.ceiba.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free loopback ports for servers a test starts before it binds them (node configs name their ports).
 *
 * <p>A port is chosen below the kernel's ephemeral range and never handed out twice in one JVM. A port
 * from {@code bind(0)} comes from the ephemeral range: between being chosen and being bound it can be
 * handed out again, to another {@code bind(0)} or as the local port of any outgoing connection, and the
 * node that was meant to bind it fails to start ("Port ... is already in use").
 */
public final class Ports {

  private static final int LOWEST = 20_000;
  private static final int ABOVE_HIGHEST = ephemeralRangeStart();
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  private Ports() {
  }

  public static int free() {
    for (int attempt = 0; attempt < 1_000; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(LOWEST, ABOVE_HIGHEST);
      if (HANDED_OUT.add(port)) {
        if (bindable(port)) {
          return port;
        }
        // someone else holds it; leave it marked so it is not tried again
      }
    }
    throw new IllegalStateException("no free loopback port in " + LOWEST + ".." + (ABOVE_HIGHEST - 1));
  }

  private static boolean bindable(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * The first port the kernel uses for bind(0) and outgoing connections; Linux's default, 32768, where it cannot be
   * read or leaves no room below it.
   */
  private static int ephemeralRangeStart() {
    try {
      String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
      int start = Integer.parseInt(range.split("\\s+")[0]);
      return start > LOWEST + 1_000 ? start : 32_768;
    } catch (IOException | RuntimeException e) {
      return 32_768;
    }
  }
}
