package dev.vigil.core;

import dev.vigil.core.time.Ticker;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Finagle-style retry budget over recent requests ({@link RetryBudget#percentOfRequests()}).
 *
 * <p>Algorithm: time is cut into slices of {@code ttl / 10}; the window is the current slice and the
 * nine before it. Each slice has two cells in one {@link AtomicLongArray}, deposits (calls) and
 * withdrawals (retries), each a {@code long} packing the slice's index (low 32 bits, high half of the
 * word) and the count (low half). A cell whose index is not the slice it should hold in the window is
 * stale and counts zero; the first writer of a new slice CASes the stale cell to {@code (index, 1)},
 * others increment by CAS (not by add: the count must not carry into the index, and a reset racing
 * with an increment must not be lost). A writer whose own slice is older than the cell's (a thread
 * stalled for a whole ttl, by up to 2^16 slices) drops its update rather than reset a newer slice; an
 * empty cell (count zero, as all are at start) is always free to take.
 *
 * <p>A retry is allowed when {@code reserve + percentCanRetry * deposits - withdrawals >= 1} over the
 * window, with {@code reserve = minRetriesPerSecond * ttl}. Withdrawals at the same slice race on the
 * same cell, and the CAS that records one fails if another was recorded after the balance was read, so
 * concurrent retries never overdraw the budget within a slice. Deposits may race with a withdrawal; they
 * only raise the balance, so reading them slightly late is conservative. Benign imprecision, named:
 * two threads whose clock readings fall on either side of a slice boundary write different cells, so
 * each may see the balance without the other's withdrawal (an overdraw of at most one retry per
 * racing thread, only at a boundary); a reader preempted in the middle of its scan may count later
 * withdrawals of a later slice, and refuse (the safe direction); and the 32-bit slice index aliases
 * for a cell left idle for nearly 2^32 slices (for a 1 s ttl, about 13 years).
 *
 * <p>Cost: every {@link #onCall} and {@link #tryAcquireRetry} reads the clock, and all threads update
 * the current slice's cells, so this budget is slower under contention than the token bucket, whose
 * healthy path is a single read.
 *
 * <p>Allocation-free; lock-free (a CAS fails only when another thread's CAS succeeded).
 */
final class RecentRequestsBudget implements RetryBudget {
    private static final int SLICES = 10;
    private static final long UNIT = 1000L;
    private static final long COUNT_MASK = 0xFFFF_FFFFL;
    /**
     * How many slices a cell may be ahead of a writer for the writer to count as stalled (and drop its
     * update) rather than the cell as stale from long ago (and reset).
     */
    private static final int STALL_LIMIT = 1 << 16;

    private final String name;
    private final Ticker ticker;
    private final long sliceNanos;
    /** Allowed retries per call, in thousandths. */
    private final long permille;
    /** Retries always allowed in a window, in thousandths. */
    private final long reserve;
    private final double percentCanRetry;
    private final Duration ttl;
    private final int minRetriesPerSecond;
    /** Cell {@code 2 * slot} counts deposits, {@code 2 * slot + 1} withdrawals. */
    private final AtomicLongArray cells = new AtomicLongArray(2 * SLICES);
    private final LongAdder denied = new LongAdder();

    RecentRequestsBudget(String name, double percentCanRetry, Duration ttl, int minRetriesPerSecond, Ticker ticker) {
        this.name = name;
        this.ticker = ticker;
        long ttlNanos = ttl.toNanos();
        this.sliceNanos = ttlNanos / SLICES;
        this.permille = Math.round(percentCanRetry * UNIT);
        // Exact in thousandths (no rounding up to whole retries): at most 1e6 * 3.6e12 / 1e6, no overflow.
        this.reserve = minRetriesPerSecond * ttlNanos / 1_000_000L;
        this.percentCanRetry = percentCanRetry;
        this.ttl = ttl;
        this.minRetriesPerSecond = minRetriesPerSecond;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void onCall() {
        long slice = Math.floorDiv(ticker.read(), sliceNanos);
        int cell = 2 * (int) Math.floorMod(slice, (long) SLICES);
        for (long value = cells.get(cell); ; value = cells.get(cell)) {
            long next = incremented(value, slice);
            if (next == value || cells.compareAndSet(cell, value, next)) {
                return;
            }
        }
    }

    @Override
    public void onSuccess() {
        // Only calls earn retries here.
    }

    @Override
    public void onFailure() {
        // Only retries spend.
    }

    @Override
    public boolean tryAcquireRetry() {
        long slice = Math.floorDiv(ticker.read(), sliceNanos);
        int cell = 2 * (int) Math.floorMod(slice, (long) SLICES) + 1;
        for (;;) {
            // Read our withdrawal cell first: the CAS below fails if any withdrawal was recorded in it
            // since, so the balance we check covers every withdrawal at this slice.
            long value = cells.get(cell);
            if (balance(slice) < UNIT) {
                denied.increment();
                return false;
            }
            long next = incremented(value, slice);
            if (next == value) {
                denied.increment(); // the slice's count is saturated, or the slice already expired: refuse
                return false;
            }
            if (cells.compareAndSet(cell, value, next)) {
                return true;
            }
        }
    }

    @Override
    public long available() {
        long balance = balance(Math.floorDiv(ticker.read(), sliceNanos));
        return balance <= 0 ? 0 : balance / UNIT;
    }

    @Override
    public long deniedCount() {
        return denied.sum();
    }

    /**
     * The balance over the window ending at {@code slice}, in thousandths of a retry. Withdrawals are
     * read before deposits: a withdrawal that lands after our read of withdrawals is in our own cell
     * (which the caller's CAS re-checks) or beyond a slice boundary, and deposits read later only make
     * the balance larger by calls that really happened; reading the other way round could count a
     * retry without the call that paid for it and refuse for nothing.
     */
    private long balance(long slice) {
        long withdrawals = 0;
        for (long s = slice - SLICES + 1; s <= slice; s++) {
            withdrawals += countIn(cells.get(2 * (int) Math.floorMod(s, (long) SLICES) + 1), s);
        }
        long deposits = 0;
        for (long s = slice - SLICES + 1; s <= slice; s++) {
            deposits += countIn(cells.get(2 * (int) Math.floorMod(s, (long) SLICES)), s);
        }
        return reserve + deposits * permille - withdrawals * UNIT;
    }

    /** The count of a cell if it holds {@code slice}, else zero (stale). */
    private static long countIn(long value, long slice) {
        return (int) (value >>> 32) == (int) slice ? value & COUNT_MASK : 0L;
    }

    /**
     * The cell's value after counting one more at {@code slice}, or {@code value} itself when nothing
     * may change: the count is saturated, or the cell already holds a newer slice.
     */
    private static long incremented(long value, long slice) {
        int held = (int) (value >>> 32);
        int wanted = (int) slice;
        if (held == wanted) {
            return (value & COUNT_MASK) == COUNT_MASK ? value : value + 1;
        }
        int ahead = held - wanted; // wrap-safe distance; only a nearby newer slice means a stalled writer
        if ((value & COUNT_MASK) != 0 && ahead > 0 && ahead <= STALL_LIMIT) {
            return value; // the cell moved on to a newer slice: drop the stale update
        }
        return ((long) wanted << 32) | 1L;
    }

    @Override
    public String toString() {
        return "RetryBudget[" + name + ", " + permille / 10.0 + "% of requests over " + ttl
                + " + " + minRetriesPerSecond + "/s, available=" + available() + "]";
    }
}
