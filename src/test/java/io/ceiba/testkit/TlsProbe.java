package io.ceiba.testkit;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A TLS client that shows what the edge presents: a fresh handshake per connection (a new context, so no session is
 * resumed and the certificate is always sent), with SNI, trusting any certificate so the test can look at it.
 */
public final class TlsProbe {

  private TlsProbe() {
  }

  /** An answer over TLS: the certificate presented and the raw HTTP reply. */
  public record Answer(X509Certificate certificate, String reply) {
    public boolean ok() {
      return reply.startsWith("HTTP/1.1 200");
    }
  }

  /** Opens a TLS connection to {@code 127.0.0.1:port} with SNI {@code host}; the caller sends and closes. */
  public static SSLSocket connect(int port, String host) throws IOException, GeneralSecurityException {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, new TrustManager[] {new TrustAnything()}, null);
    SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
    SSLParameters parameters = socket.getSSLParameters();
    parameters.setServerNames(List.of(new SNIHostName(host)));
    socket.setSSLParameters(parameters);
    socket.setSoTimeout(10_000);
    socket.startHandshake();
    return socket;
  }

  /** A new connection, one {@code GET path} with {@code Connection: close}, the whole reply. */
  public static Answer get(int port, String host, String path) throws IOException, GeneralSecurityException {
    try (SSLSocket socket = connect(port, host)) {
      X509Certificate presented = (X509Certificate) socket.getSession().getPeerCertificates()[0];
      return new Answer(presented, exchange(socket, host, path, true));
    }
  }

  /** Sends one GET on an open connection and reads its reply (the whole stream when {@code close}). */
  public static String exchange(Socket socket, String host, String path, boolean close) throws IOException {
    socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n"
        + (close ? "Connection: close\r\n" : "") + "\r\n").getBytes(StandardCharsets.US_ASCII));
    StringBuilder got = new StringBuilder();
    byte[] buffer = new byte[8192];
    int n;
    while ((n = socket.getInputStream().read(buffer)) > 0) {
      got.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
      if (!close && complete(got)) {
        break;
      }
    }
    return got.toString();
  }

  /** A reply with Content-Length whose body has all arrived. */
  private static boolean complete(StringBuilder reply) {
    int headEnd = reply.indexOf("\r\n\r\n");
    if (headEnd < 0) {
      return false;
    }
    String head = reply.substring(0, headEnd).toLowerCase(java.util.Locale.ROOT);
    int at = head.indexOf("content-length:");
    if (at < 0) {
      return true;
    }
    int lineEnd = head.indexOf("\r\n", at);
    long length = Long.parseLong(head.substring(at + 15, lineEnd < 0 ? head.length() : lineEnd).trim());
    return reply.length() - headEnd - 4 >= length;
  }

  private static final class TrustAnything implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
