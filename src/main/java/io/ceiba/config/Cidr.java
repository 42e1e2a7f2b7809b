package io.ceiba.config;

import io.netty.util.NetUtil;
import java.util.Arrays;

/**
 * An IPv4 or IPv6 address block as written in the node config ({@code 10.0.0.0/8}, {@code 2001:db8::/32}, or
 * a single address, which is a /32 or /128). Parsed without name resolution: only address literals are accepted.
 *
 * @param network the block's address bytes (4 or 16), with the bits beyond the prefix cleared
 * @param prefix  the number of leading bits that must match
 */
public record Cidr(byte[] network, int prefix) {

  public Cidr {
    network = network.clone();
  }

  @Override
  public byte[] network() {
    return network.clone();
  }

  /**
   * @throws IllegalArgumentException with a reason fit for a config error when {@code text} is not a block
   */
  public static Cidr parse(String text) {
    String t = text == null ? "" : text.trim();
    int slash = t.indexOf('/');
    String address = slash < 0 ? t : t.substring(0, slash);
    byte[] bytes = bytesOf(address);
    if (bytes == null) {
      throw new IllegalArgumentException("'" + text + "' is not an IP address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)");
    }
    int bits = bytes.length * 8;
    int prefix = bits;
    if (slash >= 0) {
      String p = t.substring(slash + 1);
      if (!p.matches("\\d{1,3}") || Integer.parseInt(p) > bits) {
        throw new IllegalArgumentException("'" + text + "' has a prefix length that is not 0-" + bits);
      }
      prefix = Integer.parseInt(p);
    }
    byte[] network = bytes.clone();
    for (int bit = prefix; bit < bits; bit++) {
      network[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
    }
    if (!Arrays.equals(network, bytes)) {
      throw new IllegalArgumentException("'" + text + "' has bits set beyond its prefix (did you mean "
          + NetUtil.bytesToIpAddress(network) + "/" + prefix + "?)");
    }
    return new Cidr(network, prefix);
  }

  /**
   * The address bytes of an IP literal (IPv4-mapped IPv6 addresses as IPv4), or null when {@code address} is not
   * one. Never resolves a name.
   */
  public static byte[] bytesOf(String address) {
    if (address == null || address.isEmpty()) {
      return null;
    }
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(address);
    if (bytes == null) {
      return null;
    }
    if (bytes.length == 16 && isV4Mapped(bytes)) {
      return Arrays.copyOfRange(bytes, 12, 16);
    }
    return bytes;
  }

  private static boolean isV4Mapped(byte[] b) {
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
  }

  /** Whether {@code address} (4 or 16 bytes, as from {@link #bytesOf}) lies in this block. */
  public boolean contains(byte[] address) {
    if (address == null || address.length != network.length) {
      return false;
    }
    int full = prefix / 8;
    for (int i = 0; i < full; i++) {
      if (address[i] != network[i]) {
        return false;
      }
    }
    int rest = prefix % 8;
    if (rest == 0) {
      return true;
    }
    int mask = (0xff << (8 - rest)) & 0xff;
    return (address[full] & mask) == (network[full] & 0xff);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Cidr c && c.prefix == prefix && Arrays.equals(c.network, network);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(network) * 31 + prefix;
  }

  @Override
  public String toString() {
    return NetUtil.bytesToIpAddress(network) + "/" + prefix;
  }
}
