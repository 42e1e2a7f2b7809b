package io.ceiba.registry;

import java.util.List;

/**
 * Who may call a service and what happens when authorization cannot answer.
 *
 * @param plans plans that grant access when {@code policy} is {@code PLAN}
 */
public record AccessSpec(Policy policy, List<String> plans, OnUnavailable onUnavailable) {

  public static final AccessSpec PUBLIC = new AccessSpec(Policy.PUBLIC, List.of(), OnUnavailable.FAIL_CLOSED);

  public AccessSpec {
    plans = List.copyOf(plans);
  }

  /** {@code public}: no key; {@code api-key}: any valid key; {@code plan}: a key whose project holds one of {@code plans}. */
  public enum Policy {
    PUBLIC("public"),
    API_KEY("api-key"),
    PLAN("plan");

    private final String yamlName;

    Policy(String yamlName) {
      this.yamlName = yamlName;
    }

    public String yamlName() {
      return yamlName;
    }
  }

  /** What the edge does when no authorization decision can be had. */
  public enum OnUnavailable {
    FAIL_CLOSED("fail-closed"),
    FAIL_OPEN("fail-open");

    private final String yamlName;

    OnUnavailable(String yamlName) {
      this.yamlName = yamlName;
    }

    public String yamlName() {
      return yamlName;
    }
  }
}
