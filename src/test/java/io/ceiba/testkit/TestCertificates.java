package io.ceiba.testkit;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.concurrent.TimeUnit;

/** Self-signed certificates made with the JDK's keytool and written as PEM, as operators hand them to Ceiba. */
public final class TestCertificates {

  private TestCertificates() {
  }

  /** A certificate/key pair for {@code host} (CN and DNS SAN): {@code [cert.pem, key.pem]}. */
  public static Path[] selfSigned(Path dir, String host) throws Exception {
    return selfSigned(dir, host, host, "-validity", "2");
  }

  /**
   * As above, written as {@code <fileName>.pem}/{@code .key}, with keytool's validity arguments, e.g.
   * {@code "-startdate", "-10d", "-validity", "1"} for one that expired.
   */
  public static Path[] selfSigned(Path dir, String host, String fileName, String... validity) throws Exception {
    Path store = dir.resolve(fileName + ".p12");
    java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(
        Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "edge", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=" + host,
        "-ext", "SAN=dns:" + host, "-keystore", store.toString(), "-storetype", "PKCS12",
        "-storepass", "changeit", "-keypass", "changeit"));
    command.addAll(java.util.List.of(validity));
    Process keytool = new ProcessBuilder(command).redirectErrorStream(true).start();
    if (!keytool.waitFor(60, TimeUnit.SECONDS) || keytool.exitValue() != 0) {
      throw new IllegalStateException("keytool failed: " + new String(keytool.getInputStream().readAllBytes()));
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      ks.load(in, "changeit".toCharArray());
    }
    Key key = ks.getKey("edge", "changeit".toCharArray());
    Certificate cert = ks.getCertificate("edge");
    Path certFile = dir.resolve(fileName + ".pem");
    Path keyFile = dir.resolve(fileName + ".key");
    Files.writeString(certFile, pem("CERTIFICATE", cert.getEncoded()));
    Files.writeString(keyFile, pem("PRIVATE KEY", key.getEncoded()));
    return new Path[] {certFile, keyFile};
  }

  /** The serial number of the (first) certificate of a PEM file: what a handshake's presented certificate is matched by. */
  public static java.math.BigInteger serialOf(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return ((java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificate(in)).getSerialNumber();
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }
}
