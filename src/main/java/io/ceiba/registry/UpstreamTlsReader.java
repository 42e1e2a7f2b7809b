package io.ceiba.registry;

import io.ceiba.yaml.MappingReader;
import java.nio.file.Path;
import java.util.regex.Pattern;

/** Reads a service's {@code upstream_tls:} block: {@code ca}, {@code server_name}, {@code insecure_skip_verify}, {@code cert}, {@code key}. */
final class UpstreamTlsReader {

  private static final Pattern SERVER_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?");

  private UpstreamTlsReader() {
  }

  static UpstreamTls read(MappingReader t, Path baseDir) {
    String ca = pem(t, "ca", baseDir, false);
    String serverName = t.string("server_name", "").strip();
    if (!serverName.isEmpty() && !SERVER_NAME.matcher(serverName).matches()) {
      t.problem("server_name", "must be a DNS name, got '" + serverName + "'");
    }
    boolean insecure = t.bool("insecure_skip_verify", false);
    if (insecure && (ca != null || !serverName.isEmpty())) {
      t.problem("insecure_skip_verify", "contradicts ca/server_name: nothing is verified when it is true");
    }
    String cert = pem(t, "cert", baseDir, false);
    String key = pem(t, "key", baseDir, true);
    if (t.has("cert") != t.has("key")) {
      t.problem(t.has("cert") ? "key" : "cert", "a client certificate needs both cert and key");
    }
    t.finish();
    return new UpstreamTls(ca, serverName.isEmpty() ? null : serverName, insecure, cert, key);
  }

  private static String pem(MappingReader t, String key, Path baseDir, boolean privateKey) {
    if (!t.has(key)) {
      return null;
    }
    String value = t.string(key, "");
    if (value.isBlank()) {
      t.problem(key, "empty: give a PEM file path or inline PEM");
      return null;
    }
    try {
      return privateKey ? PemSource.privateKey(value, baseDir) : PemSource.certificates(value, baseDir);
    } catch (PemSource.Unusable e) {
      t.problem(key, e.getMessage());
      return null;
    }
  }
}
