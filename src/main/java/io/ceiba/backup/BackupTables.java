package io.ceiba.backup;

import java.util.List;

/**
 * The tables a backup holds: everything Ceiba cannot rebuild (plans, projects, subscriptions, key hashes, credit
 * top-ups, audit trail, registry history, usage and its rollups, stored certificates). In an order that satisfies the foreign keys on
 * restore; each with the columns that order its rows, so the same content always gives the same bytes and
 * checksums can be compared after a restore. Flyway's own history is not copied: restore runs the migrations.
 */
final class BackupTables {

  record Table(String name, String orderBy) {
  }

  static final List<Table> ALL = List.of(
      new Table("plans", "name"),
      new Table("projects", "id"),
      new Table("subscriptions", "id"),
      new Table("api_keys", "id"),
      new Table("credit_topups", "id"),
      new Table("audit_log", "id"),
      new Table("registry_history", "version"),
      new Table("usage_events", "request_id"),
      new Table("usage_rollups", "project_id, service, hour"),
      new Table("usage_plan_rollups", "project_id, plan, hour"),
      new Table("usage_class_rollups", "project_id, service, route_class, hour"),
      new Table("usage_rollup_state", "id"),
      new Table("usage_dead_letters", "id"),
      // stored TLS certificates, keys sealed: a restore needs the same cluster credentials to open them
      new Table("certificates", "name"));

  /** Tables with a bigserial id whose sequence must be moved past the restored rows. */
  static final List<String> SERIAL_IDS = List.of("audit_log", "usage_dead_letters", "credit_topups");

  private BackupTables() {
  }
}
