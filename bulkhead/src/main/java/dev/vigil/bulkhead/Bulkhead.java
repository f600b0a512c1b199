package dev.vigil.bulkhead;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.BulkheadFullException;
import dev.vigil.core.Outcome;
import dev.vigil.core.Permits;
import dev.vigil.core.RejectedException;
import dev.vigil.core.event.EventPublisher;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.event.PolicyEventListener;
import dev.vigil.core.health.Health;
import dev.vigil.core.internal.Checks;
import dev.vigil.core.metrics.MetricsSink;
import dev.vigil.core.time.Scheduler;
import dev.vigil.core.time.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Caps the number of calls running at once, so one slow dependency cannot take every thread.
 *
 * <pre>{@code
 * Bulkhead bulkhead = Bulkhead.builder()
 *         .name("inventory")
 *         .maxConcurrentCalls(20)
 *         .maxWait(Duration.ofMillis(50))     // optional: wait up to 50 ms for a permit, FIFO
 *         .maxWaiters(100)                    // and at most 100 threads waiting
 *         .build();
 * Stock stock = bulkhead.call(() -> inventory.lookup(sku)); // BulkheadFullException when full
 * }</pre>
 *
 * <p>Without a max wait (the default) a call that finds every permit taken is rejected at once with a
 * stackless {@link BulkheadFullException}. With one, synchronous callers ({@link #acquirePermit()},
 * {@code call}, {@code get}, {@code run}) wait in a first-in-first-out queue of at most
 * {@code maxWaiters} threads; while anyone waits, new arrivals queue behind them rather than barge
 * ahead, and {@link #tryAcquirePermit()} (used by asynchronous calls, which are never parked) is
 * refused. A waiter parks (a virtual thread unmounts, nothing is {@code synchronized}); its time limit
 * is a task on the {@link Scheduler}, so tests wait in virtual time with a
 * {@link dev.vigil.core.time.ManualScheduler}. A waiter that times out, is interrupted, or whose
 * thread gives up at the same moment a permit is handed to it never strands the permit: exactly one of
 * "granted" and "gave up" wins, and a permit granted to a thread that then gives up is handed on.
 *
 * <p><b>Performance.</b> Permits are spread over padded stripes chosen by thread, so
 * {@link #tryAcquirePermit()} and {@link #complete} are one CAS and one atomic add on the calling
 * thread's own cache line; they allocate nothing and read no clock ({@link #measuresLatency()} is
 * false). A refusal is exact: it happens only if every permit was taken at one moment during the call.
 *
 * <p><b>Thread-safety.</b> Immutable configuration, lock-free state: share one bulkhead between all
 * callers of a dependency. Each permit must end exactly once ({@link #complete} or {@link #release});
 * ending one twice adds a permit that was never taken, which the bulkhead cannot detect.
 *
 * <p><b>Exceptions.</b> The builder throws {@link IllegalArgumentException} naming the parameter and
 * its range; a refused call throws {@link BulkheadFullException}; {@link #acquirePermit()} throws
 * {@link InterruptedException} if interrupted while waiting (holding no permit).
 */
public final class Bulkhead implements AdmissionPolicy {
    /** Bulkhead permits carry nothing: which stripe a permit returns to is the releasing thread's. */
    private static final long PERMIT = Permits.of(0, 0);

    private final String name;
    private final int maxConcurrentCalls;
    private final long maxWaitNanos;
    private final Ticker ticker;
    private final EventPublisher events;
    private final PermitPool pool;
    /** Null without a max wait: then nothing ever waits and release never drains. */
    private final WaitQueue queue;
    private final Source source = new Source();
    private final LongAdder rejected = new LongAdder();
    private final String rejectionPrefix;

    private Bulkhead(Builder builder) {
        this.name = builder.name;
        this.maxConcurrentCalls = builder.maxConcurrentCalls;
        this.maxWaitNanos = builder.maxWaitNanos;
        this.ticker = builder.scheduler.ticker();
        this.events = EventPublisher.of(builder.listeners);
        this.pool = new PermitPool(maxConcurrentCalls, Stripes.count(maxConcurrentCalls));
        int maxWaiters = builder.maxWaiters > 0 ? builder.maxWaiters : maxConcurrentCalls;
        this.queue = maxWaitNanos > 0 ? new WaitQueue(maxWaiters, maxWaitNanos, false, 0L, 0L, builder.scheduler) : null;
        this.rejectionPrefix = "bulkhead '" + name + "' is full: " + maxConcurrentCalls + " concurrent calls";
    }

    /** @return a builder with the defaults described on {@link Builder} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A bulkhead with the given cap, no waiting and the other defaults.
     *
     * @param name               the bulkhead's name
     * @param maxConcurrentCalls the cap, 1 to 1,000,000
     * @return a new bulkhead
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static Bulkhead of(String name, int maxConcurrentCalls) {
        return builder().name(name).maxConcurrentCalls(maxConcurrentCalls).build();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "bulkhead";
    }

    @Override
    public Ticker ticker() {
        return ticker;
    }

    /** A bulkhead counts calls, not their duration: drivers need not read the clock for it. */
    @Override
    public boolean measuresLatency() {
        return false;
    }

    /**
     * Takes a permit if one is free and nobody is waiting for one (waiters are served first).
     *
     * @return a permit, or {@link #REJECTED}
     */
    @Override
    public long tryAcquirePermit() {
        // Fairness: with a queue, a waiter's claim comes first (a volatile read of the waiter count).
        if ((queue == null || !queue.hasWaiters()) && pool.tryTake()) {
            return PERMIT;
        }
        return refused();
    }

    /**
     * Takes a permit, waiting up to the max wait in FIFO order if none is free.
     *
     * @return a permit, or {@link #REJECTED} if none became free in time or {@code maxWaiters} threads wait already
     * @throws InterruptedException if interrupted before or while waiting; no permit is then held
     */
    @Override
    public long acquirePermit() throws InterruptedException {
        if (queue == null) {
            return tryAcquirePermit();
        }
        long permit = queue.acquire(source, 0);
        return permit == REJECTED ? refused() : permit;
    }

    private long refused() {
        rejected.increment();
        if (events.isEnabled()) {
            events.publish(new PolicyEvent.Rejected(name, kind(), ticker.read(), "full", -1L));
        }
        return REJECTED;
    }

    /** Allocates only the exception and its message: this is the overload path. */
    @Override
    public RejectedException rejection() {
        String message = queue == null ? rejectionPrefix + " in flight"
                : rejectionPrefix + " in flight, " + queue.waiting() + " waiting (max wait " + Duration.ofNanos(maxWaitNanos).toMillis() + " ms)";
        return new BulkheadFullException(name, message, -1L);
    }

    /**
     * Frees the permit; the outcome and duration are not used by a bulkhead.
     *
     * @throws IllegalArgumentException if {@code outcome} is null or {@code permit} is {@link #REJECTED}
     *                                  (the permit is then not freed)
     */
    @Override
    public void complete(long permit, Outcome outcome, long elapsedNanos) {
        Checks.notNull(outcome, "outcome");
        release(permit);
    }

    /**
     * Frees the permit, handing it to the longest waiter if any.
     *
     * @throws IllegalArgumentException if {@code permit} is {@link #REJECTED} (or any negative value): no
     *                                  permit was taken, so none may be returned
     */
    @Override
    public void release(long permit) {
        if (permit < 0) {
            throw new IllegalArgumentException("permit must be one an acquire method returned, was " + permit + " (REJECTED)");
        }
        pool.put();
        // Second half of the releasing side's Dekker pair: permit returned (volatile add), now read the waiters.
        if (queue != null && queue.hasWaiters()) {
            queue.drain(source);
        }
    }

    /** @return DEGRADED while every permit is taken (saturated), UP otherwise */
    @Override
    public Health health() {
        int available = pool.available();
        if (available > 0) {
            return Health.up();
        }
        return Health.degraded("saturated: all " + maxConcurrentCalls + " permits in use" + (queue == null ? "" : ", " + queue.waiting() + " waiting"));
    }

    /**
     * Rejected calls ({@code vigil.calls}, outcome {@code rejected}) and gauges of the calls in flight
     * ({@code vigil.bulkhead.concurrent.calls}), free permits ({@code vigil.bulkhead.available.permits}),
     * the cap ({@code vigil.bulkhead.max.concurrent.calls}) and waiting threads
     * ({@code vigil.bulkhead.waiting.calls}).
     */
    @Override
    public void describeMetrics(MetricsSink sink) {
        sink.counter(MetricsSink.CALLS, "Calls rejected because the bulkhead was full", "rejected", rejected::sum);
        sink.gauge("vigil.bulkhead.concurrent.calls", "Calls holding a permit", "calls", this::concurrentCalls);
        sink.gauge("vigil.bulkhead.available.permits", "Free permits", "calls", this::availablePermits);
        sink.gauge("vigil.bulkhead.max.concurrent.calls", "The bulkhead's cap", "calls", () -> maxConcurrentCalls);
        sink.gauge("vigil.bulkhead.waiting.calls", "Threads waiting for a permit", "calls", this::waitingCalls);
    }

    /** @return the cap */
    public int maxConcurrentCalls() {
        return maxConcurrentCalls;
    }

    /** @return the free permits now (exact at rest; an estimate while permits move) */
    public int availablePermits() {
        return pool.available();
    }

    /** @return the calls holding a permit now (exact at rest; an estimate while permits move) */
    public int concurrentCalls() {
        return maxConcurrentCalls - pool.available();
    }

    /** @return the threads waiting for a permit now */
    public int waitingCalls() {
        return queue == null ? 0 : queue.waiting();
    }

    /** @return the calls refused so far */
    public long rejectedCount() {
        return rejected.sum();
    }

    @Override
    public String toString() {
        return "Bulkhead[" + name + ", maxConcurrentCalls=" + maxConcurrentCalls
                + (queue == null ? "" : ", maxWait=" + Duration.ofNanos(maxWaitNanos)) + "]";
    }

    /** The pool as the wait queue sees it; kept off the public type. */
    private final class Source implements WaitQueue.Source {
        @Override
        public long tryTake(int tag) {
            return pool.tryTake() ? PERMIT : REJECTED;
        }

        @Override
        public void putBack(long permit) {
            pool.put();
        }

        @Override
        public void release(long permit) {
            Bulkhead.this.release(permit);
        }
    }

    /**
     * Builds a {@link Bulkhead}. Every setter validates at once and throws
     * {@link IllegalArgumentException} naming the parameter and its allowed range. Not thread-safe; the
     * bulkhead it builds is.
     */
    public static final class Builder {
        private static final int MAX = 1_000_000;

        private String name = "bulkhead";
        private int maxConcurrentCalls = 25;
        private long maxWaitNanos;
        private int maxWaiters;
        private Scheduler scheduler = Scheduler.shared();
        private final List<PolicyEventListener> listeners = new ArrayList<>();

        private Builder() {}

        /**
         * @param name the bulkhead's name (default {@code "bulkhead"})
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public Builder name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * @param maxConcurrentCalls how many calls may run at once, 1 to 1,000,000 (default 25)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder maxConcurrentCalls(int maxConcurrentCalls) {
            this.maxConcurrentCalls = Checks.inRange(maxConcurrentCalls, 1, MAX, "maxConcurrentCalls");
            return this;
        }

        /**
         * @param maxWait how long a synchronous caller may wait for a permit, 0 (the default: never wait)
         *                up to about 73 years
         * @return this builder
         * @throws IllegalArgumentException if {@code maxWait} is null, negative or too long
         */
        public Builder maxWait(Duration maxWait) {
            this.maxWaitNanos = Checks.nonNegativeUpToMaxNanos(maxWait, "maxWait");
            return this;
        }

        /**
         * @param maxWaiters how many threads may wait at once, 1 to 1,000,000 (default: the cap); needs a
         *                   max wait above 0
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder maxWaiters(int maxWaiters) {
            this.maxWaiters = Checks.inRange(maxWaiters, 1, MAX, "maxWaiters");
            return this;
        }

        /**
         * @param scheduler runs waiters' time limits; its {@link Scheduler#ticker()} is the clock (default
         *                  {@link Scheduler#shared()})
         * @return this builder
         * @throws IllegalArgumentException if {@code scheduler} is null
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Checks.notNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Registers a listener for {@link PolicyEvent.Rejected}.
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
         * @return a new bulkhead
         * @throws IllegalArgumentException if {@code maxWaiters} was set without a max wait above 0
         */
        public Bulkhead build() {
            if (maxWaiters > 0 && maxWaitNanos == 0) {
                throw new IllegalArgumentException("maxWaiters (" + maxWaiters + ") needs maxWait > 0; maxWait was 0 (callers never wait)");
            }
            return new Bulkhead(this);
        }
    }
}
