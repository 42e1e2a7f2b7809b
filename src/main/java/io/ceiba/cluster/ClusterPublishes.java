package io.ceiba.cluster;

import io.ceiba.bus.Addresses;
import io.ceiba.node.NodeContext;
import io.ceiba.observability.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster-wide publishes that no subscriber can miss for good. A plain event-bus publish reaches a node only if
 * the sender's cluster manager knows that node's registration, and registrations travel as best-effort entry
 * events: one lost leaves the node deaf to the address, silently, until something re-registers. So a
 * cluster-wide publish ({@link #publish}) goes out once on {@link Addresses#CLUSTER_PUBLISH} carrying its origin,
 * the origin's epoch (one per start) and a sequence number, and each node keeps what it published lately. Every
 * {@link #PULL_INTERVAL} each node asks every peer in its view for what followed the last number it has from it
 * (anti-entropy, a point-to-point request that fails loudly where a publish would fail silently) and delivers what
 * it missed. Receivers hand each message exactly once to the node's own local consumers of its address.
 *
 * <p>Repairs: a message that came by pull and not by push within {@link #PUSH_GRACE} means this node missed the
 * push: it registers its consumers afresh, which every node sees as a new registration. A peer in the view that has not
 * pulled from us for {@link #SILENCE} ({@link #FIRST_PULL} for one that never did) cannot reach our answering
 * consumer: the same re-registration. Both at most once per {@link #RESUBSCRIBE_EVERY}. Messages older than {@link #KEEP_FOR} (or beyond {@link #KEEP_COUNT}) are no longer
 * kept; a peer that missed those is told and logs it.
 */
public final class ClusterPublishes extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterPublishes.class);
  static final Duration PULL_INTERVAL = Duration.ofSeconds(1);
  static final Duration PULL_TIMEOUT = Duration.ofSeconds(2);
  /** A message that came by pull and not by push this long later: the push was lost. */
  static final Duration PUSH_GRACE = Duration.ofSeconds(1);
  /**
   * A peer in the view that has not pulled from us this long cannot reach our answering consumer. Longer than
   * membership's 5 s peer timeout, so a peer that died leaves the view before it counts as silent.
   */
  static final Duration SILENCE = Duration.ofSeconds(10);
  /** Registering afresh at most this often. */
  static final Duration RESUBSCRIBE_EVERY = Duration.ofSeconds(5);
  /**
   * A peer that never pulled since it entered our view: given longer (it may still be starting, or run a version
   * without anti-entropy during a rolling upgrade), so we re-register at most this often for it.
   */
  static final Duration FIRST_PULL = Duration.ofSeconds(30);
  static final Duration KEEP_FOR = Duration.ofMinutes(10);
  static final int KEEP_COUNT = 1000;
  private static final DeliveryOptions LOCAL = new DeliveryOptions().setLocalOnly(true);

  /** One message this node published. */
  private record Sent(long seq, String address, JsonObject body, long publishedNanos) {
  }

  /** What this node has delivered from one origin: every number up to {@code upTo}, and some above it. */
  private static final class Received {
    final String epoch;
    long upTo;
    final TreeSet<Long> above = new TreeSet<>();

    Received(String epoch, long upTo) {
      this.epoch = epoch;
      this.upTo = upTo;
    }

    boolean has(long seq) {
      return seq <= upTo || above.contains(seq);
    }

    void add(long seq) {
      above.add(seq);
      while (above.remove(upTo + 1)) {
        upTo++;
      }
    }
  }

  private final NodeContext node;
  private final String epoch = UUID.randomUUID().toString();
  private final Deque<Sent> sent = new ArrayDeque<>();
  private long seq;
  private final Map<String, Received> origins = new HashMap<>();
  /** Peers (node ids) in our view and when they last pulled from us, or when we first saw them (nanoTime). */
  private final Map<String, Long> lastPulledBy = new HashMap<>();
  /** Peers that pulled from us at least once since they entered our view. */
  private final Set<String> pulledOnce = new HashSet<>();
  private final Set<String> pulling = new HashSet<>();
  /** Messages ({@code origin epoch seq}) that came by pull before any push, and when (nanoTime). */
  private final Map<String, Long> awaitingPush = new HashMap<>();
  private MessageConsumer<JsonObject> pushConsumer;
  private MessageConsumer<JsonObject> answerConsumer;
  private long lastResubscribeNanos = System.nanoTime();
  private long timer = -1;
  private Counter repaired;
  private Counter resubscribed;

  public ClusterPublishes(NodeContext node) {
    this.node = node;
  }

  /**
   * Publishes {@code body} to the local consumers of {@code address} on every node of the cluster (this one
   * included), through the node's {@code ClusterPublishes}; those consumers must be {@code localConsumer}s.
   */
  public static void publish(Vertx vertx, String address, JsonObject body) {
    vertx.eventBus().send(Addresses.CLUSTER_PUBLISH_LOCAL, new JsonObject().put("address", address).put("body", body), LOCAL);
  }

  @Override
  public Future<?> start() {
    repaired = Counter.builder(MetricNames.CLUSTER_PUBLISHES_REPAIRED)
        .description("Cluster-wide messages this node missed when published and got by anti-entropy").register(node.meters());
    resubscribed = Counter.builder(MetricNames.CLUSTER_PUBLISH_RESUBSCRIPTIONS)
        .description("Times this node registered for cluster-wide messages afresh after finding it missed some")
        .register(node.meters());
    List<Future<Void>> registered = new ArrayList<>();
    registered.add(vertx.eventBus().<JsonObject>localConsumer(Addresses.CLUSTER_PUBLISH_LOCAL, msg -> send(msg.body()))
        .completion());
    if (node.clusterManager() != null) {
      registered.add(subscribe());
      timer = vertx.setPeriodic(PULL_INTERVAL.toMillis(), t -> antiEntropy());
    }
    return Future.all(registered);
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return Future.succeededFuture();
  }

  /** Registers both cluster consumers (afresh when they exist), dropping the old ones once the new ones are known. */
  private Future<Void> subscribe() {
    MessageConsumer<JsonObject> oldPush = pushConsumer;
    MessageConsumer<JsonObject> oldAnswer = answerConsumer;
    pushConsumer = vertx.eventBus().consumer(Addresses.CLUSTER_PUBLISH, msg -> onPush(msg.body()));
    answerConsumer = vertx.eventBus().consumer(Addresses.publishesOf(node.nodeId()), this::answer);
    return Future.all(pushConsumer.completion(), answerConsumer.completion()).onComplete(ar -> {
      if (oldPush != null) {
        oldPush.unregister();
        oldAnswer.unregister();
      }
    }).mapEmpty();
  }

  private void resubscribe(String why) {
    long now = System.nanoTime();
    if (now - lastResubscribeNanos < RESUBSCRIBE_EVERY.toNanos()) {
      return;
    }
    lastResubscribeNanos = now;
    resubscribed.increment();
    LOG.warn("{}: registering for cluster-wide messages afresh", why);
    subscribe();
  }

  // ---- publishing --------------------------------------------------------------------------------------------

  private void send(JsonObject request) {
    String address = request.getString("address");
    JsonObject body = request.getJsonObject("body");
    Sent message = new Sent(++seq, address, body, System.nanoTime());
    sent.addLast(message);
    forget();
    deliver(address, body);
    if (node.clusterManager() != null) {
      vertx.eventBus().publish(Addresses.CLUSTER_PUBLISH, envelope(message).put("origin", node.nodeId()).put("epoch", epoch));
    }
  }

  private static JsonObject envelope(Sent message) {
    return new JsonObject().put("seq", message.seq()).put("address", message.address()).put("body", message.body());
  }

  private void forget() {
    long oldest = System.nanoTime() - KEEP_FOR.toNanos();
    while (!sent.isEmpty() && (sent.size() > KEEP_COUNT || sent.peekFirst().publishedNanos() - oldest < 0)) {
      sent.removeFirst();
    }
  }

  private void deliver(String address, JsonObject body) {
    vertx.eventBus().publish(address, body, LOCAL);
  }

  // ---- receiving ---------------------------------------------------------------------------------------------

  private void onPush(JsonObject envelope) {
    try {
      String origin = envelope.getString("origin");
      if (origin == null || origin.equals(node.nodeId())) {
        return;
      }
      Received from = origins.get(origin);
      String theirEpoch = envelope.getString("epoch");
      long number = envelope.getLong("seq");
      if (from == null || !from.epoch.equals(theirEpoch)) {
        // first word from this origin (or from its new start): what came before is for the next pull to tell
        from = new Received(theirEpoch, from == null ? number - 1 : 0);
        origins.put(origin, from);
      }
      awaitingPush.remove(origin + ' ' + theirEpoch + ' ' + number);
      accept(from, number, envelope);
    } catch (RuntimeException e) {
      LOG.warn("ignoring a malformed cluster-wide message: {}", e.getMessage());
    }
  }

  private boolean accept(Received from, long number, JsonObject envelope) {
    if (from.has(number)) {
      return false;
    }
    from.add(number);
    deliver(envelope.getString("address"), envelope.getJsonObject("body"));
    return true;
  }

  /**
   * Answers a peer's pull: {@code {from, epoch, after}} in; our epoch, last number, the oldest we still keep and
   * what we published after {@code after} out (everything we keep when the peer knew an earlier start of ours,
   * nothing on first contact: a new peer starts from now).
   */
  private void answer(Message<JsonObject> request) {
    JsonObject body = request.body();
    String peer = body.getString("from", "");
    if (lastPulledBy.containsKey(peer)) {
      lastPulledBy.put(peer, System.nanoTime());
      pulledOnce.add(peer);
    }
    forget();
    String knownEpoch = body.getString("epoch");
    long after = knownEpoch == null ? seq : epoch.equals(knownEpoch) ? body.getLong("after", 0L) : 0;
    JsonArray missed = new JsonArray();
    for (Sent message : sent) {
      if (message.seq() > after) {
        missed.add(envelope(message));
      }
    }
    request.reply(new JsonObject().put("epoch", epoch).put("seq", seq)
        .put("oldest", sent.isEmpty() ? seq + 1 : sent.peekFirst().seq()).put("messages", missed));
  }

  private void antiEntropy() {
    vertx.eventBus().<JsonArray>request(Addresses.CLUSTER_VIEW, null, new DeliveryOptions(LOCAL).setSendTimeout(1000))
        .onSuccess(view -> {
          Set<String> peers = new HashSet<>();
          for (Object o : view.body()) {
            JsonObject info = (JsonObject) o;
            if (!Boolean.TRUE.equals(info.getBoolean("self"))) {
              peers.add(info.getString("id"));
            }
          }
          long now = System.nanoTime();
          // origins stay known when they leave the view: a peer back from a partition is asked for what we missed
          lastPulledBy.keySet().retainAll(peers);
          pulledOnce.retainAll(peers);
          List<String> silent = new ArrayList<>();
          for (String peer : peers) {
            long silence = (pulledOnce.contains(peer) ? SILENCE : FIRST_PULL).toNanos();
            if (now - lastPulledBy.computeIfAbsent(peer, p -> now) > silence) {
              silent.add(peer);
            }
            pull(peer);
          }
          if (!silent.isEmpty()) {
            resubscribe("no pull for " + SILENCE.toSeconds() + "s from peer(s) " + silent);
          }
          checkPushes();
        });
  }

  /** Asks {@code peer} what it published since the last number we have from it; one pull per peer at a time. */
  private void pull(String peer) {
    if (!pulling.add(peer)) {
      return;
    }
    Received from = origins.get(peer);
    JsonObject request = new JsonObject().put("from", node.nodeId());
    if (from != null) {
      request.put("epoch", from.epoch).put("after", from.upTo);
    }
    vertx.eventBus().<JsonObject>request(Addresses.publishesOf(peer), request, new DeliveryOptions().setSendTimeout(PULL_TIMEOUT.toMillis()))
        .onSuccess(reply -> onPulled(peer, reply.body()))
        .onFailure(e -> LOG.debug("pull from {} failed: {}", peer, e.getMessage()))
        .onComplete(ar -> pulling.remove(peer));
  }

  private void onPulled(String peer, JsonObject reply) {
    String theirEpoch = reply.getString("epoch");
    long last = reply.getLong("seq", 0L);
    Received from = origins.get(peer);
    if (from == null) {
      // first contact: we start from what the peer publishes next
      origins.put(peer, new Received(theirEpoch, last));
      return;
    }
    if (!from.epoch.equals(theirEpoch)) {
      from = new Received(theirEpoch, 0);
      origins.put(peer, from);
    }
    long oldest = reply.getLong("oldest", 1L);
    if (oldest > from.upTo + 1) {
      LOG.warn("cluster-wide messages {}..{} of {} are no longer kept there: missed for good", from.upTo + 1, oldest - 1, peer);
      from.upTo = oldest - 1;
    }
    for (Object o : reply.getJsonArray("messages", new JsonArray())) {
      JsonObject envelope = (JsonObject) o;
      long number = envelope.getLong("seq");
      if (accept(from, number, envelope)) {
        repaired.increment();
        awaitingPush.put(peer + ' ' + theirEpoch + ' ' + number, System.nanoTime());
      }
    }
  }

  /** Pulled messages whose push has not come within {@link #PUSH_GRACE}: this node no longer gets pushes. */
  private void checkPushes() {
    long now = System.nanoTime();
    int missed = 0;
    for (var it = awaitingPush.values().iterator(); it.hasNext(); ) {
      if (now - it.next() > PUSH_GRACE.toNanos()) {
        it.remove();
        missed++;
      }
    }
    if (missed > 0) {
      resubscribe(missed + " cluster-wide message(s) reached us by anti-entropy and never by publish");
    }
  }
}
