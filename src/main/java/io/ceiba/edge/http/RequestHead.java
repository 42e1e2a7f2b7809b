package io.ceiba.edge.http;

import io.vertx.core.net.HostAndPort;

/**
 * A request head that passed {@link RequestHygiene}: what the rest of the edge routes by and sends upstream.
 *
 * @param authority  the authority routing uses: an absolute-form target's, else {@code Host}'s
 * @param hostHeader the text of that authority, the one {@code Host} an origin gets
 * @param target     the target in origin-form, as an origin gets it
 * @param connection the options {@code Connection} names, parsed once
 * @param forwarding who the client is and the forwarding headers for upstream
 */
public record RequestHead(HostAndPort authority, String hostHeader, String target, ConnectionTokens connection,
    Forwarding forwarding) {
}
