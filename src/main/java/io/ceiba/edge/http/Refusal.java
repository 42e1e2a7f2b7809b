package io.ceiba.edge.http;

import io.ceiba.error.ErrorCode;

/**
 * Why a request head is refused before routing. Every refusal closes its connection and serves nothing
 * pipelined behind it: after a head the edge would not forward, the bytes that follow cannot be trusted to
 * start a request.
 */
public record Refusal(ErrorCode code, String message) {
}
