package dev.vigil.governor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.time.ManualTicker;
import java.time.Duration;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;

/**
 * {@link KeyedRateLimiter} as jqwik properties in virtual time: random key caps (1 to 30: below and
 * above the 16 soonest-idle keys a sweep at the cap remembers), eviction intervals, one limit per key,
 * and random sequences of time steps, {@code tryAcquire(key, n)} over 40 keys, and {@code evictIdle()}.
 *
 * <p><b>The model</b> needs no eviction: an idle key (a full bucket) behaves exactly like a key never
 * seen, so each key is an independent token bucket (credit in nanoseconds, as in
 * {@link RateLimiterProperties}) that never forgets. Memory shows in one rule only: a key is
 * <em>busy</em> while its credit is below the cap, a busy key is always tracked, and a call for a key
 * that is not busy is refused as a new key exactly when at least {@code maxKeys} other keys are busy.
 * Checked after every step: the answer, which kind of refusal it was (a new-key refusal counted by
 * {@code rejectedNewKeyCount()}), {@code keyCount()} never above the cap and never below the busy
 * keys, and {@code nanosUntilAvailable} for the key (for a new key at the cap: positive and no later
 * than the first busy key can go idle).
 */
class KeyedRateLimiterProperties {
    private static final int KEYS = 40;

    /** kind 0: advance {@code nanos}; 1: tryAcquire(key, n); 2: evictIdle(). */
    record Op(int kind, int key, int n, long nanos) {}

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> advance = Arbitraries.longs().between(0, 100_000_000L).map(nanos -> new Op(0, 0, 0, nanos));
        Arbitrary<Op> acquire = Combinators.combine(Arbitraries.integers().between(0, KEYS - 1), Arbitraries.integers().between(1, 2))
                .as((key, n) -> new Op(1, key, n, 0));
        Arbitrary<Op> evict = Arbitraries.just(new Op(2, 0, 0, 0));
        return Arbitraries.frequencyOf(Tuple.of(3, advance), Tuple.of(10, acquire), Tuple.of(1, evict)).list().ofMinSize(1).ofMaxSize(300);
    }

    @Property(tries = 500, seed = "20261124")
    void boundedKeysAndExactPerKeyLimits(@ForAll @IntRange(min = 1, max = 30) int maxKeys,
                                          @ForAll @IntRange(min = 1, max = 20) int permits,
                                          @ForAll @IntRange(min = 2, max = 5) int burst,
                                          @ForAll @IntRange(min = 1, max = 1_000) int evictionMs,
                                          @ForAll("ops") List<Op> ops) {
        ManualTicker ticker = new ManualTicker();
        long period = 1_000_000_000L;
        KeyedRateLimiter<Integer> limiter = KeyedRateLimiter.<Integer>builder().ticker(ticker).maxKeys(maxKeys)
                .evictionInterval(Duration.ofMillis(evictionMs))
                .limit(permits, Duration.ofNanos(period), burst).build();
        long interval = period / permits + (period % permits == 0 ? 0 : 1);
        long capacity = burst * interval;
        long[] credit = new long[KEYS];
        java.util.Arrays.fill(credit, capacity);
        long newKeyRefusals = 0;
        long refusals = 0;
        int step = 0;
        for (Op op : ops) {
            step++;
            if (op.kind() == 0) {
                ticker.advanceNanos(op.nanos());
                for (int k = 0; k < KEYS; k++) {
                    credit[k] = Math.min(capacity, credit[k] + op.nanos());
                }
            } else if (op.kind() == 2) {
                limiter.evictIdle();
            } else {
                int key = op.key();
                long cost = op.n() * interval;
                int otherBusy = 0;
                for (int k = 0; k < KEYS; k++) {
                    otherBusy += k != key && credit[k] < capacity ? 1 : 0;
                }
                boolean newKeyRefused = credit[key] == capacity && otherBusy >= maxKeys;
                boolean admit = !newKeyRefused && cost <= credit[key];
                if (admit) {
                    credit[key] -= cost;
                } else {
                    refusals++;
                    newKeyRefusals += newKeyRefused ? 1 : 0;
                }
                assertEquals(admit, limiter.tryAcquire(key, op.n()), "step " + step + ": tryAcquire(" + key + ", " + op.n() + ")");
                assertEquals(newKeyRefusals, limiter.rejectedNewKeyCount(), "step " + step + ": new-key refusals");
                assertEquals(refusals, limiter.rejectedCount(), "step " + step + ": refusals");
                long until = limiter.nanosUntilAvailable(key, op.n());
                if (!newKeyRefused) {
                    assertEquals(Math.max(0, cost - credit[key]), until, "step " + step + ": nanosUntilAvailable(" + key + ")");
                } else {
                    // Until the first busy key can be idle (a sweep's answer, which later calls only shorten).
                    long firstIdle = Long.MAX_VALUE;
                    for (int k = 0; k < KEYS; k++) {
                        firstIdle = credit[k] < capacity ? Math.min(firstIdle, capacity - credit[k]) : firstIdle;
                    }
                    final long bound = firstIdle;
                    assertTrue(until > 0 && until <= bound, () -> "retry-after of a new key at the cap " + until + " not in (0, " + bound + "]");
                }
            }
            int busy = 0;
            for (int k = 0; k < KEYS; k++) {
                busy += credit[k] < capacity ? 1 : 0;
            }
            int tracked = limiter.keyCount();
            final int stepNo = step;
            final int busyKeys = busy;
            assertTrue(tracked <= maxKeys, () -> "step " + stepNo + ": " + tracked + " keys > cap " + maxKeys);
            assertTrue(tracked >= busyKeys, () -> "step " + stepNo + ": " + tracked + " keys < " + busyKeys + " busy ones");
        }
        // At rest every bucket refills, and one sweep forgets every key.
        ticker.advanceNanos(capacity + 1);
        limiter.evictIdle();
        assertEquals(0, limiter.keyCount(), "every key idle and evicted");
    }
}
