package io.ceiba.testkit;

import io.ceiba.cluster.ClusterPki;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates written as PEM, as operators hand them to Ceiba and to PostgreSQL: self-signed ones made with the JDK's
 * keytool, and ones a test CA ({@link ClusterPki#newCa}) issues for a name and its IP or DNS alternative names.
 */
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
  public static BigInteger serialOf(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return ((X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificate(in)).getSerialNumber();
    }
  }

  /** {@code ca}'s certificate as a PEM file in {@code dir}. */
  public static Path caFile(Path dir, String fileName, ClusterPki.Ca ca) throws Exception {
    Path file = dir.resolve(fileName);
    Files.writeString(file, ClusterPki.pem(List.of(ca.cert())));
    return file;
  }

  /**
   * A certificate {@code ca} issues to {@code commonName} (a server, or a PostgreSQL user for client-certificate
   * authentication) with the given subject alternative names (IP addresses or DNS names):
   * {@code [name.pem, name.key]}, the key readable by its owner only, as PostgreSQL requires.
   */
  public static Path[] issued(Path dir, ClusterPki.Ca ca, String commonName, String... altNames) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair pair = generator.generateKeyPair();
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
        X500Name.getInstance(ca.cert().getSubjectX500Principal().getEncoded()), BigInteger.valueOf(now.toEpochMilli()),
        Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(2))),
        new X500Name("CN=" + commonName), pair.getPublic());
    if (altNames.length > 0) {
      builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(Arrays.stream(altNames)
          .map(n -> new GeneralName(n.matches("[0-9.]+|.*:.*") ? GeneralName.iPAddress : GeneralName.dNSName, n))
          .toArray(GeneralName[]::new)));
    }
    X509Certificate cert = new JcaX509CertificateConverter()
        .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(ca.key())));
    Path certFile = dir.resolve(commonName + ".pem");
    Path keyFile = dir.resolve(commonName + ".key");
    Files.writeString(certFile, ClusterPki.pem(List.of(cert)));
    Files.writeString(keyFile, ClusterPki.pem(pair.getPrivate()));
    Files.setPosixFilePermissions(keyFile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    return new Path[] {certFile, keyFile};
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }
}
