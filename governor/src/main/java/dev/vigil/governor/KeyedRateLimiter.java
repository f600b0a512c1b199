package dev.vigil.governor;

import dev.vigil.core.RateLimitedException;
import dev.vigil.core.event.EventPublisher;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.event.PolicyEventListener;
import dev.vigil.core.internal.Checks;
import dev.vigil.core.time.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * One rate limit per key (tenant, client address, API key) with bounded memory.
 *
 * <pre>{@code
 * KeyedRateLimiter<String> perClient = KeyedRateLimiter.<String>builder()
 *         .name("per-client")
 *         .limit(20, Duration.ofSeconds(1))      // each client: 20 a second, bursts of 20
 *         .maxKeys(50_000)                       // never more than 50,000 clients tracked
 *         .build();
 * if (!perClient.tryAcquire(clientIp)) {
 *     return tooManyRequests(perClient.nanosUntilAvailable(clientIp, 1));
 * }
 * }</pre>
 *
 * <p>Each key has the same limits, run by the same algorithm as {@link RateLimiter} (GCRA, one CAS
 * per limit, one clock read, no lock); a call for a key already tracked allocates nothing when the
 * key's {@code hashCode} and {@code equals} do not (strings cache their hash).
 *
 * <p><b>Memory.</b> A key whose bucket has refilled completely is <em>idle</em>: its state is then
 * exactly that of a key never seen, so dropping it changes no decision. Idle keys are evicted by a
 * sweep that runs on the path of a new key at most once per {@link Builder#evictionInterval eviction
 * interval} (no background thread), whenever the key count reaches {@link Builder#maxKeys maxKeys}, and
 * on {@link #evictIdle()}. The key count never exceeds {@code maxKeys}: when every tracked key is busy,
 * a call for a new key is refused (as rate-limited, with the time until the first key goes idle as
 * its retry-after) instead of forgetting a busy key, which would let it start over with a full burst.
 * So a flood of distinct keys holds at most {@code maxKeys} entries, and after a failed sweep the next
 * one waits until some key can be idle, so the flood cannot make every call sweep.
 *
 * <p><b>Consistency.</b> An eviction marks the key's state dead with a CAS from the idle value, so a
 * call that raced with it either landed first (and the eviction fails) or sees the mark and looks the
 * key up again: no call is counted against a forgotten state. Reserving a slot for a new key comes
 * before its entry is published, so while a new key is being inserted at the cap, a concurrent call
 * for the same key may be refused as "no room for new keys" (a refusal, never an over-admission).
 *
 * <p><b>Thread-safety.</b> Thread-safe and lock-free (the map is a {@link ConcurrentHashMap}); keys
 * must be immutable in their {@code equals}/{@code hashCode}. <b>Exceptions.</b> The builder throws
 * {@link IllegalArgumentException} naming the parameter and its range; calls throw it for a null key
 * or permits outside [1, smallest burst].
 *
 * @param <K> the key type
 */
public final class KeyedRateLimiter<K> {
    private final String name;
    private final Gcra gcra;
    private final Ticker ticker;
    private final int maxKeys;
    private final long evictionIntervalNanos;
    private final long maxPermits;
    private final String limitsText;
    private final EventPublisher events;
    /** Key to the cells of its limits (one {@code long} per limit, stride 1: entries are many and small). */
    private final ConcurrentHashMap<K, long[]> states = new ConcurrentHashMap<>();
    /** Slots taken: reserved before an entry is published, freed after it is removed; never above maxKeys. */
    private final AtomicInteger keys = new AtomicInteger();
    /** Ticker reading of the last time-driven sweep. */
    private final AtomicLong lastSweep;
    /**
     * After a sweep at the cap freed nothing: the earliest moment a tracked key can be idle. New keys
     * before it are refused without sweeping again. Volatile: written by the sweeper, read by callers.
     */
    private volatile long nextIdleAt;
    private volatile boolean full;
    private final LongAdder rejected = new LongAdder();
    private final LongAdder rejectedNewKeys = new LongAdder();

    private KeyedRateLimiter(Builder<K> builder) {
        this.name = builder.name;
        this.gcra = builder.limits.build();
        this.ticker = builder.ticker;
        this.maxKeys = builder.maxKeys;
        this.evictionIntervalNanos = builder.evictionIntervalNanos;
        this.maxPermits = builder.limits.minBurst();
        this.limitsText = builder.limits.describe();
        this.events = EventPublisher.of(builder.listeners);
        this.lastSweep = new AtomicLong(ticker.read());
    }

    /**
     * @param <K> the key type
     * @return a builder; at least one {@link Builder#limit} is required
     */
    public static <K> Builder<K> builder() {
        return new Builder<>();
    }

    /** @return the limiter's name */
    public String name() {
        return name;
    }

    /**
     * Takes one permit for {@code key} if its limits have one now.
     *
     * @param key the key, not null
     * @return true if taken
     * @throws IllegalArgumentException if {@code key} is null
     */
    public boolean tryAcquire(K key) {
        return tryAcquire(key, 1);
    }

    /**
     * Takes {@code permits} at once for {@code key} if its limits have them now; otherwise takes nothing.
     *
     * @param key     the key, not null
     * @param permits how many, 1 to the smallest burst
     * @return true if taken; false if the key is over its rate, or is new and every one of
     *     {@code maxKeys} tracked keys is busy
     * @throws IllegalArgumentException if {@code key} is null or {@code permits} out of range
     */
    public boolean tryAcquire(K key, int permits) {
        return reserve(key, permits, 0L) >= 0;
    }

    /**
     * Reserves {@code permits} for {@code key} if they can be had within {@code maxWait}, without
     * waiting: the caller waits the returned time before acting.
     *
     * @param key     the key, not null
     * @param permits how many, 1 to the smallest burst
     * @param maxWait the longest acceptable wait, not negative
     * @return the nanoseconds to wait (0: now), or -1 if nothing was reserved
     * @throws IllegalArgumentException if an argument is null or out of range
     */
    public long reserve(K key, int permits, Duration maxWait) {
        return reserve(key, permits, Checks.nonNegativeUpToMaxNanos(maxWait, "maxWait"));
    }

    private long reserve(K key, int permits, long maxWaitNanos) {
        Checks.notNull(key, "key");
        checkPermits(permits);
        long now = ticker.read();
        for (;;) {
            long[] cells = states.get(key);
            if (cells == null) {
                cells = insert(key, now);
                if (cells == null) {
                    refusedNewKey(now);
                    return -1L;
                }
            }
            long result = gcra.reserve(cells, 0, 1, permits, now, maxWaitNanos, 1.0, null);
            if (result == Gcra.EVICTED) {
                states.remove(key, cells); // help the evictor; then look again
                continue;
            }
            if (result >= 0) {
                return result;
            }
            rejected.increment();
            if (events.isEnabled()) {
                events.publish(new PolicyEvent.Rejected(name, "ratelimiter", now, "rate limit reached for a key (" + limitsText + ")", ~result));
            }
            return -1L;
        }
    }

    /**
     * @param key     the key, not null
     * @param permits how many, 1 to the smallest burst
     * @return the nanoseconds until {@code permits} would be granted for {@code key} (0: now; an
     *     untracked key is granted now unless the key cap is reached); reads the clock, takes nothing
     * @throws IllegalArgumentException if {@code key} is null or {@code permits} out of range
     */
    public long nanosUntilAvailable(K key, int permits) {
        Checks.notNull(key, "key");
        checkPermits(permits);
        long now = ticker.read();
        long[] cells = states.get(key);
        if (cells != null && (long) Gcra.CELLS.getAcquire(cells, 0) != Gcra.DEAD) {
            return gcra.waitFor(cells, 0, 1, permits, now, 1.0);
        }
        return full && keys.get() >= maxKeys && now - nextIdleAt < 0 ? nextIdleAt - now : 0L;
    }

    /**
     * Describes why {@code key} was refused, with the retry-after; allocates.
     *
     * @param key the key, not null
     * @return a new stackless exception
     * @throws IllegalArgumentException if {@code key} is null
     */
    public RateLimitedException rejection(K key) {
        long retryAfter = nanosUntilAvailable(key, 1);
        return new RateLimitedException(name, "rate limiter '" + name + "' has no permit now for this key (" + limitsText
                + ", at most " + maxKeys + " keys); next in " + Duration.ofNanos(retryAfter), retryAfter);
    }

    /**
     * Evicts every idle key now (a key whose bucket is full, so forgetting it changes nothing).
     *
     * @return how many keys were evicted
     */
    public int evictIdle() {
        return sweep(ticker.read());
    }

    /** @return the keys tracked now (including slots being filled by concurrent new keys) */
    public int keyCount() {
        return keys.get();
    }

    /** @return the most keys ever tracked at once */
    public int maxKeys() {
        return maxKeys;
    }

    /** @return calls refused so far, for a key over its rate or for a new key at the cap */
    public long rejectedCount() {
        return rejected.sum() + rejectedNewKeys.sum();
    }

    /** @return calls for new keys refused so far because every tracked key was busy at the cap */
    public long rejectedNewKeyCount() {
        return rejectedNewKeys.sum();
    }

    @Override
    public String toString() {
        return "KeyedRateLimiter[" + name + ", " + limitsText + ", maxKeys=" + maxKeys + ", keys=" + keys.get() + "]";
    }

    private void checkPermits(int permits) {
        if (permits < 1 || permits > maxPermits) {
            throw new IllegalArgumentException("permits must be in [1, " + maxPermits + "] (the smallest burst), was " + permits);
        }
    }

    /** Tracks a new key: a slot first (sweeping at the cap), then the entry. Null if no slot. */
    private long[] insert(K key, long now) {
        long last = lastSweep.get();
        if (now - last >= evictionIntervalNanos && lastSweep.compareAndSet(last, now)) {
            sweep(now);
        }
        for (;;) {
            int taken = keys.get();
            if (taken >= maxKeys) {
                if (full && now - nextIdleAt < 0) {
                    return null; // the last sweep found every key busy until then
                }
                if (sweepAtCap(now) == 0) {
                    return null;
                }
                continue;
            }
            if (keys.compareAndSet(taken, taken + 1)) {
                break;
            }
        }
        long[] fresh = new long[gcra.count()];
        gcra.init(fresh, 0, 1, now);
        // putIfAbsent publishes the initialized cells (a volatile write in the map) to every reader.
        long[] raced = states.putIfAbsent(key, fresh);
        if (raced != null) {
            keys.decrementAndGet(); // another thread inserted the key first: give the slot back
            return raced;
        }
        return fresh;
    }

    private int sweepAtCap(long now) {
        int evicted = sweep(now);
        if (evicted == 0) {
            full = true;
        }
        return evicted;
    }

    /**
     * Evicts idle keys and records when the first busy one will be idle. Concurrent sweeps are safe:
     * each eviction is one CAS, so each key is evicted (and its slot freed) once.
     */
    private int sweep(long now) {
        int evicted = 0;
        long earliest = Long.MAX_VALUE;
        boolean any = false;
        for (Map.Entry<K, long[]> entry : states.entrySet()) {
            long[] cells = entry.getValue();
            long first = (long) Gcra.CELLS.getAcquire(cells, 0);
            if (first == Gcra.DEAD) {
                states.remove(entry.getKey(), cells);
                continue;
            }
            if (gcra.idle(cells, 0, 1, now)) {
                // The first limit's word is the gate: every reservation starts with it (one limit) or
                // checks it (several), so a CAS from the value read before the idle check fails if any
                // call landed since. Volatile CAS; the removal after it is seen by later lookups.
                if (Gcra.CELLS.compareAndSet(cells, 0, first, Gcra.DEAD)) {
                    states.remove(entry.getKey(), cells);
                    keys.decrementAndGet();
                    evicted++;
                    continue;
                }
            }
            // Busy: it is idle once every limit's arrival time has passed (differences: wrap-safe).
            long idleAt = first;
            for (int i = 1; i < gcra.count(); i++) {
                long tat = (long) Gcra.CELLS.getAcquire(cells, i);
                idleAt = tat - idleAt > 0 ? tat : idleAt;
            }
            earliest = !any || idleAt - earliest < 0 ? idleAt : earliest;
            any = true;
        }
        if (evicted > 0) {
            full = false;
        } else {
            nextIdleAt = any ? earliest : now;
        }
        return evicted;
    }

    private void refusedNewKey(long now) {
        rejectedNewKeys.increment();
        if (events.isEnabled()) {
            events.publish(new PolicyEvent.Rejected(name, "ratelimiter", now, "key cap of " + maxKeys + " reached, every key busy",
                    Math.max(0L, nextIdleAt - now)));
        }
    }

    /**
     * Builds a {@link KeyedRateLimiter}. Every setter validates at once and throws
     * {@link IllegalArgumentException} naming the parameter and its allowed range. Not thread-safe; the
     * limiter it builds is.
     *
     * @param <K> the key type
     */
    public static final class Builder<K> {
        private String name = "keyed-ratelimiter";
        private final LimitSpecs limits = new LimitSpecs();
        private int maxKeys = 100_000;
        private long evictionIntervalNanos = Duration.ofMinutes(1).toNanos();
        private Ticker ticker = Ticker.system();
        private final List<PolicyEventListener> listeners = new ArrayList<>();

        private Builder() {}

        /**
         * @param name the limiter's name (default {@code "keyed-ratelimiter"})
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public Builder<K> name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * Adds a per-key limit of {@code permits} per {@code period} with a burst of {@code permits}.
         *
         * @param permits permits per period, at least 1 and at most one per microsecond
         * @param period  the period, positive
         * @return this builder
         * @throws IllegalArgumentException if out of range, or if 8 limits were added already
         */
        public Builder<K> limit(long permits, Duration period) {
            return limit(permits, period, permits);
        }

        /**
         * Adds a per-key limit of {@code permits} per {@code period} with a burst of {@code burst}.
         *
         * @param permits permits per period, at least 1 and at most one per microsecond
         * @param period  the period, positive
         * @param burst   the bucket's size, at least 1
         * @return this builder
         * @throws IllegalArgumentException if out of range, or if 8 limits were added already
         */
        public Builder<K> limit(long permits, Duration period, long burst) {
            limits.add(permits, period, burst);
            return this;
        }

        /**
         * @param maxKeys the most keys tracked at once, 1 to 100,000,000 (default 100,000)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder<K> maxKeys(int maxKeys) {
            this.maxKeys = Checks.inRange(maxKeys, 1, 100_000_000, "maxKeys");
            return this;
        }

        /**
         * @param interval how often a new key's arrival also sweeps idle keys out, positive (default 1
         *                 minute)
         * @return this builder
         * @throws IllegalArgumentException if null, not positive or too long
         */
        public Builder<K> evictionInterval(Duration interval) {
            this.evictionIntervalNanos = Checks.positiveUpToMax(interval, "evictionInterval").toNanos();
            return this;
        }

        /**
         * @param ticker the clock (default {@link Ticker#system()}; a {@link dev.vigil.core.time.ManualTicker} in tests)
         * @return this builder
         * @throws IllegalArgumentException if {@code ticker} is null
         */
        public Builder<K> ticker(Ticker ticker) {
            this.ticker = Checks.notNull(ticker, "ticker");
            return this;
        }

        /**
         * Registers a listener for {@link PolicyEvent.Rejected}.
         *
         * @param listener the listener, not null
         * @return this builder
         * @throws IllegalArgumentException if {@code listener} is null
         */
        public Builder<K> listener(PolicyEventListener listener) {
            listeners.add(Checks.notNull(listener, "listener"));
            return this;
        }

        /**
         * @return a new keyed limiter
         * @throws IllegalArgumentException if no limit was added
         */
        public KeyedRateLimiter<K> build() {
            return new KeyedRateLimiter<>(this);
        }
    }
}
