package io.ceiba.store.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Reading the postgres binary out of {@code postmaster.opts}, the file a restart trusts for its command line. */
class PostmasterRestartTest {

  @Test
  void should_take_the_quoted_binary_postgresql_writes() throws Exception {
    String opts = "/tmp/embedded-pg/PG-1/bin/postgres \"-D\" \"/var/lib/ceiba/postgres\" \"-p\" \"5433\" \"-F\"\n";
    assertThat(PostmasterRestart.postgresBinary(opts)).isEqualTo(Path.of("/tmp/embedded-pg/PG-1/bin/postgres"));
    assertThat(PostmasterRestart.postgresBinary("\"/opt/pg dir/bin/postgres\" \"-D\" \"x\""))
        .isEqualTo(Path.of("/opt/pg dir/bin/postgres"));
  }

  @Test
  void should_refuse_a_file_that_names_something_else() {
    for (String opts : new String[] {"", "   ", "\"", "\"\"", "/bin/sh -c evil", "\"/usr/bin/python3\" x", "postgresx"}) {
      assertThatThrownBy(() -> PostmasterRestart.postgresBinary(opts)).as(opts).isInstanceOf(IOException.class);
    }
  }
}
