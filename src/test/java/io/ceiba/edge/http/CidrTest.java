package io.ceiba.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ceiba.config.Cidr;
import org.junit.jupiter.api.Test;

class CidrTest {

  @Test
  void should_match_addresses_inside_the_block_only() {
    Cidr v4 = Cidr.parse("10.8.0.0/13");
    assertThat(v4.contains(Cidr.bytesOf("10.15.255.255"))).isTrue();
    assertThat(v4.contains(Cidr.bytesOf("10.16.0.0"))).isFalse();
    assertThat(v4.contains(Cidr.bytesOf("::ffff:10.9.0.1"))).as("IPv4-mapped IPv6 is IPv4").isTrue();
    assertThat(Cidr.parse("192.0.2.1").contains(Cidr.bytesOf("192.0.2.1"))).isTrue();
    assertThat(Cidr.parse("0.0.0.0/0").contains(Cidr.bytesOf("8.8.8.8"))).isTrue();
    Cidr v6 = Cidr.parse("2001:db8::/32");
    assertThat(v6.contains(Cidr.bytesOf("2001:db8:ffff::1"))).isTrue();
    assertThat(v6.contains(Cidr.bytesOf("2001:db9::1"))).isFalse();
    assertThat(v6.contains(Cidr.bytesOf("10.0.0.1"))).isFalse();
    assertThat(v6.toString()).isEqualTo("2001:db8::/32");
  }

  @Test
  void should_refuse_anything_but_an_address_literal_and_a_valid_prefix() {
    assertThatThrownBy(() -> Cidr.parse("proxy.internal/24")).hasMessageContaining("not an IP address");
    assertThatThrownBy(() -> Cidr.parse("10.0.0.0/33")).hasMessageContaining("0-32");
    assertThatThrownBy(() -> Cidr.parse("10.0.0.0/x")).hasMessageContaining("prefix");
    assertThatThrownBy(() -> Cidr.parse("10.0.0.1/8")).hasMessageContaining("did you mean 10.0.0.0/8");
    assertThat(Cidr.bytesOf("localhost")).isNull();
  }
}
