package dev.vigil.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;

/**
 * gRPC-style retry throttling ({@link RetryBudget#tokenBucket()}).
 *
 * <p>Algorithm: one {@code long} holds the token count in thousandths of a token (gRPC keeps three
 * decimal places too), in [0, max]. A failure subtracts 1000 and a success adds the ratio, both by CAS
 * and clamped to the range; a retry is allowed while the count is above half of max. A retry does not
 * itself take a token: the failure before it already did. Every update is a single CAS on that word,
 * so each operation is linearizable at its successful CAS (or at its read, for the read-only paths).
 *
 * <p>Why retries and hedges stay within the bound {@code tokenRatio * calls + maxTokens / 2}: a retry
 * happens only when the failure before it left the count above half, so that failure took one whole
 * token from the upper half of the bucket; a hedge takes one whole token itself, only if the count
 * stays at or above half after it. The upper half starts with {@code maxTokens / 2} tokens and gains
 * only {@code tokenRatio} per success (at most one success per call).
 *
 * <p>A healthy system keeps the bucket full; a success then only reads the word (no write, so threads
 * do not fight over its cache line). The word is padded on both sides against false sharing with the
 * read-mostly fields.
 */
final class TokenBucketBudget extends TokenBucketFields {
    private static final long UNIT = 1000L;

    private final String name;
    private final long max;
    private final long threshold;
    private final long ratio;
    private final LongAdder denied = new LongAdder();

    TokenBucketBudget(String name, int maxTokens, double tokenRatio) {
        this.name = name;
        this.max = maxTokens * UNIT;
        this.threshold = max / 2;
        this.ratio = Math.max(1L, Math.round(tokenRatio * UNIT));
        initTokens(max);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void onCall() {
        // Calls earn nothing here: successes do.
    }

    @Override
    public void onSuccess() {
        long current = tokensVolatile();
        while (current < max) {
            long next = Math.min(max, current + ratio);
            long witness = casTokens(current, next);
            if (witness == current) {
                return;
            }
            current = witness;
        }
    }

    @Override
    public void onFailure() {
        long current = tokensVolatile();
        while (current > 0) {
            long next = Math.max(0L, current - UNIT);
            long witness = casTokens(current, next);
            if (witness == current) {
                return;
            }
            current = witness;
        }
    }

    @Override
    public boolean tryAcquireRetry() {
        if (tokensVolatile() > threshold) {
            return true;
        }
        denied.increment();
        return false;
    }

    /**
     * Takes a whole token for the hedge, and only from above the half: a hedge has no failure before
     * it to pay, and taking exactly one token from the upper half keeps the documented bound.
     */
    @Override
    public boolean tryAcquireHedge() {
        long current = tokensVolatile();
        while (current - UNIT >= threshold) {
            long witness = casTokens(current, current - UNIT);
            if (witness == current) {
                return true;
            }
            current = witness;
        }
        denied.increment();
        return false;
    }

    @Override
    public long available() {
        long above = tokensVolatile() - threshold;
        return above <= 0 ? 0 : (above + UNIT - 1) / UNIT;
    }

    @Override
    public long deniedCount() {
        return denied.sum();
    }

    /** @return the tokens now, for tests and {@link #toString()} */
    double tokens() {
        return tokensVolatile() / (double) UNIT;
    }

    @Override
    public String toString() {
        return "RetryBudget[" + name + ", token bucket, tokens=" + tokens() + " of " + max / UNIT
                + ", ratio=" + ratio / (double) UNIT + "]";
    }
}

/** Cache-line padding before the token word. */
abstract class TokenBucketPadLeft implements RetryBudget {
    long p01, p02, p03, p04, p05, p06, p07, p08;
}

/** The token word, between two pads. */
abstract class TokenBucketWord extends TokenBucketPadLeft {
    private static final VarHandle TOKENS;

    static {
        try {
            TOKENS = MethodHandles.lookup().findVarHandle(TokenBucketWord.class, "tokens", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // accessed through TOKENS
    private volatile long tokens;

    /** Set once in the constructor; the object is published by the final fields' freeze or by safe publication of the budget. */
    final void initTokens(long value) {
        TOKENS.setVolatile(this, value);
    }

    final long tokensVolatile() {
        return (long) TOKENS.getVolatile(this);
    }

    /** @return the witness value: {@code expected} if the CAS succeeded */
    final long casTokens(long expected, long next) {
        return (long) TOKENS.compareAndExchange(this, expected, next);
    }
}

/** Cache-line padding after the token word; the budget's own fields follow in the subclass. */
abstract class TokenBucketFields extends TokenBucketWord {
    long p11, p12, p13, p14, p15, p16, p17, p18;
}
