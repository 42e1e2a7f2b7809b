package io.ceiba.access;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * API key material. A key is {@code ck_} plus 192 random bits (base64url); only its SHA-256 is stored.
 * A fast hash is right here: the key is random and long, so there is nothing to brute-force that a slow
 * hash would protect, and the edge hashes every keyed request.
 */
public final class ApiKeys {

  public static final String SCHEME = "ck_";
  /** Characters of the key shown as its public prefix: the scheme and 8 characters (48 of the 192 bits). */
  static final int PREFIX_LENGTH = SCHEME.length() + 8;
  private static final int RANDOM_BYTES = 24;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final HexFormat HEX = HexFormat.of();
  /** One digest per thread: the edge hashes every keyed request, and a lookup of the provider costs more than the hash. */
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  });

  /** A freshly made key: {@code secret} is shown once and then forgotten. */
  public record NewKey(String secret, String prefix, byte[] hash) {
  }

  private ApiKeys() {
  }

  public static NewKey generate() {
    byte[] bytes = new byte[RANDOM_BYTES];
    RANDOM.nextBytes(bytes);
    String secret = SCHEME + ENCODER.encodeToString(bytes);
    return new NewKey(secret, secret.substring(0, PREFIX_LENGTH), hash(secret));
  }

  public static byte[] hash(String secret) {
    MessageDigest digest = SHA256.get();
    digest.reset();
    return digest.digest(secret.getBytes(StandardCharsets.UTF_8));
  }

  public static String hex(byte[] hash) {
    return HEX.formatHex(hash);
  }

  public static byte[] fromHex(String hex) {
    return HEX.parseHex(hex);
  }

  /** A plausible key: bounded length and printable, so junk is refused before it is hashed or logged. */
  public static boolean plausible(String presented) {
    if (presented == null || presented.isEmpty() || presented.length() > 256) {
      return false;
    }
    for (int i = 0; i < presented.length(); i++) {
      char c = presented.charAt(i);
      if (c <= ' ' || c > '~') {
        return false;
      }
    }
    return true;
  }

  /** What may appear in a log line about a presented key: its prefix when it looks like ours, never the rest. */
  public static String redact(String presented) {
    return presented != null && presented.startsWith(SCHEME) && presented.length() >= PREFIX_LENGTH
        ? presented.substring(0, PREFIX_LENGTH) + "…" : "(not a ceiba key)";
  }
}
