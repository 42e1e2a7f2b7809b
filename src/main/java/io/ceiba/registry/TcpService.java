package io.ceiba.registry;

import java.util.List;

/** A TCP service: every edge node listens on {@code listen} and pipes connections to a healthy backend. */
public record TcpService(String name, int listen, List<TcpBackend> backends, TcpHealthSpec health) {

  public TcpService {
    backends = List.copyOf(backends);
  }
}
