package io.ceiba.access.limit;

/** Whose requests a quota counts: a project under one plan (a project's keys share it). */
public record QuotaOwner(String projectId, String plan) {

  @Override
  public String toString() {
    return projectId + "/" + plan;
  }
}
