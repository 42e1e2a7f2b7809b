package io.ceiba.cluster;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;

/**
 * What a node announces about itself to its peers.
 *
 * @param clusterNodeId the cluster manager's id of the node (its JGroups member name), used to drop it when it dies
 * @param edge          how peers reach its edge ({@code edge.advertise})
 * @param control       host:port of its control server
 * @param serving       every role runs and the edge listens: peers may relay to it (false while it starts; absent from
 *                      nodes older than this field, which announced themselves only once they served)
 */
public record NodeInfo(String id, List<String> roles, String edge, String control, long registryVersion,
    Instant upSince, String clusterNodeId, boolean serving) {

  public NodeInfo {
    roles = List.copyOf(roles);
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("id", id)
        .put("roles", new JsonArray(roles))
        .put("edge", edge)
        .put("control", control)
        .put("registry_version", registryVersion)
        .put("up_since", upSince.toString())
        .put("cluster_node_id", clusterNodeId)
        .put("serving", serving);
  }

  public static NodeInfo fromJson(JsonObject json) {
    return new NodeInfo(
        json.getString("id"),
        json.getJsonArray("roles", new JsonArray()).stream().map(String::valueOf).toList(),
        json.getString("edge", ""),
        json.getString("control", ""),
        json.getLong("registry_version", 0L),
        Instant.parse(json.getString("up_since")),
        json.getString("cluster_node_id", ""),
        json.getBoolean("serving", true));
  }

  public NodeInfo withRegistryVersion(long version) {
    return new NodeInfo(id, roles, edge, control, version, upSince, clusterNodeId, serving);
  }

  public NodeInfo asServing() {
    return new NodeInfo(id, roles, edge, control, registryVersion, upSince, clusterNodeId, true);
  }
}
