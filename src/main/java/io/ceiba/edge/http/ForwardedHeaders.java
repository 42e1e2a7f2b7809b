package io.ceiba.edge.http;

import io.ceiba.config.Cidr;
import io.vertx.core.MultiMap;
import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the forwarding headers of a request — believed only from a peer in {@code edge.trusted_proxies} — into
 * a {@link Forwarding}. From any other peer they are ignored and replaced: the client is the connection's far
 * end, whatever {@code X-Forwarded-For}, {@code X-Real-IP} or {@code Forwarded} it sent.
 *
 * <p>From a trusted peer the client is found as nginx's {@code real_ip_recursive on} does: walk the addresses of
 * {@code X-Forwarded-For} (else {@code Forwarded: for=}, else {@code X-Real-IP}) from the right, past every trusted
 * proxy; the first address not trusted is the client. An entry that is not an IP literal ends the walk (the last
 * address reached is taken). Nothing is resolved: only literals count.
 */
public final class ForwardedHeaders {

  private ForwardedHeaders() {
  }

  /**
   * @param peer      the connection's far end (null when unknown)
   * @param ssl       whether the request came over TLS
   * @param authority the request's authority as it goes upstream in {@code Host}
   */
  public static Forwarding resolve(MultiMap headers, SocketAddress peer, boolean ssl, String authority, TrustedProxies trusted) {
    String peerIp = peer == null ? "" : peer.hostAddress();
    String proto = ssl ? "https" : "http";
    if (trusted.isEmpty() || peer == null || !trusted.trusts(Cidr.bytesOf(peerIp))) {
      return new Forwarding(peer, peerIp, proto, authority, List.of(), List.of());
    }
    List<String> forwardedFor = headers.getAll(Forwarding.X_FORWARDED_FOR);
    List<String> forwarded = headers.getAll(Forwarding.FORWARDED);
    List<String> realIp = headers.getAll(Forwarding.X_REAL_IP);
    List<String> hops = new ArrayList<>();
    if (!forwardedFor.isEmpty()) {
      forwardedFor.forEach(v -> splitList(v, hops));
    } else if (!forwarded.isEmpty()) {
      forwarded.forEach(v -> forwardedForValues(v, hops));
    } else if (!realIp.isEmpty()) {
      hops.add(realIp.get(0).trim());
    }
    SocketAddress client = peer;
    for (int i = hops.size() - 1; i >= 0; i--) {
      byte[] address = Cidr.bytesOf(stripPort(hops.get(i)));
      if (address == null) {
        break;
      }
      client = socketAddress(address, client);
      if (!trusted.trusts(address)) {
        break;
      }
    }
    String priorFor = forwardedFor.isEmpty() ? null : String.join(", ", forwardedFor);
    String priorProto = headers.get(Forwarding.X_FORWARDED_PROTO);
    String priorHost = headers.get(Forwarding.X_FORWARDED_HOST);
    return new Forwarding(client, priorFor == null ? peerIp : priorFor + ", " + peerIp,
        priorProto == null ? proto : priorProto, priorHost == null ? authority : priorHost, realIp, forwarded);
  }

  private static SocketAddress socketAddress(byte[] address, SocketAddress fallback) {
    try {
      return SocketAddress.inetSocketAddress(new InetSocketAddress(InetAddress.getByAddress(address), 0));
    } catch (UnknownHostException e) {
      return fallback; // only for a length other than 4 or 16, which bytesOf never gives
    }
  }

  private static void splitList(String value, List<String> out) {
    for (String part : value.split(",", -1)) {
      out.add(part.trim());
    }
  }

  /** The {@code for=} values of a {@code Forwarded} line (RFC 7239), in order; elements without one give "". */
  private static void forwardedForValues(String value, List<String> out) {
    for (String element : value.split(",", -1)) {
      String found = "";
      for (String pair : element.split(";", -1)) {
        String p = pair.trim();
        if (p.regionMatches(true, 0, "for=", 0, 4)) {
          found = p.substring(4).replace("\"", "");
        }
      }
      out.add(found);
    }
  }

  /** {@code [v6]:port} or {@code [v6]} → {@code v6}; {@code a.b.c.d:port} → {@code a.b.c.d}; anything else as is. */
  static String stripPort(String hop) {
    if (hop.startsWith("[")) {
      int close = hop.indexOf(']');
      return close < 0 ? hop : hop.substring(1, close);
    }
    int colon = hop.indexOf(':');
    return colon > 0 && hop.indexOf(':', colon + 1) < 0 ? hop.substring(0, colon) : hop;
  }
}
