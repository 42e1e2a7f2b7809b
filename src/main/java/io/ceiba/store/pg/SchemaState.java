package io.ceiba.store.pg;

/**
 * Where the database schema stands against what this jar needs.
 *
 * @param error why the state could not be read (Postgres unreachable…), or null
 */
public record SchemaState(int current, int expected, String error) {

  public boolean ready() {
    return error == null && current >= expected;
  }
}
