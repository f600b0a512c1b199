package dev.vigil.circuitbreaker;

import dev.vigil.core.time.Scheduler;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The calls of the last {@code buckets} time buckets of {@code bucketNanos} each (the current, partial
 * bucket included), lock-free, one atomic add per successful record, and no clock read per call.
 *
 * <p><b>Algorithm.</b> Time is cut into periods of {@code bucketNanos}, aligned on multiples of it and
 * counted from the window's creation (as differences of readings, so wrapping readings do no harm);
 * period {@code p} lives in ring cell {@code p mod buckets}, as a {@link Bucket} that
 * carries its full period number and three counters. The window does not read the clock to find the
 * bucket of a call: a timer on the {@link Scheduler} installs the bucket of each new period at the
 * period's start (one clock read and one small object per bucket period, not per call: with 1 s
 * buckets, one a second), and {@code current} points to it. A record adds to {@code current}'s counters
 * (XADD). When it installs a bucket, the timer also sums the cells whose period lies within the window
 * (full 64-bit periods: an expired bucket never counts, however long it sat idle, and periods the timer
 * skipped because it ran late simply have no bucket) and stores those totals in the new bucket, so the
 * window's totals are one bucket's fields plus its counters: reading them is O(1), not a scan.
 *
 * <p>Placement is therefore by the scheduler's time: a call completing just after a period starts but
 * before the timer has run counts in the previous bucket. Under a
 * {@link dev.vigil.core.time.ManualScheduler} the timer runs exactly at each period's start, so virtual
 * time places every call exactly; {@link Scheduler#shared()} runs it within its tick.
 *
 * <p><b>Lifetime.</b> The timer task holds the window only through a weak reference, so a window (and
 * the breaker or throttle that owns it) that is no longer used is collected and its timer stops.
 * {@link #stop()} stops it at once (a breaker stops the window of a phase it leaves, which freezes it
 * for the open state's statistics).
 *
 * <p><b>Memory ordering.</b> Only the timer writes cells and {@code current} (one task at a time: each
 * run schedules the next), with release stores after the bucket is fully built, so a reader that
 * finds a bucket by an acquire load sees its final {@code period}. A record is one XADD on one of the
 * bucket's four counters; {@link #verdict} explains why reading them one by one is sound. Benign race:
 * a record that read
 * {@code current} just before a rollover adds to the previous bucket after the timer summed it: it is
 * missing from the totals for one period, until the next rollover sums that bucket again.
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
    private final Rollover rollover;
    @SuppressWarnings("unused") // through CURRENT
    private volatile Bucket current;

    /**
     * Creates the window, installs the bucket of the scheduler's current time and arms the rollover timer.
     */
    TimeWindow(long bucketNanos, int buckets, Scheduler scheduler) {
        this.bucketNanos = bucketNanos;
        this.buckets = buckets;
        this.ring = new AtomicReferenceArray<>(buckets);
        this.rollover = new Rollover(this, scheduler, bucketNanos);
        rollover.run();
    }

    /**
     * Installs the bucket of {@code period}, carrying the totals of the window's older buckets (periods
     * {@code period - buckets + 1} to {@code period - 1}), so that reading the window's totals takes one
     * bucket, not a scan. Called by the timer only.
     */
    private void install(long period) {
        long calls = 0, failures = 0, slow = 0;
        for (int i = 0; i < buckets; i++) {
            Bucket bucket = ring.get(i);
            if (bucket != null && bucket.period > period - buckets && bucket.period < period) {
                calls += bucket.ownCalls();
                failures += bucket.ownFailures();
                slow += bucket.ownSlow();
            }
        }
        Bucket fresh = new Bucket(period, calls, failures, slow);
        ring.set((int) Math.floorMod(period, (long) buckets), fresh); // volatile store: final fields published first
        CURRENT.setRelease(this, fresh);
    }

    /** Stops the timer: the window keeps its counts but no longer moves with time. */
    void stop() {
        rollover.stop();
    }

    @Override
    void record(int code) {
        ((Bucket) CURRENT.getAcquire(this)).add(code); // acquire: the bucket's final fields
    }

    /**
     * Judges the window. A record adds to exactly one of the bucket's four counters, so no record is ever
     * seen half-counted; and the counters are read failures first, then successes (for the failure
     * rate), and slow calls first, then fast ones (for the slow-call rate). Counters only grow, so the
     * rate judged is never above the rate the window held when the last counter was read, with at least
     * as many calls: the breaker never opens on a rate its window did not reach.
     */
    @Override
    int verdict(Thresholds thresholds) {
        Bucket current = (Bucket) CURRENT.getAcquire(this);
        long failures = current.failures(); // failures before calls: see above
        int byFailures = thresholds.verdict(current.calls(), failures, 0L);
        if (byFailures != HEALTHY || thresholds.slowCallRatePercent() == Thresholds.NONE) {
            return byFailures;
        }
        long slow = current.slow(); // slow calls before calls
        return thresholds.verdict(current.calls(), 0L, slow);
    }

    @Override
    CircuitBreaker.Stats stats(CircuitBreaker.State state) {
        Bucket current = (Bucket) CURRENT.getAcquire(this);
        long failures = current.failures();
        long slow = current.slow();
        return new CircuitBreaker.Stats(state, current.calls(), failures, slow);
    }

    /** @return recorded failures in the window; read before {@link #calls()}, the pair never overstates the failure share */
    long failures() {
        return ((Bucket) CURRENT.getAcquire(this)).failures();
    }

    /** @return recorded calls in the window */
    long calls() {
        return ((Bucket) CURRENT.getAcquire(this)).calls();
    }

    @Override
    public String toString() {
        return "TimeWindow[" + buckets + " x " + bucketNanos + " ns]";
    }

    /**
     * The timer task: installs the bucket of the period it runs in, then schedules itself at the next
     * period's start. One instance per window, reused for every period.
     */
    private static final class Rollover implements Runnable {
        private final WeakReference<TimeWindow> window;
        private final Scheduler scheduler;
        private final long bucketNanos;
        /**
         * The start of the bucket containing the window's creation. Periods count from here, as
         * differences of readings, so they stay right when the ticker's readings wrap past
         * {@code Long.MAX_VALUE} (a ticker's origin is arbitrary; only differences are meaningful).
         */
        private final long origin;
        private volatile boolean stopped;
        private volatile Scheduler.Task next;

        Rollover(TimeWindow window, Scheduler scheduler, long bucketNanos) {
            this.window = new WeakReference<>(window);
            this.scheduler = scheduler;
            this.bucketNanos = bucketNanos;
            this.origin = Math.floorDiv(scheduler.ticker().read(), bucketNanos) * bucketNanos;
        }

        @Override
        public void run() {
            TimeWindow target = window.get();
            if (target == null || stopped) {
                return; // collected or stopped: the chain of timers ends here
            }
            long period = Math.floorDiv(scheduler.ticker().read() - origin, bucketNanos);
            target.install(period);
            target = null; // hold the window only weakly while waiting
            next = scheduler.scheduleAt(this, origin + (period + 1) * bucketNanos);
            if (stopped) { // stop() raced with the scheduling above: cancel what it could not see
                cancel();
            }
        }

        void stop() {
            stopped = true;
            cancel();
        }

        private void cancel() {
            Scheduler.Task task = next;
            if (task != null) {
                task.cancel();
            }
        }
    }

    /**
     * The fields of a bucket that are read on every admission or only written on failures and slow
     * calls: its period, the totals of the older buckets at its start, and three of its counters.
     */
    abstract static class BucketCold {
        final long period;
        final long closedCalls;
        final long closedFailures;
        final long closedSlow;
        volatile long fastFailures;
        volatile long slowSuccesses;
        volatile long slowFailures;

        BucketCold(long period, long closedCalls, long closedFailures, long closedSlow) {
            this.period = period;
            this.closedCalls = closedCalls;
            this.closedFailures = closedFailures;
            this.closedSlow = closedSlow;
        }
    }

    /** Padding: keeps {@code fastSuccesses}, added to by every healthy record, off the line the cold fields are read from. */
    abstract static class BucketPad extends BucketCold {
        long p00, p01, p02, p03, p04, p05, p06, p07;

        BucketPad(long period, long closedCalls, long closedFailures, long closedSlow) {
            super(period, closedCalls, closedFailures, closedSlow);
        }
    }

    /**
     * One period's counts, and the totals of the window's older buckets when the period began. Each
     * record adds to exactly one of four counters (fast or slow, success or failure), so a reader never
     * sees part of a record. The counters only grow; the object is replaced, never reset. Superclass
     * fields come first in the layout, so {@code fastSuccesses} sits after the padding.
     */
    static final class Bucket extends BucketPad {
        private static final VarHandle FAST_SUCCESSES;
        private static final VarHandle FAST_FAILURES;
        private static final VarHandle SLOW_SUCCESSES;
        private static final VarHandle SLOW_FAILURES;

        static {
            try {
                MethodHandles.Lookup lookup = MethodHandles.lookup();
                FAST_SUCCESSES = lookup.findVarHandle(Bucket.class, "fastSuccesses", long.class);
                FAST_FAILURES = lookup.findVarHandle(BucketCold.class, "fastFailures", long.class);
                SLOW_SUCCESSES = lookup.findVarHandle(BucketCold.class, "slowSuccesses", long.class);
                SLOW_FAILURES = lookup.findVarHandle(BucketCold.class, "slowFailures", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        volatile long fastSuccesses;
        long q00, q01, q02, q03, q04, q05, q06, q07;

        Bucket(long period, long closedCalls, long closedFailures, long closedSlow) {
            super(period, closedCalls, closedFailures, closedSlow);
        }

        /** @return this bucket's own failed calls (failure counters read first) */
        long ownFailures() {
            return slowFailures + fastFailures;
        }

        /** @return this bucket's own slow calls */
        long ownSlow() {
            return slowFailures + slowSuccesses;
        }

        /** @return this bucket's own calls */
        long ownCalls() {
            return slowFailures + fastFailures + slowSuccesses + fastSuccesses;
        }

        /** @return the window's failed calls: the older buckets' at this bucket's start, plus its own */
        long failures() {
            return closedFailures + ownFailures();
        }

        /** @return the window's slow calls */
        long slow() {
            return closedSlow + ownSlow();
        }

        /** @return the window's calls */
        long calls() {
            return closedCalls + ownCalls();
        }

        void add(int code) {
            // One XADD on one counter: the record is counted whole or not at all.
            VarHandle counter = isFailure(code) ? (isSlow(code) ? SLOW_FAILURES : FAST_FAILURES)
                    : (isSlow(code) ? SLOW_SUCCESSES : FAST_SUCCESSES);
            counter.getAndAdd(this, 1L);
        }
    }
}
