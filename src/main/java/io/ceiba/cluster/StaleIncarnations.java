package io.ceiba.cluster;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the earlier incarnations of restarted nodes in a cluster view. A member is named {@code <node id>-<8 hex>},
 * fresh per start ({@link CeibaClusterManager#create}), and node ids are unique in a cluster: when two members carry
 * the same node id, the one that joined first is a process that crashed (kill -9, power loss) before the failure
 * detector noticed, and its node has started again. Left in the view, it holds up the newcomer's state transfer and
 * the rebalance that follows when it is finally dropped, seconds later.
 */
final class StaleIncarnations {

  private StaleIncarnations() {
  }

  /** The node id in a member name, or null for a name not of the form {@code <node id>-<suffix>}. */
  static String nodeIdOf(String memberName) {
    if (memberName == null) {
      return null;
    }
    int dash = memberName.lastIndexOf('-');
    return dash <= 0 ? null : memberName.substring(0, dash);
  }

  /**
   * The members to suspect: for each node id that more than one member carries, every member but the one that
   * joined last. {@code memberNames} in view order, which is join order (JGroups appends joiners).
   */
  static List<String> in(List<String> memberNames) {
    Map<String, String> newestByNode = new HashMap<>();
    for (String name : memberNames) {
      String nodeId = nodeIdOf(name);
      if (nodeId != null) {
        newestByNode.put(nodeId, name);
      }
    }
    List<String> stale = new ArrayList<>();
    for (String name : memberNames) {
      String nodeId = nodeIdOf(name);
      if (nodeId != null && !name.equals(newestByNode.get(nodeId))) {
        stale.add(name);
      }
    }
    return stale;
  }
}
