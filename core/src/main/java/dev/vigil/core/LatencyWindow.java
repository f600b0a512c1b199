package dev.vigil.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A percentile of the most recent latencies, for an adaptive hedge delay.
 *
 * <p>Algorithm: the last {@link #SIZE} samples live in a ring ({@link AtomicLongArray}); a writer takes a
 * slot with one {@code getAndIncrement} of the sequence and stores the sample with release semantics.
 * Slots start {@code UNWRITTEN} and the recomputation skips those, so a writer that took a slot but has
 * not stored yet is simply not counted; a snapshot of a ring being written may mix an older and a newer
 * sample in a slot being overwritten, which only shifts the estimate between real recent latencies. Every {@link #RECOMPUTE_EVERY} samples, the writer that
 * crossed the boundary recomputes the percentile, if no other thread is: a CAS on {@code computing}
 * (0 to 1, acquire) guards the one scratch array, and the release-store back to 0 publishes it. The
 * result is published through a volatile field, read by every call. No allocation after construction;
 * a writer never waits.
 */
final class LatencyWindow {
    static final int SIZE = 256;
    static final int RECOMPUTE_EVERY = 32;
    /** A slot no sample was stored in yet (a writer may have taken the slot and not stored yet). */
    private static final long UNWRITTEN = -1L;
    private static final VarHandle COMPUTING;
    private static final VarHandle SEQUENCE;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            COMPUTING = lookup.findVarHandle(LatencyWindow.class, "computing", int.class);
            SEQUENCE = lookup.findVarHandle(LatencyWindow.class, "sequence", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final double percentile;
    private final int minSamples;
    private final long initialNanos;
    private final AtomicLongArray ring = new AtomicLongArray(SIZE);
    /** Guarded by {@code computing}. */
    private final long[] scratch = new long[SIZE];
    @SuppressWarnings("unused") // accessed through SEQUENCE
    private volatile long sequence;
    @SuppressWarnings("unused") // accessed through COMPUTING
    private volatile int computing;
    /** The latest computed percentile; -1 until enough samples arrived. */
    private volatile long cachedNanos = -1L;

    LatencyWindow(double percentile, int minSamples, long initialNanos) {
        this.percentile = percentile;
        this.minSamples = minSamples;
        this.initialNanos = initialNanos;
        for (int i = 0; i < SIZE; i++) {
            ring.set(i, UNWRITTEN); // published with the window itself (final field, safe publication)
        }
    }

    /** The current estimate: the percentile once {@code minSamples} samples arrived, the initial value before. */
    long currentNanos() {
        long cached = cachedNanos;
        return cached < 0 ? initialNanos : cached;
    }

    void record(long nanos) {
        long index = (long) SEQUENCE.getAndAdd(this, 1L);
        ring.setRelease((int) (index & (SIZE - 1)), Math.max(0L, nanos));
        long count = index + 1;
        if (count >= minSamples && (count % RECOMPUTE_EVERY == 0 || count == minSamples)
                && COMPUTING.compareAndSet(this, 0, 1)) {
            try {
                int n = 0;
                for (int i = 0; i < SIZE; i++) {
                    long sample = ring.getAcquire(i);
                    if (sample != UNWRITTEN) {
                        scratch[n++] = sample;
                    }
                }
                if (n > 0) {
                    Arrays.sort(scratch, 0, n);
                    int rank = (int) Math.ceil(percentile * n) - 1;
                    cachedNanos = scratch[Math.max(0, Math.min(n - 1, rank))];
                }
            } finally {
                COMPUTING.setRelease(this, 0);
            }
        }
    }
}
