package dev.vigil.circuitbreaker;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Permits;
import dev.vigil.core.time.Scheduler;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One state of a {@link CircuitBreaker} from the moment it was entered until it is left: the state,
 * the epoch that permits admitted in it carry, and the state's own mutable bookkeeping. A breaker
 * holds its current phase in one volatile reference and changes state by CAS to a new phase, so a
 * transition is one atomic step and the new phase starts with fresh counts. Outcomes of permits from
 * an older epoch find a different phase and are ignored; adds that race with a transition land on the
 * old phase's objects, which nothing reads any more.
 *
 * <p><b>Half-open probes</b> live in one {@code long}, four 16-bit fields updated together by CAS:
 * in flight (bits 0-15), recorded (16-31), failed (32-47) and slow (48-63). A probe is admitted only
 * if in-flight + recorded stays within the permitted number, in the same CAS that counts it, so no
 * interleaving admits more; a cancelled or ignored probe leaves in-flight without being recorded and
 * so frees its slot; the probe whose record makes recorded equal the permitted number is the only one
 * that sees that value, and it decides.
 *
 * <p>Thread-safe; fields are final but the probe word, the consecutive-failure counter and the timer.
 */
final class Phase {
    private static final VarHandle PROBES;
    private static final VarHandle CONSECUTIVE_FAILURES;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            PROBES = lookup.findVarHandle(Phase.class, "probes", long.class);
            CONSECUTIVE_FAILURES = lookup.findVarHandle(Phase.class, "consecutiveFailures", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final long IN_FLIGHT_UNIT = 1L;
    static final long RECORDED_UNIT = 1L << 16;
    static final long FAILED_UNIT = 1L << 32;
    static final long SLOW_UNIT = 1L << 48;
    private static final long FIELD = 0xFFFFL;

    final CircuitBreaker.State state;
    final int epoch;
    /** The permit every call admitted in this phase gets (CLOSED, DISABLED) or the probe permit (HALF_OPEN). */
    final long permit;
    /** CLOSED, DISABLED: the window calls are recorded in. OPEN: the window that tripped, for stats; may be null. */
    final SlidingWindow window;
    final long enteredNanos;
    /** OPEN: when calls may be probed again. */
    final long openUntilNanos;
    /** OPEN, HALF_OPEN: how many times in a row the breaker opened without closing in between. */
    final int trips;
    /** OPEN, HALF_OPEN: the last open duration (a decorrelated-jitter back-off grows from it). */
    final long openNanos;

    @SuppressWarnings("unused") // through PROBES
    private volatile long probes;
    @SuppressWarnings("unused") // through CONSECUTIVE_FAILURES
    private volatile int consecutiveFailures;
    /** The pending scheduled transition out of this phase, if any; written once after the phase is published. */
    volatile Scheduler.Task timer;

    Phase(CircuitBreaker.State state, int epoch, SlidingWindow window, long enteredNanos, long openUntilNanos, int trips,
            long openNanos) {
        this.state = state;
        this.epoch = epoch;
        this.permit = Permits.of(epoch, state.ordinal());
        this.window = window;
        this.enteredNanos = enteredNanos;
        this.openUntilNanos = openUntilNanos;
        this.trips = trips;
        this.openNanos = openNanos;
    }

    /** @return a probe permit, or {@link AdmissionPolicy#REJECTED} if {@code permitted} probes are in flight or recorded */
    long tryAcquireProbe(int permitted) {
        long word;
        do {
            word = (long) PROBES.getVolatile(this);
            if (inFlight(word) + recorded(word) >= permitted) {
                return AdmissionPolicy.REJECTED;
            }
        } while (!PROBES.compareAndSet(this, word, word + IN_FLIGHT_UNIT)); // the check and the count in one step
        return permit;
    }

    /**
     * Ends a probe with an outcome code (0 for ignored: frees the slot, records nothing).
     *
     * @return the probe word after this probe's update
     */
    long completeProbe(int code) {
        long delta = -IN_FLIGHT_UNIT;
        if (code != 0) {
            delta += RECORDED_UNIT + (SlidingWindow.isFailure(code) ? FAILED_UNIT : 0L) + (SlidingWindow.isSlow(code) ? SLOW_UNIT : 0L);
        }
        // XADD: in-flight >= 1 (this probe), and recorded stays <= permitted, so no field borrows or carries.
        return (long) PROBES.getAndAdd(this, delta) + delta;
    }

    /** Ends a probe that did not run to an outcome: frees its slot. */
    void releaseProbe() {
        PROBES.getAndAdd(this, -IN_FLIGHT_UNIT); // XADD; in-flight >= 1 (this probe)
    }

    long probes() {
        return (long) PROBES.getVolatile(this);
    }

    static int inFlight(long word) {
        return (int) (word & FIELD);
    }

    static int recorded(long word) {
        return (int) ((word >>> 16) & FIELD);
    }

    static int failed(long word) {
        return (int) ((word >>> 32) & FIELD);
    }

    static int slow(long word) {
        return (int) ((word >>> 48) & FIELD);
    }

    /** @return the number of failures in a row, including this one */
    int addConsecutiveFailure() {
        return (int) CONSECUTIVE_FAILURES.getAndAdd(this, 1) + 1; // XADD
    }

    /** Resets the failure run after a success; writes only if there is a run, so the healthy path only reads. */
    void clearConsecutiveFailures() {
        if ((int) CONSECUTIVE_FAILURES.getOpaque(this) != 0) {
            // Plain-volatile store: a failure racing with this success may be lost from the run, which is
            // the order "failure, then success" anyway.
            CONSECUTIVE_FAILURES.setVolatile(this, 0);
        }
    }

    @Override
    public String toString() {
        return state + "#" + epoch;
    }
}
