package io.ceiba.registry;

/** One TCP backend: {@code address} is {@code host:port} as written. */
public record TcpBackend(String address, String host, int port, String node) {
}
