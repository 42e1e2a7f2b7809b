package io.ceiba.listener;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The request-head deadline of one HTTP/1 connection: once the first byte of a request head has arrived, the
 * whole head must follow within the deadline, or the connection is closed. The idle timeout cannot do this: a
 * client sending one header byte a second (slowloris) is never idle.
 *
 * <p>Two handlers around Vert.x's request decoder ({@code httpDecoder}): the one before it sees bytes arrive, the
 * one after it sees a head decoded and a request's end. A head that arrives whole in one read (the usual case)
 * schedules no timer. Both handlers run on the connection's event loop; the state is theirs alone. Once the
 * decoder leaves the pipeline (WebSocket upgrade) there are no more heads and the handlers step aside.
 */
final class HeadDeadline {

  static final String DECODER = "httpDecoder";

  private final long timeoutNanos;
  private final Runnable onExpiry;
  /** When the first byte of the head being read arrived; 0 while no head is being read. */
  private long headStarted;
  /** Between a decoded head and the end of its body: bytes now are body, not head. */
  private boolean inRequest;
  private ScheduledFuture<?> timer;

  private HeadDeadline(long timeoutNanos, Runnable onExpiry) {
    this.timeoutNanos = timeoutNanos;
    this.onExpiry = onExpiry;
  }

  /** Installs the deadline on an HTTP/1 connection's pipeline; false (nothing done) when it has no request decoder. */
  static boolean install(ChannelPipeline pipeline, long timeoutNanos, Runnable onExpiry) {
    if (pipeline.get(DECODER) == null) {
      return false;
    }
    HeadDeadline deadline = new HeadDeadline(timeoutNanos, onExpiry);
    pipeline.addBefore(DECODER, "ceibaHeadBytes", deadline.new BytesIn());
    pipeline.addAfter(DECODER, "ceibaHeadDecoded", deadline.new Decoded());
    return true;
  }

  private final class BytesIn extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (ctx.pipeline().get(DECODER) == null) {
        ctx.fireChannelRead(msg);
        stepAside(ctx.pipeline());
        return;
      }
      if (!inRequest && headStarted == 0 && msg instanceof ByteBuf bytes && bytes.isReadable()) {
        headStarted = System.nanoTime();
      }
      ctx.fireChannelRead(msg); // the decoder runs now; a whole head resets headStarted before this returns
      if (headStarted != 0 && timer == null) {
        long left = timeoutNanos - (System.nanoTime() - headStarted);
        timer = ctx.executor().schedule(() -> expire(ctx), Math.max(0, left), TimeUnit.NANOSECONDS);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      cancel();
      ctx.fireChannelInactive();
    }
  }

  private final class Decoded extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest) {
        headStarted = 0;
        inRequest = true;
        cancel();
      }
      if (msg instanceof LastHttpContent) {
        inRequest = false;
      }
      ctx.fireChannelRead(msg);
    }
  }

  private void expire(ChannelHandlerContext ctx) {
    timer = null;
    if (headStarted != 0 && ctx.channel().isActive()) {
      onExpiry.run();
      ctx.close();
    }
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void stepAside(ChannelPipeline pipeline) {
    cancel();
    headStarted = 0;
    pipeline.remove("ceibaHeadBytes");
    pipeline.remove("ceibaHeadDecoded");
  }
}
