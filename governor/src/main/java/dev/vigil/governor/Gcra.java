package dev.vigil.governor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The generic cell rate algorithm over one or more limits, shared by {@link RateLimiter} (one set of
 * cells) and {@link KeyedRateLimiter} (a set per key).
 *
 * <p><b>Algorithm.</b> Each limit {@code i} lets one permit through every {@code interval[i]}
 * nanoseconds with a burst of {@code burst[i]}. Its whole state is one {@code long}, the theoretical
 * arrival time {@code tat}: the moment at which the bucket would be full again if nothing else were
 * taken. Taking {@code n} permits at time {@code now} moves it to
 * {@code next = max(tat, now) + n * interval}, which conforms if {@code next - now <= tolerance} with
 * {@code tolerance = burst * interval}. That is a token bucket of {@code burst} tokens refilled one per
 * interval, without a refill step: over any window of length {@code W} at most
 * {@code W / interval + burst} permits get through, and with demand above the rate exactly one per
 * interval does (no drift: nothing is rounded per call). A reservation that may wait up to
 * {@code extra} nanoseconds conforms if {@code next - now <= tolerance + extra} and its caller waits
 * {@code next - now - tolerance}. A warm-up stretches the cost of a permit ({@code cost >= interval}
 * always, so the bound holds); a cost above the tolerance conforms only on a full bucket (the
 * allowance is then the cost), so a cold limiter with a small burst still lets one call through per
 * cold interval, and the bound still holds (the calls before the last one in a window are spaced at
 * least an interval apart).
 *
 * <p>{@link #DEAD} ({@code Long.MIN_VALUE}) is reserved for evicted keys: a computed state that
 * would equal it is moved one nanosecond later, so the marker is never written but by an eviction.
 *
 * <p><b>Memory ordering.</b> Each {@code tat} is read with acquire semantics and moved by
 * compare-and-exchange (volatile), so a taker linearizes at its successful CAS; refusals linearize at
 * the read that saw too little room. A state that only moves forward, one word per limit, needs no
 * other fences.
 *
 * <p><b>Several limits.</b> A call needs every limit's consent, and there is no CAS over several words.
 * The limits are first checked read-only (a refusal then changes nothing); the limit with the least
 * room is reserved first, then the others; if one of them refuses after all (another thread took the
 * room between the check and the reservation), the reservations already made are undone. An undo is a
 * single CAS from the value this call wrote back to the value it replaced, so it succeeds only while no
 * later reservation sits on top of this one: then the state is exactly as if this call had never come.
 * If a later one does sit on top, the undo is abandoned and those permits pass unused: the limiter errs
 * towards admitting fewer, never more, than each limit allows. (Subtracting the cost instead would be
 * wrong: a later call that found the bucket full would have been charged from "now", and the subtraction
 * would hand it capacity from before its arrival.)
 *
 * <p>Thread-safe; every method is lock-free and allocation-free.
 */
final class Gcra {
    /** Cells of keyed entries that were evicted: any reservation on them must look the key up again. */
    static final long DEAD = Long.MIN_VALUE;
    /** Returned by {@link #reserve} for a cell marked {@link #DEAD}; never a valid result otherwise. */
    static final long EVICTED = Long.MIN_VALUE;
    /** The largest wait {@link #reserve} reports, so that {@code ~wait} never collides with {@link #EVICTED}. */
    private static final long MAX_WAIT = Long.MAX_VALUE >> 1;

    static final VarHandle CELLS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] intervals;
    private final long[] tolerances;
    private final int count;
    /** The smallest burst: the most permits one call may ask for (more could never conform). */
    private final long maxPermits;

    Gcra(long[] intervals, long[] tolerances, long maxPermits) {
        this.intervals = intervals.clone();
        this.tolerances = tolerances.clone();
        this.count = intervals.length;
        this.maxPermits = maxPermits;
    }

    /** @throws IllegalArgumentException unless {@code 1 <= permits <= } the smallest burst */
    void checkPermits(int permits) {
        if (permits < 1 || permits > maxPermits) {
            throw new IllegalArgumentException("permits must be in [1, " + maxPermits + "] (the smallest burst), was " + permits);
        }
    }

    int count() {
        return count;
    }

    /** Sets every limit's cells to "full bucket at {@code now}"; before the cells are shared. */
    void init(long[] cells, int offset, int stride, long now) {
        for (int i = 0; i < count; i++) {
            cells[offset + i * stride] = live(now);
        }
    }

    /**
     * A state value that is never {@link #DEAD}: only an eviction writes the marker, so a state that
     * happens to be {@code Long.MIN_VALUE} (a ticker near overflow) is stored one nanosecond later (the
     * decision at hand used the exact value; later ones see a bucket one nanosecond emptier).
     */
    private static long live(long tat) {
        return tat == DEAD ? tat + 1 : tat;
    }

    /**
     * How far past {@code now} a limit's state may move and still conform: its tolerance, or, for a
     * cost above it (a warm-up stretches costs), the cost itself, so that a full bucket still lets one
     * call through at the cold rate instead of none ever.
     */
    private static long allowance(long cost, long tolerance) {
        return cost > tolerance ? cost : tolerance;
    }

    /**
     * The cost of {@code permits} on one limit, stretched by {@code factor >= 1} during warm-up.
     * Exact integer arithmetic when warm (the hot path).
     */
    long cost(int limit, int permits, double factor) {
        long plain = permits * intervals[limit];
        return factor == 1.0 ? plain : (long) Math.ceil(plain * factor);
    }

    /**
     * Reserves {@code permits} on every limit if each lets them through within {@code extra}
     * nanoseconds of {@code now}.
     *
     * @param record null, or {@code 2 * count()} longs that receive, per limit, the replaced and the
     *               written state (for {@link #undo}); only waiting callers, off the hot path, pass one
     * @return the wait before the permits may be used ({@code >= 0}; 0 when they conform now) if
     *     reserved; otherwise {@code ~needed} (negative), where {@code needed} is the shortest wait with
     *     which they would have conformed; or {@link #EVICTED} if a cell is dead
     */
    long reserve(long[] cells, int offset, int stride, int permits, long now, long extra, double factor, long[] record) {
        if (count == 1) {
            return reserveOne(cells, offset, cost(0, permits, factor), tolerances[0], now, extra, record);
        }
        // Read-only check first: a refusal, the common case at saturation, then changes nothing.
        long needed = 0;
        long leastRoom = Long.MAX_VALUE;
        int first = 0;
        for (int i = 0; i < count; i++) {
            long tat = (long) CELLS.getAcquire(cells, offset + i * stride);
            if (tat == DEAD) {
                return EVICTED;
            }
            long wait = waitFor(tat, now, cost(i, permits, factor), tolerances[i]);
            needed = Math.max(needed, wait);
            if (extra - wait < leastRoom) {
                leastRoom = extra - wait;
                first = i;
            }
        }
        if (needed > extra) {
            return ~Math.min(needed, MAX_WAIT);
        }
        return reserveFrom(0, first, cells, offset, stride, permits, now, extra, factor, record);
    }

    /**
     * Reserves the limits from position {@code position} on (position 0 is {@code first}, then the
     * others in order), recursing so that each level keeps its own undo information in locals: no
     * allocation, depth at most the number of limits.
     */
    private long reserveFrom(int position, int first, long[] cells, int offset, int stride, int permits,
                             long now, long extra, double factor, long[] record) {
        if (position == count) {
            return 0;
        }
        int limit = position == 0 ? first : (position <= first ? position - 1 : position);
        int index = offset + limit * stride;
        long cost = cost(limit, permits, factor);
        long tolerance = tolerances[limit];
        long tat = (long) CELLS.getAcquire(cells, index);
        long next;
        long wait;
        for (;;) {
            if (tat == DEAD) {
                return EVICTED;
            }
            long exact = (tat - now > 0 ? tat : now) + cost;
            wait = exact - now - allowance(cost, tolerance);
            next = live(exact);
            if (wait > extra) {
                return ~Math.min(wait, MAX_WAIT);
            }
            long witness = (long) CELLS.compareAndExchange(cells, index, tat, next);
            if (witness == tat) {
                break;
            }
            tat = witness;
            Thread.onSpinWait(); // as in reserveOne
        }
        if (record != null) {
            record[2 * limit] = tat;
            record[2 * limit + 1] = next;
        }
        long rest = reserveFrom(position + 1, first, cells, offset, stride, permits, now, extra, factor, record);
        if (rest < 0) {
            // Undo only while this reservation is still the latest one (see the class comment):
            // restoring the replaced value is then exact; otherwise the permits pass unused.
            CELLS.compareAndSet(cells, index, next, tat);
            return rest;
        }
        return Math.max(rest, Math.max(wait, 0));
    }

    /**
     * One limit: a CAS loop on its cell, re-reading only the cell (never the clock) on contention. The
     * same step as one level of {@link #reserveFrom}, kept apart for the one-limit hot path: going
     * through {@code reserveFrom} with one limit was measured slower (30.0 against 26.7 ns at 1 thread).
     */
    private static long reserveOne(long[] cells, int index, long cost, long tolerance, long now, long extra, long[] record) {
        long tat = (long) CELLS.getAcquire(cells, index);
        for (;;) {
            if (tat == DEAD) {
                return EVICTED;
            }
            // Differences, not comparisons of raw readings: tickers may start anywhere, even near overflow.
            long exact = (tat - now > 0 ? tat : now) + cost;
            long wait = exact - now - allowance(cost, tolerance);
            long next = live(exact);
            if (wait > extra) {
                return ~Math.min(wait, MAX_WAIT);
            }
            long witness = (long) CELLS.compareAndExchange(cells, index, tat, next);
            if (witness == tat) {
                if (record != null) {
                    record[0] = tat;
                    record[1] = next;
                }
                return wait > 0 ? wait : 0;
            }
            tat = witness;
            // Lost the race: another thread moved the word. A pause before trying again keeps two
            // threads from failing in lockstep (measured: without it, 2-thread runs were sometimes 2.5x
            // slower, with it never in 6 runs). The retry needs no new clock reading.
            Thread.onSpinWait();
        }
    }

    /**
     * Gives back a reservation that {@link #reserve} recorded in {@code reserved}, on each limit where
     * it is still the latest (see the class comment). Used when a thread waiting for reserved permits
     * is interrupted. Where a later reservation sits on top, the permits pass unused.
     */
    void undo(long[] cells, int offset, int stride, long[] reserved) {
        for (int i = 0; i < count; i++) {
            CELLS.compareAndSet(cells, offset + i * stride, reserved[2 * i + 1], reserved[2 * i]);
        }
    }

    /** The wait before {@code cost} more conforms on a limit whose state is {@code tat}; 0 if it does now. */
    static long waitFor(long tat, long now, long cost, long tolerance) {
        long wait = (tat - now > 0 ? tat : now) + cost - now - allowance(cost, tolerance);
        return wait > 0 ? wait : 0;
    }

    /** The shortest wait before {@code permits} would conform on every limit; read-only. */
    long waitFor(long[] cells, int offset, int stride, int permits, long now, double factor) {
        long needed = 0;
        for (int i = 0; i < count; i++) {
            long tat = (long) CELLS.getAcquire(cells, offset + i * stride);
            needed = Math.max(needed, waitFor(tat, now, cost(i, permits, factor), tolerances[i]));
        }
        return needed;
    }

    /** The permits that would conform now on every limit, one call at a time, at a warm-up stretch of {@code factor}; read-only. */
    long available(long[] cells, int offset, int stride, long now, double factor) {
        long available = Long.MAX_VALUE;
        for (int i = 0; i < count; i++) {
            long tat = (long) CELLS.getAcquire(cells, offset + i * stride);
            long used = tat - now > 0 ? tat - now : 0;
            long cost = cost(i, 1, factor);
            long here = Math.max(0, (tolerances[i] - used) / cost);
            // A full bucket lets one call through even when a cold cost exceeds the tolerance (see allowance).
            available = Math.min(available, here == 0 && used == 0 ? 1 : here);
        }
        return available;
    }

    /** Whether every limit's bucket is full at {@code now}: the state is then the same as a fresh one. */
    boolean idle(long[] cells, int offset, int stride, long now) {
        for (int i = 0; i < count; i++) {
            long tat = (long) CELLS.getAcquire(cells, offset + i * stride);
            if (tat == DEAD || tat - now > 0) {
                return false;
            }
        }
        return true;
    }
}
