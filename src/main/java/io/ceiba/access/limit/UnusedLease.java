package io.ceiba.access.limit;

import io.ceiba.access.Plan;

/**
 * What a node leased from Redis and did not admit before the lease lapsed: given back with {@code redis/give.lua}.
 *
 * @param bucketKey  the limiter bucket (its rate bucket in Redis is named after it)
 * @param quotaKey   the quota counter of the period the lease was taken in, or null without a quota
 * @param generation that counter's generation when the lease was taken ({@code ""}: none), or null without a quota
 * @param rate       the rate limit the lease also took tokens from, or null
 * @param requests   how many requests of the lease were not admitted
 */
record UnusedLease(String bucketKey, String quotaKey, String generation, Plan.RateLimit rate, long requests) {
}
