package io.ceiba.tls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals the private keys of stored certificates (AES-256-GCM, the certificate's name as associated data, so a sealed
 * key cannot be moved to another name). In a secure cluster the keys derive from the cluster credentials' relay keys,
 * so every node opens what any node sealed and rotation follows the credentials; a node without a cluster keeps its
 * own key in {@code <data_dir>/certificate-sealing.key}. The first key seals; any opens, named by a key id.
 */
public final class CertificateVault {

  private static final String FORMAT = "v1";
  private static final int NONCE_BYTES = 12;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final List<byte[]> keys;

  public CertificateVault(List<byte[]> keys) {
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("no sealing key");
    }
    this.keys = List.copyOf(keys);
  }

  /** The vault of a node without cluster credentials: its own key file, made on first use. Blocking. */
  public static CertificateVault ofNode(Path dataDir) {
    Path file = dataDir.resolve("certificate-sealing.key");
    try {
      if (!Files.exists(file)) {
        Files.createDirectories(dataDir);
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        Path tmp = Files.createTempFile(dataDir, "sealing", ".tmp");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(tmp, Base64.getUrlEncoder().withoutPadding().encodeToString(key) + "\n");
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
      return new CertificateVault(List.of(Base64.getUrlDecoder().decode(Files.readString(file).trim())));
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalStateException("certificate sealing key " + file + " unusable: " + e.getMessage(), e);
    }
  }

  /** {@code v1.<key id>.<nonce>.<ciphertext>}, base64url parts. */
  public String seal(String name, String privateKeyPem) {
    byte[] key = keys.get(0);
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    try {
      Cipher cipher = cipher(Cipher.ENCRYPT_MODE, key, nonce, name);
      byte[] sealed = cipher.doFinal(privateKeyPem.getBytes(StandardCharsets.US_ASCII));
      Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
      return FORMAT + "." + keyId(key) + "." + b64.encodeToString(nonce) + "." + b64.encodeToString(sealed);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
  }

  /** The private key PEM, or an exception saying why it cannot be opened (unknown key id: credentials rotated away). */
  public String open(String name, String sealed) throws GeneralSecurityException {
    String[] parts = sealed.split("\\.");
    if (parts.length != 4 || !FORMAT.equals(parts[0])) {
      throw new GeneralSecurityException("not a sealed key of format " + FORMAT);
    }
    for (byte[] key : keys) {
      if (keyId(key).equals(parts[1])) {
        Base64.Decoder b64 = Base64.getUrlDecoder();
        Cipher cipher = cipher(Cipher.DECRYPT_MODE, key, b64.decode(parts[2]), name);
        return new String(cipher.doFinal(b64.decode(parts[3])), StandardCharsets.US_ASCII);
      }
    }
    throw new GeneralSecurityException("sealed with key " + parts[1] + ", which this node does not hold (credentials rotated?)");
  }

  private static Cipher cipher(int mode, byte[] key, byte[] nonce, String name) throws GeneralSecurityException {
    Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
    cipher.init(mode, new SecretKeySpec(Arrays.copyOf(key, 32), "AES"), new GCMParameterSpec(128, nonce));
    cipher.updateAAD(name.getBytes(StandardCharsets.UTF_8));
    return cipher;
  }

  private static String keyId(byte[] key) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key), 0, 8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
