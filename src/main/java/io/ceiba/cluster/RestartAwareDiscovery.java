package io.ceiba.cluster;

import java.util.function.BiConsumer;
import org.jgroups.Address;
import org.jgroups.PhysicalAddress;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.TCPPING;

/**
 * TCPPING that also reports who asks: a discovery request comes from a node that starts (or from a member checking
 * for partitions to merge). A node that starts again after a crash asks from the host:port of its dead incarnation,
 * which may still be in the view, even as its coordinator; {@link CeibaClusterManager} drops that incarnation then,
 * before the newcomer's join has to wait for the failure detector. Same wire format as TCPPING: its protocol id.
 */
final class RestartAwareDiscovery extends TCPPING {

  private volatile BiConsumer<Address, PhysicalAddress> onRequest = (sender, physical) -> { };

  RestartAwareDiscovery() {
    setId(ClassConfigurator.getProtocolId(TCPPING.class));
  }

  /** {@code listener} gets each request's sender and its host:port, on a JGroups thread: it must not block. */
  void onDiscoveryRequest(BiConsumer<Address, PhysicalAddress> listener) {
    onRequest = listener;
  }

  @Override
  public void discoveryRequestReceived(Address sender, String logicalName, PhysicalAddress physicalAddress) {
    super.discoveryRequestReceived(sender, logicalName, physicalAddress);
    if (sender != null && physicalAddress != null) {
      onRequest.accept(sender, physicalAddress);
    }
  }
}
