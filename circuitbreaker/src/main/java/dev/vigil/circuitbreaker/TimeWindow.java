package dev.vigil.circuitbreaker;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The calls of the last {@code buckets} time buckets of {@code bucketNanos} each (the current, partial
 * bucket included), lock-free, one atomic add per successful record.
 *
 * <p><b>Algorithm.</b> Time is cut into periods of {@code bucketNanos}; period {@code p} lives in ring
 * cell {@code p mod buckets}, as a {@link Bucket} object that carries its full period number and three
 * counters. A record computes its period and adds to that period's bucket (XADD on its counter). The
 * first record of a new period replaces the cell's expired bucket with a fresh one by CAS on the cell
 * (one small object per bucket period, not per call: with 1 s buckets, one object a second). The
 * totals are the sum of the cells whose period lies within the window, so an expired bucket never
 * counts, however long it sat idle (full 64-bit periods: no wrap-around).
 *
 * <p><b>Races, and why they are linearizable.</b> A record that read the clock in period {@code p}
 * and finds its cell already holding a later period {@code p + k*buckets} drops its outcome: by then
 * period {@code p} has left the window, so ordering this record just before the replacement gives the
 * same totals. For the same reason an add that lands on a bucket object after another thread replaced
 * it is invisible, and equally harmless. {@code current} caches the newest bucket so that the common
 * record skips the division; it only ever moves forward (CAS).
 *
 * <p><b>Memory ordering.</b> Cells are read with acquire and replaced by CAS (release semantics and
 * more), so a bucket's final {@code period} and initial counts are visible to whoever finds it. Counter
 * adds are XADDs; totals read each counter with a volatile read (not one snapshot across buckets: a
 * verdict may include a record that finished just after it began, which is the ordering it would have
 * had anyway).
 */
final class TimeWindow extends SlidingWindow {
    private static final VarHandle CURRENT;

    static {
        try {
            CURRENT = MethodHandles.lookup().findVarHandle(TimeWindow.class, "current", Bucket.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long bucketNanos;
    private final int buckets;
    private final AtomicReferenceArray<Bucket> ring;
    @SuppressWarnings("unused") // through CURRENT
    private volatile Bucket current;

    TimeWindow(long bucketNanos, int buckets) {
        this.bucketNanos = bucketNanos;
        this.buckets = buckets;
        this.ring = new AtomicReferenceArray<>(buckets);
        this.current = new Bucket(Long.MIN_VALUE, bucketNanos, 0); // matches no time: the first record installs a real one
    }

    @Override
    boolean needsTime() {
        return true;
    }

    @Override
    void record(int code, long nowNanos) {
        Bucket bucket = (Bucket) CURRENT.getAcquire(this);
        if (nowNanos - bucket.start >= bucketNanos || nowNanos < bucket.start) { // outside the cached bucket
            bucket = bucketFor(nowNanos, code);
            if (bucket == null) {
                return; // the outcome is already in a new bucket, or its period has left the window
            }
        }
        bucket.add(code);
    }

    /**
     * Finds or installs the bucket of {@code nowNanos}'s period.
     *
     * @return the bucket to add to, or null if nothing is left to do (this call installed a bucket
     *         holding the outcome, or the period has expired)
     */
    private Bucket bucketFor(long nowNanos, int code) {
        long period = Math.floorDiv(nowNanos, bucketNanos);
        int cell = (int) Math.floorMod(period, (long) buckets);
        while (true) {
            Bucket found = ring.get(cell); // volatile read: sees the bucket's final fields
            if (found != null && found.period == period) {
                return found;
            }
            if (found != null && found.period > period) {
                return null; // our period left the window before we got here: linearizes before the replacement
            }
            Bucket fresh = new Bucket(period, bucketNanos, code); // once per cell per period
            if (ring.compareAndSet(cell, found, fresh)) {
                advanceCurrent(fresh);
                return null;
            }
        }
    }

    private void advanceCurrent(Bucket fresh) {
        Bucket cached;
        do {
            cached = (Bucket) CURRENT.getAcquire(this);
            if (cached.period >= fresh.period) {
                return;
            }
        } while (!CURRENT.compareAndSet(this, cached, fresh)); // only forward
    }

    @Override
    int verdict(Thresholds thresholds, long nowNanos) {
        long newest = Math.floorDiv(nowNanos, bucketNanos);
        long calls = 0, failures = 0, slow = 0;
        for (int i = 0; i < buckets; i++) {
            Bucket bucket = ring.get(i);
            if (bucket != null && bucket.period > newest - buckets && bucket.period <= newest) {
                calls += bucket.calls;
                failures += bucket.failures;
                slow += bucket.slow;
            }
        }
        return thresholds.verdict(calls, failures, slow);
    }

    @Override
    CircuitBreaker.Stats stats(CircuitBreaker.State state, long nowNanos) {
        return new CircuitBreaker.Stats(state, total(nowNanos, CALLS_COUNTER), total(nowNanos, FAILURES_COUNTER),
                total(nowNanos, SLOW_COUNTER));
    }

    static final int CALLS_COUNTER = 0;
    static final int FAILURES_COUNTER = 1;
    static final int SLOW_COUNTER = 2;

    /**
     * @param counter {@link #CALLS_COUNTER}, {@link #FAILURES_COUNTER} or {@link #SLOW_COUNTER}
     * @return that counter summed over the buckets in the window ending at {@code nowNanos}
     */
    long total(long nowNanos, int counter) {
        long newest = Math.floorDiv(nowNanos, bucketNanos);
        long sum = 0;
        for (int i = 0; i < buckets; i++) {
            Bucket bucket = ring.get(i);
            if (bucket != null && bucket.period > newest - buckets && bucket.period <= newest) {
                sum += counter == CALLS_COUNTER ? bucket.calls : counter == FAILURES_COUNTER ? bucket.failures : bucket.slow;
            }
        }
        return sum;
    }

    @Override
    public String toString() {
        return "TimeWindow[" + buckets + " x " + bucketNanos + " ns]";
    }

    /** One period's counts. The counters only grow; the object is replaced, never reset. */
    static final class Bucket {
        private static final VarHandle CALLS;
        private static final VarHandle FAILURES;
        private static final VarHandle SLOW_CALLS;

        static {
            try {
                MethodHandles.Lookup lookup = MethodHandles.lookup();
                CALLS = lookup.findVarHandle(Bucket.class, "calls", long.class);
                FAILURES = lookup.findVarHandle(Bucket.class, "failures", long.class);
                SLOW_CALLS = lookup.findVarHandle(Bucket.class, "slow", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final long period;
        final long start;
        volatile long calls;
        volatile long failures;
        volatile long slow;

        Bucket(long period, long bucketNanos, int code) {
            this.period = period;
            this.start = period == Long.MIN_VALUE ? Long.MAX_VALUE : period * bucketNanos;
            if (code != 0) {
                calls = 1; // plain initial writes, published by the CAS that installs the bucket
                failures = isFailure(code) ? 1 : 0;
                slow = isSlow(code) ? 1 : 0;
            }
        }

        void add(int code) {
            CALLS.getAndAdd(this, 1L); // XADD
            if (isFailure(code)) {
                FAILURES.getAndAdd(this, 1L);
            }
            if (isSlow(code)) {
                SLOW_CALLS.getAndAdd(this, 1L);
            }
        }
    }
}
