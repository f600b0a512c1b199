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
 * interval} (no background thread), on {@link #evictIdle()}, and at the cap. The key count never
 * exceeds {@link Builder#maxKeys maxKeys}: at the cap, a new key takes the slot of an idle key if there
 * is one, and is refused (as rate-limited, with a retry-after no later than the first tracked key can
 * go idle) only when every tracked key is busy, rather than forgetting a busy key, which would let it
 * start over with a full burst. A flood of distinct keys therefore holds at most {@code maxKeys}
 * entries and cannot make every call scan them all: a full sweep at the cap also remembers the
 * {@code 2 * sqrt(maxKeys)} keys (16 to 1,024) that go idle soonest and the moment before which no
 * other key can (a new key, published with its first permits already taken, lowers that moment to
 * when it goes idle); until then a new key checks only those, and after a check that found none idle,
 * new keys are refused at once until the first key can be. A new key at the cap is refused at once,
 * whatever the max wait of {@link #reserve}.
 *
 * <p><b>Consistency.</b> An eviction marks the key's state dead with a CAS from the idle value, so a
 * call that raced with it either landed first (and the eviction fails) or sees the mark and looks the
 * key up again: no call is counted against a forgotten state. Reserving a slot for a new key comes
 * before its entry is published, so while a new key is being inserted at the cap, a concurrent call
 * for the same key may be refused as "no room for new keys" (a refusal, never an over-admission); a
 * look for room at the cap that overlapped the publication of a new key does not trust its own result
 * for later calls (an insertion count tells), so such a key is never left out of the next look.
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
    private final String limitsText;
    private final EventPublisher events;
    /** Key to the cells of its limits (one {@code long} per limit, stride 1: entries are many and small). */
    private final ConcurrentHashMap<K, long[]> states = new ConcurrentHashMap<>();
    /** Slots taken: reserved before an entry is published, freed after it is removed; never above maxKeys. */
    private final AtomicInteger keys = new AtomicInteger();
    /** Ticker reading of the last time-driven sweep. */
    private final AtomicLong lastSweep;
    /** How many of the soonest-idle keys a sweep at the cap remembers: about twice the square root of the cap. */
    private final int candidateCount;
    /** The soonest-idle keys found by the last sweep at the cap, or null. Volatile: published whole. */
    private volatile Candidates candidates;
    /**
     * No tracked key can be idle before this reading, while {@link #blocked}: set when a look for room
     * at the cap found none, lowered (never raised) by every insertion, so new keys before it are
     * refused at once.
     */
    private final AtomicLong noIdleBefore = new AtomicLong();
    private volatile boolean blocked;
    /**
     * Keys published so far. A look for room at the cap reads it before and after: a key published in
     * between may have been missed by its sweep, and its lowering of the marks overwritten, so the look
     * then does not block.
     */
    private final AtomicLong insertions = new AtomicLong();
    /** From {@link #insert}: no slot for a new key at the cap. */
    private static final long NO_SLOT = -1L;
    /** From {@link #insert}: another thread published the key first. */
    private static final long RACED = -2L;
    private final LongAdder rejected = new LongAdder();
    private final LongAdder rejectedNewKeys = new LongAdder();

    private KeyedRateLimiter(Builder<K> builder) {
        this.name = builder.name;
        this.gcra = builder.limits.build();
        this.ticker = builder.ticker;
        this.maxKeys = builder.maxKeys;
        this.evictionIntervalNanos = builder.evictionIntervalNanos;
        this.limitsText = builder.limits.describe();
        this.events = EventPublisher.of(builder.listeners);
        this.lastSweep = new AtomicLong(ticker.read());
        this.candidateCount = (int) Math.max(16, Math.min(1_024, 2 * Math.sqrt(maxKeys)));
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
        gcra.checkPermits(permits);
        long now = ticker.read();
        for (;;) {
            long[] cells = states.get(key);
            if (cells == null) {
                long inserted = insert(key, permits, now, maxWaitNanos);
                if (inserted == NO_SLOT) {
                    refusedNewKey(now);
                    return -1L;
                }
                if (inserted != RACED) {
                    return inserted;
                }
                continue; // another thread inserted the key first: reserve on its entry
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
     *     untracked key is granted now unless every one of {@code maxKeys} tracked keys is busy, and
     *     then no later than the first of them can go idle); reads the clock, takes nothing (it may
     *     forget idle keys, which changes no answer)
     * @throws IllegalArgumentException if {@code key} is null or {@code permits} out of range
     */
    public long nanosUntilAvailable(K key, int permits) {
        Checks.notNull(key, "key");
        gcra.checkPermits(permits);
        long now = ticker.read();
        long[] cells = states.get(key);
        if (cells != null && (long) Gcra.CELLS.getAcquire(cells, 0) != Gcra.DEAD) {
            return gcra.waitFor(cells, 0, 1, permits, now, 1.0);
        }
        if (keys.get() < maxKeys || makeRoom(now)) {
            return 0L; // (making room only forgets idle keys, which changes no answer)
        }
        long until = noIdleBefore.get();
        return now - until < 0 ? until - now : 0L;
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
        return sweep(ticker.read(), null);
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

    /**
     * Tracks a new key with this call's permits already reserved: a slot first (making room at the
     * cap), then the reservation on the still private state, then the entry. A fresh bucket always
     * has room for up to the smallest burst, so the reservation cannot fail.
     *
     * @return the reservation's wait, {@link #NO_SLOT} or {@link #RACED}
     */
    private long insert(K key, int permits, long now, long maxWaitNanos) {
        long last = lastSweep.get();
        if (now - last >= evictionIntervalNanos && lastSweep.compareAndSet(last, now)) {
            sweep(now, null);
        }
        for (;;) {
            int taken = keys.get();
            if (taken >= maxKeys) {
                if (!makeRoom(now)) {
                    return NO_SLOT;
                }
                continue;
            }
            if (keys.compareAndSet(taken, taken + 1)) {
                break;
            }
        }
        long[] fresh = new long[gcra.count()];
        gcra.init(fresh, 0, 1, now);
        long wait = gcra.reserve(fresh, 0, 1, permits, now, maxWaitNanos, 1.0, null);
        // putIfAbsent publishes the cells, reservation included (a volatile write in the map), to every reader.
        long[] raced = states.putIfAbsent(key, fresh);
        if (raced != null) {
            keys.decrementAndGet(); // another thread inserted the key first: give the slot back
            return RACED;
        }
        insertions.incrementAndGet();
        // The new key is among no remembered keys and may go idle before them: lower both marks to when
        // it will (after the count, so a look for room that missed it either sees the count move or
        // has its marks lowered here).
        long idleAt = idleAt(fresh);
        lower(noIdleBefore, idleAt);
        Candidates remembered = candidates;
        if (remembered != null) {
            lower(remembered.horizon, idleAt);
        }
        return wait;
    }

    private static void lower(AtomicLong mark, long value) {
        long current = mark.get();
        while (value - current < 0 && !mark.compareAndSet(current, value)) {
            current = mark.get();
        }
    }

    /**
     * At the cap: frees one slot by evicting an idle key, if there is one. Exact (refuses only when
     * every tracked key is busy) and cheap on average: the last full sweep remembered the keys that
     * go idle soonest and until when no other key can ({@link Candidates#horizon}); before then only
     * they are checked, and after a look that found nothing, nothing is checked until the first of
     * them can be idle.
     *
     * @return true if a slot was freed (by this or another thread)
     */
    private boolean makeRoom(long now) {
        if (blocked && now - noIdleBefore.get() < 0) {
            return false;
        }
        long published = insertions.get();
        Candidates remembered = candidates;
        long soonest;
        if (remembered != null && now - remembered.horizon.get() < 0) {
            soonest = remembered.horizon.get();
            for (int i = 0; i < remembered.size; i++) {
                long[] cells = remembered.cells[i];
                @SuppressWarnings("unchecked") // only keys of this limiter are remembered
                K key = (K) remembered.keys[i];
                if (evictIfIdle(key, cells, now)) {
                    blocked = false;
                    return true;
                }
                long idleAt = idleAt(cells);
                if (idleAt != Gcra.DEAD && idleAt - soonest < 0) {
                    soonest = idleAt;
                }
            }
        } else {
            Candidates fresh = new Candidates(candidateCount);
            if (sweep(now, fresh) > 0) {
                candidates = fresh;
                blocked = false;
                return true;
            }
            candidates = fresh;
            soonest = fresh.soonest();
        }
        if (keys.get() < maxKeys) {
            return true; // another thread freed a slot meanwhile
        }
        noIdleBefore.set(soonest);
        blocked = true;
        if (insertions.get() != published) {
            // A key published meanwhile may be missing from the sweep and its marks overwritten above:
            // trust neither (the next look sweeps again).
            blocked = false;
            Candidates current = candidates;
            if (current != null) {
                lower(current.horizon, now);
            }
        }
        return false;
    }

    /** When a key's state is idle (every limit's arrival time has passed), or DEAD if evicted. */
    private long idleAt(long[] cells) {
        long idleAt = (long) Gcra.CELLS.getAcquire(cells, 0);
        if (idleAt == Gcra.DEAD) {
            return Gcra.DEAD;
        }
        for (int i = 1; i < gcra.count(); i++) {
            long tat = (long) Gcra.CELLS.getAcquire(cells, i);
            idleAt = tat - idleAt > 0 ? tat : idleAt; // differences: wrap-safe
        }
        return idleAt;
    }

    /**
     * Evicts a key if it is idle. The first limit's word is the gate: every reservation starts with
     * it (one limit) or checks it (several), so a CAS from the value read before the idle check fails
     * if any call landed since. Volatile CAS; the removal after it is seen by later lookups, and a
     * caller that finds the mark removes the entry itself and looks again.
     */
    private boolean evictIfIdle(K key, long[] cells, long now) {
        long first = (long) Gcra.CELLS.getAcquire(cells, 0);
        if (first == Gcra.DEAD) {
            return false; // evicted already (its evictor removes it; a sweep or a call that finds it helps)
        }
        if (gcra.idle(cells, 0, 1, now) && Gcra.CELLS.compareAndSet(cells, 0, first, Gcra.DEAD)) {
            states.remove(key, cells);
            keys.decrementAndGet();
            return true;
        }
        return false;
    }

    /**
     * Evicts every idle key; with {@code soonest} not null, also remembers the busy keys that go idle
     * soonest (and, if it could not remember all, the horizon before which no other can). Concurrent
     * sweeps are safe: each eviction is one CAS, so each key is evicted (and its slot freed) once.
     */
    private int sweep(long now, Candidates soonest) {
        int evicted = 0;
        for (Map.Entry<K, long[]> entry : states.entrySet()) {
            long[] cells = entry.getValue();
            if ((long) Gcra.CELLS.getAcquire(cells, 0) == Gcra.DEAD) {
                states.remove(entry.getKey(), cells); // help an evictor that has not removed it yet
            } else if (evictIfIdle(entry.getKey(), cells, now)) {
                evicted++;
            } else if (soonest != null) {
                long idleAt = idleAt(cells);
                if (idleAt != Gcra.DEAD) {
                    soonest.offer(entry.getKey(), cells, idleAt - now);
                }
            }
        }
        if (soonest != null) {
            soonest.seal(now);
        }
        if (evicted > 0) {
            blocked = false;
        }
        return evicted;
    }

    /**
     * The busy keys that go idle soonest, as a sweep found them: a max-heap by time to idle (relative to
     * the sweep's reading, so plain comparisons hold across a ticker's wrap) while the sweep fills it,
     * then read-only. Its horizon: before it, no key outside the list can be idle (each was seen idle
     * later than every key kept), until insertions lower it.
     */
    static final class Candidates {
        final Object[] keys;
        final long[][] cells;
        private final long[] untilIdle;
        final AtomicLong horizon = new AtomicLong();
        int size;
        private long sweptAt;
        private long soonestKept = Long.MAX_VALUE;
        private long soonestDropped = Long.MAX_VALUE;

        Candidates(int capacity) {
            keys = new Object[capacity];
            cells = new long[capacity][];
            untilIdle = new long[capacity];
        }

        /** Keeps the key if it goes idle sooner than the latest kept one (sift through the max-heap). */
        void offer(Object key, long[] keyCells, long until) {
            soonestKept = Math.min(soonestKept, until);
            if (size < untilIdle.length) {
                int i = size++;
                place(i, key, keyCells, until);
                while (i > 0 && untilIdle[(i - 1) / 2] < untilIdle[i]) {
                    swap(i, (i - 1) / 2);
                    i = (i - 1) / 2;
                }
                return;
            }
            if (until >= untilIdle[0]) {
                soonestDropped = Math.min(soonestDropped, until);
                return;
            }
            soonestDropped = Math.min(soonestDropped, untilIdle[0]);
            place(0, key, keyCells, until);
            int i = 0;
            for (;;) {
                int child = 2 * i + 1;
                if (child >= size) {
                    break;
                }
                if (child + 1 < size && untilIdle[child + 1] > untilIdle[child]) {
                    child++;
                }
                if (untilIdle[child] <= untilIdle[i]) {
                    break;
                }
                swap(i, child);
                i = child;
            }
        }

        /** Fixes the horizon: the soonest a key not kept goes idle, or as late as can be if all were kept. */
        void seal(long now) {
            sweptAt = now;
            horizon.set(now + Math.min(soonestDropped, Checks.MAX_NANOS));
        }

        /** When the first key kept, or any other, can go idle: the sweep's answer to "no room until". */
        long soonest() {
            long kept = soonestKept == Long.MAX_VALUE ? Long.MAX_VALUE : sweptAt + soonestKept;
            long other = horizon.get();
            return kept != Long.MAX_VALUE && kept - other < 0 ? kept : other;
        }

        private void place(int i, Object key, long[] keyCells, long until) {
            keys[i] = key;
            cells[i] = keyCells;
            untilIdle[i] = until;
        }

        private void swap(int a, int b) {
            Object key = keys[a];
            long[] c = cells[a];
            long u = untilIdle[a];
            place(a, keys[b], cells[b], untilIdle[b]);
            place(b, key, c, u);
        }
    }

    private void refusedNewKey(long now) {
        rejectedNewKeys.increment();
        if (events.isEnabled()) {
            events.publish(new PolicyEvent.Rejected(name, "ratelimiter", now, "key cap of " + maxKeys + " reached, every key busy",
                    Math.max(0L, noIdleBefore.get() - now)));
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
         * @param period  the period, positive, at most about 73 years
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
         * @param period  the period, positive, at most about 73 years
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
