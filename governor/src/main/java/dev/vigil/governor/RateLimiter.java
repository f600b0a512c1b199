package dev.vigil.governor;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Outcome;
import dev.vigil.core.Permits;
import dev.vigil.core.RateLimitedException;
import dev.vigil.core.RejectedException;
import dev.vigil.core.event.EventPublisher;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.event.PolicyEventListener;
import dev.vigil.core.health.Health;
import dev.vigil.core.internal.Checks;
import dev.vigil.core.metrics.MetricsSink;
import dev.vigil.core.time.Scheduler;
import dev.vigil.core.time.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Lets calls through at a rate: one or more limits of "so many permits per period, with a burst of so
 * many", all of which a call must satisfy (for example 100 per second and 1,000 per minute).
 *
 * <pre>{@code
 * RateLimiter limiter = RateLimiter.builder()
 *         .name("search-api")
 *         .limit(100, Duration.ofSeconds(1))           // 100 a second, bursts of up to 100
 *         .limit(3_000, Duration.ofMinutes(1))         // and at most 3,000 a minute
 *         .timeout(Duration.ofMillis(200))             // acquirePermit()/call() wait up to 200 ms
 *         .build();
 * if (limiter.tryAcquire()) { ... }                   // never waits
 * Result r = limiter.call(() -> api.search(q));       // waits up to the timeout, else RateLimitedException
 * long waitNanos = limiter.reserve(5, Duration.ofSeconds(2)); // reserve now, act after the wait (or -1)
 * }</pre>
 *
 * <p><b>Algorithm.</b> GCRA (the generic cell rate algorithm): each limit is one {@code long}, the
 * theoretical arrival time, moved by one CAS per call; it behaves exactly like a token bucket of
 * {@code burst} tokens refilled one every {@code period / permits} (rounded up to a whole nanosecond),
 * without a refill task or a second word. Over any window of length {@code W} a limit lets through at
 * most {@code W * rate + burst} permits, and with demand above the rate exactly the rate, without
 * drift. A call reads the clock once ({@link Ticker#read()}), never allocates, and takes no lock.
 *
 * <p><b>Waiting.</b> {@link #acquire(int, Duration)} and {@link #acquirePermit()} reserve the permits
 * first (so later callers queue behind them, first come first served) and then wait for their turn on
 * the {@link Scheduler} ({@link Scheduler#sleep}: a parked thread, so a virtual thread unmounts, and a
 * {@link dev.vigil.core.time.ManualScheduler} waits in virtual time). A waiter that is interrupted gives
 * its reservation back if no later reservation was made behind it; otherwise the reserved slot passes
 * unused (the limiter errs towards admitting less, never more). {@link #reserve(int, Duration)} makes
 * the same reservation and returns the wait instead of waiting.
 *
 * <p><b>Several limits.</b> They are checked read-only first, so a refusal changes nothing; then
 * reserved one CAS each, the one with the least room first. If another thread takes the room of a
 * later limit in between, this call is refused and its earlier reservations are undone when still the
 * latest; otherwise they pass unused. So with several limits a refusal is not always linearizable (a
 * concurrent call may briefly see less room), but no limit ever lets through more than it allows.
 *
 * <p><b>Warm-up</b> (optional, {@link Builder#warmup(Duration, double)}): after being idle for a
 * warm-up period, every permit costs {@code coldFactor} times its interval (so the rate and the burst
 * both start at {@code 1/coldFactor}), falling linearly to the plain interval over the warm-up period
 * of use. A call whose stretched cost exceeds the whole burst (a burst smaller than the cold factor,
 * or a call for the whole burst) is let through when the bucket is full, and then no other until its
 * cost has passed. {@link #health()}, {@link #availablePermits()} and the retry-after use the current
 * stretch. A limiter with warm-up costs one more volatile read per call.
 *
 * <p>As an {@link AdmissionPolicy}: a permit is spent when granted, so {@link #complete} and
 * {@link #release} only check the permit; {@link #measuresLatency()} is false.
 *
 * <p><b>Thread-safety.</b> Immutable configuration, lock-free state; share one limiter among all
 * callers. <b>Exceptions.</b> The builder throws {@link IllegalArgumentException} naming the parameter
 * and its range; asking for fewer than 1 or more permits than the smallest burst throws
 * {@link IllegalArgumentException} (such a call could never be admitted); a refused {@code call}
 * throws a stackless {@link RateLimitedException} with the retry-after; waiting methods throw
 * {@link InterruptedException}.
 */
public final class RateLimiter implements AdmissionPolicy {
    /** Longs per cache line: each limit's word sits alone on its line, padded on both sides. */
    private static final int PAD = 8;
    private static final long PERMIT = Permits.of(0, 0);
    private static final VarHandle WARM_START;

    static {
        try {
            WARM_START = MethodHandles.lookup().findVarHandle(RateLimiter.class, "warmStart", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final Gcra gcra;
    /** Limit {@code i}'s theoretical arrival time at {@code (i + 1) * PAD}; the rest is padding. */
    private final long[] cells;
    private final Ticker ticker;
    private final Scheduler scheduler;
    private final long timeoutNanos;
    private final long warmupNanos;
    private final double coldFactor;
    private final String limitsText;
    private final EventPublisher events;
    private final LongAdder rejected = new LongAdder();
    /** When the current warm-up began (ticker reading); read and written only with warm-up on. */
    @SuppressWarnings("unused") // through WARM_START
    private volatile long warmStart;

    private RateLimiter(Builder builder) {
        this.name = builder.name;
        this.gcra = builder.limits.build();
        this.scheduler = builder.scheduler;
        this.ticker = scheduler.ticker();
        this.timeoutNanos = builder.timeoutNanos;
        this.warmupNanos = builder.warmupNanos;
        this.coldFactor = builder.coldFactor;
        this.limitsText = builder.limits.describe();
        this.events = EventPublisher.of(builder.listeners);
        this.cells = new long[(gcra.count() + 2) * PAD];
        long now = ticker.read();
        gcra.init(cells, PAD, PAD, now);
        this.warmStart = now; // a limiter with warm-up starts cold; the final-field freeze publishes both
    }

    /** @return a builder; at least one {@link Builder#limit} is required */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A limiter of {@code permits} per {@code period} with a burst of {@code permits}, no waiting.
     *
     * @param name    the limiter's name
     * @param permits permits per period, at least 1 and at most one per microsecond
     * @param period  the period, positive
     * @return a new limiter
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static RateLimiter of(String name, long permits, Duration period) {
        return builder().name(name).limit(permits, period).build();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "ratelimiter";
    }

    @Override
    public Ticker ticker() {
        return ticker;
    }

    /** A rate limiter counts calls, not their duration: drivers need not read the clock for it. */
    @Override
    public boolean measuresLatency() {
        return false;
    }

    /**
     * Takes one permit if every limit has one now. One clock read, one CAS per limit, no allocation.
     *
     * @return true if taken
     */
    public boolean tryAcquire() {
        return tryAcquire(1);
    }

    /**
     * Takes {@code permits} at once if every limit has them now; otherwise takes nothing.
     *
     * @param permits how many, 1 to the smallest burst
     * @return true if taken
     * @throws IllegalArgumentException if {@code permits} is out of range
     */
    public boolean tryAcquire(int permits) {
        return reserve(permits, 0L) >= 0;
    }

    /**
     * Takes {@code permits}, waiting up to {@code maxWait} for them: if they can be had within
     * {@code maxWait}, they are reserved at once (later callers queue behind) and the thread parks
     * until their turn; otherwise nothing is taken and this returns false at once.
     *
     * @param permits how many, 1 to the smallest burst
     * @param maxWait the longest acceptable wait, not negative
     * @return true if taken (after the wait), false if they could not be had within {@code maxWait}
     * @throws IllegalArgumentException if {@code permits} or {@code maxWait} is out of range
     * @throws InterruptedException     if interrupted while waiting; the reservation is then given
     *                                  back when it is still the latest (see the class comment)
     */
    public boolean acquire(int permits, Duration maxWait) throws InterruptedException {
        return acquire(permits, Checks.nonNegativeUpToMaxNanos(maxWait, "maxWait"));
    }

    private boolean acquire(int permits, long maxWaitNanos) throws InterruptedException {
        gcra.checkPermits(permits);
        long now = ticker.read();
        double factor = warmFactor(now);
        long result = gcra.reserve(cells, PAD, PAD, permits, now, 0L, factor, null);
        if (result >= 0) {
            return true;
        }
        if (~result > maxWaitNanos) {
            refused(now, ~result);
            return false;
        }
        // Waiting path: the permits will come within maxWait. Record the reservation so an interrupt can undo it.
        long[] record = new long[2 * gcra.count()];
        long wait = gcra.reserve(cells, PAD, PAD, permits, now, maxWaitNanos, factor, record);
        if (wait < 0) { // others took the room meanwhile
            refused(now, ~wait);
            return false;
        }
        if (wait > 0) {
            try {
                scheduler.sleep(wait);
            } catch (InterruptedException interrupted) {
                gcra.undo(cells, PAD, PAD, record);
                throw interrupted;
            }
        }
        return true;
    }

    /**
     * Reserves {@code permits} if they can be had within {@code maxWait}, without waiting: the caller
     * must wait the returned time before acting on them. Nothing is reserved if the wait would be
     * longer.
     *
     * @param permits how many, 1 to the smallest burst
     * @param maxWait the longest acceptable wait, not negative
     * @return the nanoseconds to wait before using the permits (0: use them now), or -1 if nothing was
     *     reserved
     * @throws IllegalArgumentException if {@code permits} or {@code maxWait} is out of range
     */
    public long reserve(int permits, Duration maxWait) {
        return reserve(permits, Checks.nonNegativeUpToMaxNanos(maxWait, "maxWait"));
    }

    /** The one path of {@link #tryAcquire(int)} and {@link #reserve(int, Duration)}: the wait, or -1 (counted as refused). */
    private long reserve(int permits, long maxWaitNanos) {
        gcra.checkPermits(permits);
        long now = ticker.read();
        long result = gcra.reserve(cells, PAD, PAD, permits, now, maxWaitNanos, warmFactor(now), null);
        if (result >= 0) {
            return result;
        }
        refused(now, ~result);
        return -1L;
    }

    /**
     * Takes one permit without waiting ({@link #tryAcquire()}).
     *
     * @return a permit, or {@link #REJECTED}
     */
    @Override
    public long tryAcquirePermit() {
        return tryAcquire(1) ? PERMIT : REJECTED;
    }

    /**
     * Takes one permit, waiting up to the builder's {@link Builder#timeout timeout} (0 by default:
     * no wait).
     *
     * @return a permit, or {@link #REJECTED}
     * @throws InterruptedException if interrupted while waiting
     */
    @Override
    public long acquirePermit() throws InterruptedException {
        return acquire(1, timeoutNanos) ? PERMIT : REJECTED;
    }

    /** Allocates the exception and its message; reads the clock for the retry-after. */
    @Override
    public RejectedException rejection() {
        long now = ticker.read();
        long retryAfter = gcra.waitFor(cells, PAD, PAD, 1, now, warmFactor(now));
        return new RateLimitedException(name, "rate limiter '" + name + "' has no permit now (" + limitsText + "); next in "
                + Duration.ofNanos(retryAfter), retryAfter);
    }

    /**
     * Nothing to free: the permit was spent when granted.
     *
     * @throws IllegalArgumentException if {@code outcome} is null or {@code permit} is negative
     */
    @Override
    public void complete(long permit, Outcome outcome, long elapsedNanos) {
        Checks.notNull(outcome, "outcome");
        release(permit);
    }

    /**
     * Nothing to free: the permit was spent when granted (the call it admitted was let through, even
     * if an inner policy then refused it).
     *
     * @throws IllegalArgumentException if {@code permit} is negative ({@link #REJECTED})
     */
    @Override
    public void release(long permit) {
        if (permit < 0) {
            throw new IllegalArgumentException("permit must be one an acquire method returned, was " + permit + " (REJECTED)");
        }
    }

    /** @return DEGRADED while no permit is free now, UP otherwise; reads the clock */
    @Override
    public Health health() {
        long now = ticker.read();
        double factor = warmFactor(now);
        if (gcra.available(cells, PAD, PAD, now, factor) > 0) {
            return Health.up();
        }
        return Health.degraded("no permit free now (" + limitsText + "); next in "
                + Duration.ofNanos(gcra.waitFor(cells, PAD, PAD, 1, now, factor)));
    }

    /**
     * Refused calls ({@code vigil.calls}, outcome {@code rejected}) and the permits free now
     * ({@code vigil.ratelimiter.available.permits}).
     */
    @Override
    public void describeMetrics(MetricsSink sink) {
        sink.counter(MetricsSink.CALLS, "Calls refused by the rate limiter", "rejected", rejected::sum);
        sink.gauge("vigil.ratelimiter.available.permits", "Permits that would be granted now", "permits", this::availablePermits);
    }

    /**
     * @return the permits every limit would grant now to calls of one permit each, at the current
     *     warm-up stretch if warming up (reads the clock)
     */
    public long availablePermits() {
        long now = ticker.read();
        return gcra.available(cells, PAD, PAD, now, warmFactor(now));
    }

    /**
     * @param permits how many, 1 to the smallest burst
     * @return the nanoseconds until {@code permits} would be granted (0: now); reads the clock, takes nothing
     * @throws IllegalArgumentException if {@code permits} is out of range
     */
    public long nanosUntilAvailable(int permits) {
        gcra.checkPermits(permits);
        long now = ticker.read();
        return gcra.waitFor(cells, PAD, PAD, permits, now, warmFactor(now));
    }

    /** @return the calls refused so far */
    public long rejectedCount() {
        return rejected.sum();
    }

    @Override
    public String toString() {
        return "RateLimiter[" + name + ", " + limitsText + (timeoutNanos == 0 ? "" : ", timeout=" + Duration.ofNanos(timeoutNanos))
                + (warmupNanos == 0 ? "" : ", warmup=" + Duration.ofNanos(warmupNanos) + " x" + coldFactor) + "]";
    }

    /**
     * The warm-up stretch of every permit's cost at {@code now}: 1 when warm or without warm-up (no
     * read then), {@code coldFactor} after an idle warm-up period, falling linearly in between.
     */
    private double warmFactor(long now) {
        if (warmupNanos == 0) {
            return 1.0;
        }
        long tat = (long) Gcra.CELLS.getAcquire(cells, PAD);
        long start = (long) WARM_START.getAcquire(this);
        if (now - tat >= warmupNanos) {
            // Idle for a whole warm-up period: cold again. Concurrent writers write nearly the same
            // reading; a reader that still sees the old start uses a lower factor, which is never
            // above the rate (every factor is >= 1). Release pairs with the acquire above.
            if (now - start > warmupNanos) {
                WARM_START.setRelease(this, now);
            }
            return coldFactor;
        }
        long warm = now - start;
        if (warm >= warmupNanos) {
            return 1.0;
        }
        return coldFactor - (coldFactor - 1.0) * ((double) Math.max(warm, 0L) / warmupNanos);
    }

    private void refused(long now, long retryAfterNanos) {
        rejected.increment();
        if (events.isEnabled()) {
            events.publish(new PolicyEvent.Rejected(name, kind(), now, "rate limit reached (" + limitsText + ")", retryAfterNanos));
        }
    }

    /**
     * Builds a {@link RateLimiter}. Every setter validates at once and throws
     * {@link IllegalArgumentException} naming the parameter and its allowed range. Not thread-safe; the
     * limiter it builds is.
     */
    public static final class Builder {
        private String name = "ratelimiter";
        private final LimitSpecs limits = new LimitSpecs();
        private long timeoutNanos;
        private long warmupNanos;
        private double coldFactor = 1.0;
        private Scheduler scheduler = Scheduler.shared();
        private final List<PolicyEventListener> listeners = new ArrayList<>();

        private Builder() {}

        /**
         * @param name the limiter's name (default {@code "ratelimiter"})
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public Builder name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * Adds a limit of {@code permits} per {@code period} with a burst of {@code permits} (a full
         * period's worth may go at once after a quiet period).
         *
         * @param permits permits per period, at least 1 and at most one per microsecond
         * @param period  the period, positive, at most about 73 years
         * @return this builder
         * @throws IllegalArgumentException if out of range, or if 8 limits were added already
         */
        public Builder limit(long permits, Duration period) {
            return limit(permits, period, permits);
        }

        /**
         * Adds a limit of {@code permits} per {@code period} with a burst of {@code burst}: at most
         * {@code burst} permits at once, refilled one every {@code period / permits}.
         *
         * @param permits permits per period, at least 1 and at most one per microsecond
         * @param period  the period, positive, at most about 73 years
         * @param burst   the bucket's size, at least 1
         * @return this builder
         * @throws IllegalArgumentException if out of range, or if 8 limits were added already
         */
        public Builder limit(long permits, Duration period, long burst) {
            limits.add(permits, period, burst);
            return this;
        }

        /**
         * @param timeout how long {@link RateLimiter#acquirePermit()} (and so {@code call}, {@code get},
         *                {@code run}) waits for a permit, 0 (the default: never) up to about 73 years
         * @return this builder
         * @throws IllegalArgumentException if null, negative or too long
         */
        public Builder timeout(Duration timeout) {
            this.timeoutNanos = Checks.nonNegativeUpToMaxNanos(timeout, "timeout");
            return this;
        }

        /**
         * Warm-up with a cold factor of 3 (as Guava's warming-up limiter).
         *
         * @param period how long a cold limiter takes to reach its full rate, positive
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder warmup(Duration period) {
            return warmup(period, 3.0);
        }

        /**
         * Starts cold, and goes cold again after a warm-up period without calls: each permit then
         * costs {@code coldFactor} times its interval, falling linearly to the plain interval over
         * {@code period}.
         *
         * @param period     how long a cold limiter takes to reach its full rate, positive
         * @param coldFactor how much slower the cold rate is, in (1, 100]
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder warmup(Duration period, double coldFactor) {
            this.warmupNanos = Checks.positiveUpToMax(period, "warmup period").toNanos();
            this.coldFactor = Checks.inLeftOpenRange(coldFactor, 1.0, 100.0, "coldFactor");
            return this;
        }

        /**
         * @param scheduler waits for reserved permits ({@link Scheduler#sleep}); its
         *                  {@link Scheduler#ticker()} is the clock (default {@link Scheduler#shared()})
         * @return this builder
         * @throws IllegalArgumentException if {@code scheduler} is null
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Checks.notNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Registers a listener for {@link PolicyEvent.Rejected} (with the retry-after).
         *
         * @param listener the listener, not null
         * @return this builder
         * @throws IllegalArgumentException if {@code listener} is null
         */
        public Builder listener(PolicyEventListener listener) {
            listeners.add(Checks.notNull(listener, "listener"));
            return this;
        }

        /**
         * @return a new limiter
         * @throws IllegalArgumentException if no limit was added, or a warm-up's cold factor would
         *                                  stretch a full bucket beyond about 73 years
         */
        public RateLimiter build() {
            if (warmupNanos > 0) {
                limits.checkWarmup(coldFactor);
            }
            return new RateLimiter(this);
        }
    }
}
