package dev.vigil.bulkhead;

import dev.vigil.core.time.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Collects an {@link AdaptiveLimiter}'s latency samples into windows without a lock: each thread adds to
 * the cell of its home stripe ({@link Stripes}), so concurrent samplers do not share a cache line.
 *
 * <p><b>Sampling.</b> Not every call is measured: reading the clock twice costs more than admitting a
 * call (about 50 ns on the 2-core VM the benchmarks run on). {@link #trySample} picks one admission in
 * {@code sampleEvery} per stripe and stores its start time in the stripe's one sample slot (a CAS from
 * FREE, so at most one sampled call per stripe is in flight); {@link #endSample} returns it and frees the
 * slot. Drops are counted for every call ({@link #recordDrop}), sampled or not.
 *
 * <p><b>Algorithm.</b> A cell holds five longs: count and latency sum (each one {@code getAndAdd}), the
 * least latency and the most calls in flight (read, and CAS only when the sample beats them: rare once a
 * window has a few samples) and the drop count (one {@code getAndAdd}, only for drops). Every
 * {@code checkEvery} samples of its own cell, a sampler sums the counts of all cells; if the window is
 * full it tries to become the closer with one CAS on {@code closing} (0 to 1; acquire). The closer
 * takes every cell's values with {@code getAndSet} (resetting them), summarizes them into the
 * {@link LimitAlgorithm.Window} fields this object exposes, and the limiter runs the estimator; then
 * {@link #reopen()} sets {@code closing} back to 0 with release semantics, which publishes the summary
 * fields and the estimator's state to the next closer (whose CAS acquires them). So the estimator runs
 * on one thread at a time, with happens-before between runs.
 *
 * <p><b>Benign races.</b> The fields of one sample are added separately, so a window may take a sample's
 * count and the next window its latency (the two windows' means are each off by one sample, never
 * lost overall); samples that arrive while a close is running land in the next window.
 */
final class SampleWindow implements LimitAlgorithm.Window {
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle CLOSING;
    private static final int COUNT = 0;
    private static final int SUM = 1;
    private static final int MIN = 2;
    private static final int MAX_IN_FLIGHT = 3;
    private static final int DROPPED = 4;
    /** Calls admitted on this stripe (a plain counter: lost increments only shift which call is sampled). */
    private static final int CALLS = 5;
    /** The ticker reading at the admission of this stripe's sampled call in flight, or {@link #FREE}. */
    private static final int START = 6;
    private static final long FREE = Long.MIN_VALUE;
    /** The most stripes: a sampled permit names its stripe in 4 bits. */
    static final int MAX_STRIPES = 16;

    static {
        try {
            CLOSING = MethodHandles.lookup().findVarHandle(SampleWindow.class, "closing", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long[] cells;
    private final int mask;
    private final int windowSamples;
    private final int checkEvery;
    private final int sampleMask;
    @SuppressWarnings("unused") // accessed through CLOSING
    private volatile int closing;

    // The last closed window's summary: written by the closer only, published by reopen().
    private int samples;
    private long averageRtt;
    private long minRtt;
    private int maxInFlight;
    private int dropped;

    /**
     * @param windowSamples samples per window, at least 1
     * @param sampleEvery   one admitted call in this many is sampled; a power of two
     * @param stripes       a power of two, at most {@link #MAX_STRIPES}
     */
    SampleWindow(int windowSamples, int sampleEvery, int stripes) {
        this.windowSamples = windowSamples;
        this.sampleMask = sampleEvery - 1;
        this.mask = stripes - 1;
        this.checkEvery = Math.max(1, windowSamples / stripes);
        this.cells = new long[Stripes.length(stripes)];
        for (int stripe = 0; stripe < stripes; stripe++) {
            cells[Stripes.slot(stripe) + MIN] = Long.MAX_VALUE; // published with the window (final field)
            cells[Stripes.slot(stripe) + START] = FREE;
        }
    }

    /**
     * Decides whether the call being admitted is sampled: every {@code sampleEvery}-th admission on the
     * caller's stripe is, if the stripe's sample slot is free (one sampled call in flight per stripe);
     * only then is the clock read. The counter is read and written with opaque accesses, not atomically:
     * threads sharing a stripe may lose an increment, which only shifts which call is sampled.
     *
     * @return the stripe whose slot now holds the admission time, or -1 if this call is not sampled
     */
    int trySample(Ticker ticker) {
        int stripe = Stripes.home(mask);
        int at = Stripes.slot(stripe);
        long calls = (long) CELL.getOpaque(cells, at + CALLS);
        CELL.setOpaque(cells, at + CALLS, calls + 1);
        if ((calls & sampleMask) != 0 || (long) CELL.getOpaque(cells, at + START) != FREE) {
            return -1;
        }
        long now = ticker.read();
        // Claim the slot; the CAS fails if another call on this stripe claimed it since the check.
        return now != FREE && CELL.compareAndSet(cells, at + START, FREE, now) ? stripe : -1;
    }

    /**
     * Ends a sampled call: frees its stripe's slot.
     *
     * @return the ticker reading stored at its admission
     */
    long endSample(int stripe) {
        int at = Stripes.slot(stripe) + START;
        long start = (long) CELL.getVolatile(cells, at);
        CELL.setRelease(cells, at, FREE); // the next claimer's CAS orders after this
        return start;
    }

    /** Counts a dropped call that was not sampled: drops are rare and matter, so every one counts. */
    void recordDrop() {
        CELL.getAndAdd(cells, Stripes.slot(Stripes.home(mask)) + DROPPED, 1L);
    }

    /**
     * Adds one sample.
     *
     * @return true if the window is full and the caller became its closer: it must read the summary,
     *         then call {@link #reopen()} (in a {@code finally})
     */
    boolean record(long rttNanos, int inFlight, boolean drop) {
        int at = Stripes.slot(Stripes.home(mask));
        long rtt = Math.max(1L, rttNanos);
        long count = (long) CELL.getAndAdd(cells, at + COUNT, 1L) + 1;
        CELL.getAndAdd(cells, at + SUM, rtt);
        long least = (long) CELL.getOpaque(cells, at + MIN);
        while (rtt < least && !CELL.compareAndSet(cells, at + MIN, least, rtt)) {
            least = (long) CELL.getVolatile(cells, at + MIN);
        }
        long most = (long) CELL.getOpaque(cells, at + MAX_IN_FLIGHT);
        while (inFlight > most && !CELL.compareAndSet(cells, at + MAX_IN_FLIGHT, most, (long) inFlight)) {
            most = (long) CELL.getVolatile(cells, at + MAX_IN_FLIGHT);
        }
        if (drop) {
            CELL.getAndAdd(cells, at + DROPPED, 1L);
        }
        return count % checkEvery == 0 && full() && CLOSING.compareAndSet(this, 0, 1) && stillFull();
    }

    /** As the closer: a closer before us may have taken the samples since our check. */
    private boolean stillFull() {
        if (full()) {
            close();
            return true;
        }
        reopen();
        return false;
    }

    private boolean full() {
        long total = 0;
        for (int stripe = 0; stripe <= mask; stripe++) {
            total += (long) CELL.getVolatile(cells, Stripes.slot(stripe) + COUNT);
        }
        return total >= windowSamples;
    }

    /** Takes and resets every cell (as the closer) into the summary fields. */
    private void close() {
        long count = 0;
        long sum = 0;
        long least = Long.MAX_VALUE;
        long most = 0;
        long drops = 0;
        for (int stripe = 0; stripe <= mask; stripe++) {
            int at = Stripes.slot(stripe);
            count += (long) CELL.getAndSet(cells, at + COUNT, 0L);
            sum += (long) CELL.getAndSet(cells, at + SUM, 0L);
            least = Math.min(least, (long) CELL.getAndSet(cells, at + MIN, Long.MAX_VALUE));
            most = Math.max(most, (long) CELL.getAndSet(cells, at + MAX_IN_FLIGHT, 0L));
            drops += (long) CELL.getAndSet(cells, at + DROPPED, 0L);
        }
        samples = (int) Math.min(Integer.MAX_VALUE, count);
        averageRtt = Math.max(1L, sum / count);
        // A sample's count and latency may land in different windows (see Benign races), so the mean of the
        // counts taken may fall below the least latency taken; the summary keeps least <= mean, as any set of
        // samples has, for estimators that compare the two (Vegas, Gradient2).
        minRtt = least == Long.MAX_VALUE ? averageRtt : Math.min(least, averageRtt);
        maxInFlight = (int) most;
        dropped = (int) Math.min(Integer.MAX_VALUE, drops);
    }

    /** Ends a close: publishes the summary and the estimator's state to the next closer. */
    void reopen() {
        CLOSING.setRelease(this, 0);
    }

    @Override
    public int samples() {
        return samples;
    }

    @Override
    public long averageRttNanos() {
        return averageRtt;
    }

    @Override
    public long minRttNanos() {
        return minRtt;
    }

    @Override
    public int maxInFlight() {
        return maxInFlight;
    }

    @Override
    public int dropped() {
        return dropped;
    }

    @Override
    public String toString() {
        return samples + " samples, mean " + averageRtt / 1000 + " us, min " + minRtt / 1000 + " us, max in flight "
                + maxInFlight + ", " + dropped + " dropped";
    }
}
