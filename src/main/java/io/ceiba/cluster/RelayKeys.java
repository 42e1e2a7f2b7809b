package io.ceiba.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The relay token a node puts on requests it relays to a peer's edge, derived from the cluster's relay keys
 * ({@code cluster.key}): HMAC-SHA256 of a fixed label and the cluster name. Only holders of the credentials can
 * make it; a leaked token does not reveal the key. The first key signs, every key is accepted (rotation).
 */
public final class RelayKeys {

  private static final String LABEL = "ceiba relay token v1:";

  private RelayKeys() {
  }

  /** The tokens of every key of {@code file}, the signing one first. */
  public static List<String> tokens(Path file, String clusterName) {
    return readLines(file).stream().map(key -> token(key, clusterName)).toList();
  }

  /**
   * Secret keys for another purpose, one per relay key (the signing one first): HMAC-SHA256 of {@code label} under
   * each key, so they reveal nothing about the relay keys and rotate with them.
   */
  public static List<byte[]> derived(Path file, String label) {
    return readLines(file).stream().map(key -> hmac(decode(key), label)).toList();
  }

  static String token(String key, String clusterName) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(hmac(decode(key), LABEL + clusterName));
  }

  private static byte[] decode(String key) {
    byte[] raw;
    try {
      raw = Base64.getUrlDecoder().decode(key);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("a line of cluster.key is not base64url: " + e.getMessage());
    }
    if (raw.length < 32) {
      throw new IllegalArgumentException("a key of cluster.key has " + raw.length + " bytes; at least 32 are needed");
    }
    return raw;
  }

  private static byte[] hmac(byte[] key, String message) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no HmacSHA256 in this JDK", e);
    }
  }

  /** The non-blank, non-comment lines of a key file. */
  static List<String> readLines(Path file) {
    try {
      List<String> keys = Files.readAllLines(file).stream().map(String::trim)
          .filter(line -> !line.isEmpty() && !line.startsWith("#")).toList();
      if (keys.isEmpty()) {
        throw new IllegalArgumentException(file + " holds no key");
      }
      return keys;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
