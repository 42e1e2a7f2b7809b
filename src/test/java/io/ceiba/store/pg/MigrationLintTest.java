package io.ceiba.store.pg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Migrations stay expand-then-contract across one release (see {@link MigrationLint}). */
class MigrationLintTest {

  static final Path MIGRATIONS = Path.of("src/main/resources/db/migration");

  @TempDir
  Path dir;

  @Test
  void the_shipped_migrations_take_no_contract_step_the_previous_release_would_trip_on() {
    assertThat(MigrationLint.check(MIGRATIONS, PreviousRelease.releasedUpTo())).isEmpty();
  }

  @Test
  void would_have_stopped_the_two_contract_steps_made_before_the_rule() {
    // V4 dropped usage_events.rolled_up (and its index) and V6 changed request_id's type in the release that stopped
    // using them: a rollback to the release before would have failed on its inserts
    assertThat(MigrationLint.check(MIGRATIONS, List.of(3)))
        .anySatisfy(p -> assertThat(p).startsWith("V4__usage_rollup_watermark.sql: `drop index usage_events_unrolled` drops an index"))
        .anySatisfy(p -> assertThat(p).startsWith("V4__usage_rollup_watermark.sql: `alter table usage_events drop column rolled_up`"))
        .anySatisfy(p -> assertThat(p).startsWith("V6__usage_request_id_bytewise.sql: `alter table usage_events alter column request_id type"))
        .hasSize(3);
  }

  private List<String> lint(String... files) throws IOException {
    for (Path old : MigrationLint.migrations(dir).values()) {
      Files.delete(old);
    }
    Files.writeString(dir.resolve("V1__base.sql"), """
        create table plans (name text primary key, rate integer);
        create table usage_events (request_id text primary key, plan text, bytes bigint);
        create index usage_events_plan on usage_events (plan);
        """);
    for (int i = 0; i < files.length; i++) {
      Files.writeString(dir.resolve("V" + (i + 2) + "__step.sql"), files[i]);
    }
    return MigrationLint.check(dir, List.of(1, 2));
  }

  @Test
  void should_refuse_every_kind_of_contract_step_without_its_marks() throws IOException {
    assertThat(lint("select 1;", """
        -- a comment that says drop table plans; is not a statement
        alter table usage_events drop column bytes;
        ALTER TABLE public.usage_events RENAME COLUMN plan TO plan_name;
        alter table plans alter column rate type bigint, alter column rate set not null;
        alter table plans add column tier text not null;
        alter table plans alter column rate drop default;
        drop index usage_events_plan;
        drop table plans;
        insert into plans values ('drop table usage_events;', 1);
        """)).containsExactly(
        "V3__step.sql: `alter table usage_events drop column bytes` drops a column (usage_events.bytes): the previous release"
            + " may still use it. Deprecate it first (`-- deprecates: usage_events.bytes` in a migration that ships a release"
            + " earlier, with the code no longer using it), then mark this one `-- contract: usage_events.bytes`",
        problem("alter table public.usage_events rename column plan to plan_name", "renames a column", "usage_events.plan"),
        problem("alter table plans alter column rate type bigint, alter column rate set not null", "changes a column's type", "plans.rate"),
        problem("alter table plans alter column rate type bigint, alter column rate set not null", "makes an existing column NOT NULL",
            "plans.rate"),
        "V3__step.sql: `alter table plans add column tier text not null` adds a NOT NULL column without a default to an"
            + " existing table: the previous release's inserts would fail. Add it nullable or with a default; make it NOT NULL"
            + " in a later release (a contract step)",
        problem("alter table plans alter column rate drop default", "drops a column's default", "plans.rate"),
        problem("drop index usage_events_plan", "drops an index", "usage_events_plan"),
        problem("drop table plans", "drops a table", "plans"));
  }

  private static String problem(String statement, String what, String object) {
    return "V3__step.sql: `" + statement + "` " + what + " (" + object + "): the previous release may still use it. Deprecate"
        + " it first (`-- deprecates: " + object + "` in a migration that ships a release earlier, with the code no longer"
        + " using it), then mark this one `-- contract: " + object + "`";
  }

  @Test
  void should_let_expand_steps_and_new_tables_through() throws IOException {
    assertThat(lint("""
        alter table usage_events add column node text, add column seq bigint generated always as identity;
        alter table plans add column tier text not null default 'basic';
        alter table plans alter column rate drop not null;
        create table quotas (plan text not null, n bigint not null);
        alter table quotas alter column n type numeric, drop column plan;
        create index usage_events_node on usage_events (node);
        """)).isEmpty();
  }

  @Test
  void should_allow_a_contract_step_only_a_release_after_its_deprecation() throws IOException {
    // V2 (released: the list says releases went up to V1 and V2) deprecates; V3 contracts
    assertThat(lint("-- deprecates: usage_events.bytes\nselect 1;", """
        -- contract: usage_events.bytes
        alter table usage_events drop column bytes;
        """)).isEmpty();
    // deprecated in V3, which no release shipped: V4 must wait
    assertThat(lint("select 1;", "-- deprecates: plans\nselect 1;", "-- contract: plans\ndrop table plans;")).containsExactly(
        "V4__step.sql: plans is deprecated in V3, which no recorded release has shipped yet (the last one goes up to V2): the"
            + " contract step must wait for the next release");
    // marked as a contract of something nobody deprecated
    assertThat(lint("-- contract: plans\ndrop table plans;")).containsExactly(
        "V2__step.sql: `-- contract: plans` but no earlier migration says `-- deprecates: plans`");
  }
}
