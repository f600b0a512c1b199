package dev.vigil.circuitbreaker;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/** Left padding: keeps {@code head} off the cache line of whatever object precedes this one. */
abstract class CountWindowPadHead extends SlidingWindow {
    long p00, p01, p02, p03, p04, p05, p06, p07;
    long p10, p11, p12, p13, p14, p15, p16;
}

/** The claim counter, written by every record. */
abstract class CountWindowHead extends CountWindowPadHead {
    volatile long head;
}

/** Padding between {@code head} (written per call) and {@code totals} (written only when they change). */
abstract class CountWindowPadTotals extends CountWindowHead {
    long p20, p21, p22, p23, p24, p25, p26, p27;
    long p30, p31, p32, p33, p34, p35, p36;
}

/** The packed totals. */
abstract class CountWindowTotals extends CountWindowPadTotals {
    volatile long totals;
}

/** Right padding: keeps {@code totals} off the line of the slot array's header and the next object. */
abstract class CountWindowPadTail extends CountWindowTotals {
    long p40, p41, p42, p43, p44, p45, p46, p47;
    long p50, p51, p52, p53, p54, p55, p56;
}

/**
 * The last {@code size} recorded calls, lock-free, one atomic add per record in the steady state.
 *
 * <p><b>Algorithm.</b> A ring of {@code size} slots holds outcome codes (0 = empty). A record claims
 * the next position with one {@code getAndAdd} on {@code head} (XADD: every record gets a distinct
 * position, no retry loop), swaps its code into that slot with {@code getAndSet}, and adds the
 * difference between its code and the evicted one to {@code totals}, which packs three signed 21-bit
 * fields: calls, failures and slow calls. The swap returns every evicted code to exactly one recorder,
 * so each code is added once and subtracted once: at rest {@code totals} equals the sum over the slots
 * exactly, whatever the interleaving. Between a swap and its add the fields can be off by the number of
 * records in flight (even transiently negative); the decoding below is exact for fields within
 * [-2^20, 2^20), which a window of at most {@link #MAX_SIZE} slots keeps unless 48,000 records are
 * between their two steps at once.
 *
 * <p><b>Steady state.</b> When the slot already holds the code being recorded (a healthy service
 * replacing a success with a success), nothing changes, so the record reads the slot and stops: no
 * swap, no add. Benign race: if a recorder a full lap ahead swaps the same slot in between, this
 * record's outcome is the one that disappears instead of the older one; the totals still equal the
 * slots, which is the invariant that matters. Sequentially the window is exactly the last
 * {@code size} calls.
 *
 * <p><b>Memory ordering.</b> The XADD on {@code head} and the swap are full fences; {@code totals} is
 * volatile, and a verdict reads it once, so it sees one consistent packed value. The equality check
 * reads the slot with opaque mode: any value the slot held since the claim is fine to compare with,
 * because the comparison only decides whether a swap would change anything.
 */
final class CountWindow extends CountWindowPadTail {
    /** The largest window: keeps each packed field within 21 signed bits with room for races. */
    static final int MAX_SIZE = 1_000_000;

    private static final int FIELD_BITS = 21;
    private static final long FAILURE_UNIT = 1L << FIELD_BITS;
    private static final long SLOW_UNIT = 1L << (2 * FIELD_BITS);
    private static final VarHandle HEAD;
    private static final VarHandle TOTALS;
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(int[].class);

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            HEAD = lookup.findVarHandle(CountWindowHead.class, "head", long.class);
            TOTALS = lookup.findVarHandle(CountWindowTotals.class, "totals", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int size;
    private final int[] slots;

    CountWindow(int size) {
        this.size = size;
        this.slots = new int[size];
    }

    @Override
    void record(int code) {
        long position = (long) HEAD.getAndAdd(this, 1L); // XADD: claims a distinct position, full fence
        int slot = (int) (position % size);
        if ((int) SLOTS.getOpaque(slots, slot) == code) {
            return; // steady state: replacing a code with the same code changes nothing (see class comment)
        }
        int evicted = (int) SLOTS.getAndSet(slots, slot, code); // each evicted code reaches exactly one recorder
        long delta = contribution(code) - contribution(evicted);
        if (delta != 0) {
            TOTALS.getAndAdd(this, delta); // XADD; volatile, so a verdict reads all three fields at once
        }
    }

    private static long contribution(int code) {
        if (code == 0) {
            return 0L;
        }
        return 1L + (isFailure(code) ? FAILURE_UNIT : 0L) + (isSlow(code) ? SLOW_UNIT : 0L);
    }

    @Override
    int verdict(Thresholds thresholds) {
        long packed = totals; // one volatile read: the three fields of one moment
        return thresholds.verdict(calls(packed), failures(packed), slow(packed));
    }

    @Override
    CircuitBreaker.Stats stats(CircuitBreaker.State state) {
        long packed = totals;
        // Between a swap and its add a field can be transiently negative (class comment): show 0.
        return new CircuitBreaker.Stats(state, Math.max(0, calls(packed)), Math.max(0, failures(packed)), Math.max(0, slow(packed)));
    }

    private static long calls(long packed) {
        return low(packed);
    }

    private static long failures(long packed) {
        return low((packed - low(packed)) >> FIELD_BITS);
    }

    private static long slow(long packed) {
        long rest = (packed - low(packed)) >> FIELD_BITS;
        return (rest - low(rest)) >> FIELD_BITS;
    }

    /** The low 21-bit field, sign-extended. */
    private static long low(long packed) {
        return (packed << (64 - FIELD_BITS)) >> (64 - FIELD_BITS);
    }

    @Override
    public String toString() {
        return "CountWindow[size=" + size + "]";
    }
}
