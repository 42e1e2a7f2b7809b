package io.ceiba.registry;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;

/**
 * A PEM value of the registry: inline text (it starts with {@code -----BEGIN}) or a file path, absolute or relative
 * to the node's registry file folder. Read and checked at parse time (parsing runs off the event loop), so the edge
 * never reads a file and a bad value refuses the registry instead of failing handshakes later.
 */
final class PemSource {

  /** PEM bundles are small; a larger file is a mistake (a wrong path), not a CA bundle. */
  static final long MAX_BYTES = 1024 * 1024;

  private PemSource() {
  }

  /** Why a value could not be used, for the problem list. */
  static final class Unusable extends Exception {
    Unusable(String why) {
      super(why);
    }
  }

  /** The PEM text of one or more X.509 certificates. */
  static String certificates(String value, Path baseDir) throws Unusable {
    String pem = text(value, baseDir);
    try {
      if (CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII))).isEmpty()) {
        throw new Unusable("no certificate in " + describe(value));
      }
    } catch (CertificateException e) {
      throw new Unusable("not PEM certificates (" + describe(value) + "): " + e.getMessage());
    }
    return pem;
  }

  /** The PEM text of a private key (PKCS#8 or PKCS#1). */
  static String privateKey(String value, Path baseDir) throws Unusable {
    String pem = text(value, baseDir);
    if (!pem.contains("-----BEGIN PRIVATE KEY-----") && !pem.contains("-----BEGIN RSA PRIVATE KEY-----")
        && !pem.contains("-----BEGIN EC PRIVATE KEY-----")) {
      throw new Unusable("no PEM private key in " + describe(value));
    }
    return pem;
  }

  private static String text(String value, Path baseDir) throws Unusable {
    String v = value.strip();
    if (v.startsWith("-----BEGIN")) {
      return v;
    }
    Path file = Path.of(v);
    if (!file.isAbsolute()) {
      if (baseDir == null) {
        throw new Unusable("relative path '" + v + "' needs a registry file to resolve against; give an absolute path or inline PEM");
      }
      file = baseDir.resolve(file).normalize();
    }
    try {
      if (Files.size(file) > MAX_BYTES) {
        throw new Unusable("file " + file + " is larger than " + MAX_BYTES + " bytes");
      }
      return Files.readString(file, StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      throw new Unusable("file not found: " + file);
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new Unusable("cannot read " + file + ": " + e.getMessage());
    }
  }

  private static String describe(String value) {
    return value.strip().startsWith("-----BEGIN") ? "the inline value" : "'" + value.strip() + "'";
  }
}
