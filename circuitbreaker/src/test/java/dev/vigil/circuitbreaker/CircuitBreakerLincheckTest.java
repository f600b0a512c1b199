package dev.vigil.circuitbreaker;

import static dev.vigil.core.testing.LincheckScenarios.call;
import static dev.vigil.core.testing.LincheckScenarios.scenario;
import static dev.vigil.core.testing.LincheckScenarios.assumeModelCheckingSupported;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vigil.circuitbreaker.CircuitBreaker.State;
import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Outcome;
import dev.vigil.core.Permits;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.testing.LincheckScenarios.HeldPermits;
import dev.vigil.core.testing.LincheckScenarios.Budget;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.locks.ReentrantLock;

import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.LincheckAssertionError;
import org.jetbrains.kotlinx.lincheck.Options;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Param;

import org.jetbrains.kotlinx.lincheck.paramgen.IntGen;
import org.jetbrains.kotlinx.lincheck.paramgen.ThreadIdGen;
import org.jetbrains.kotlinx.lincheck.strategy.managed.ManagedStrategyGuaranteeKt;
import org.junit.jupiter.api.Test;

/**
 * Linearizability of the {@link CircuitBreaker} and of its half-open probe word ({@link Phase}), under
 * both Lincheck strategies (the time window, moved by a timer, is checked in {@link WindowTest}), each against a small sequential model written
 * from the javadoc (not against the implementation), so a check fails both when a concurrent history
 * has no linearization and when the sequential behaviour departs from the documented semantics.
 *
 * <p><b>Permits across operations.</b> A call is two steps, admission and its end, and a half-open
 * probe holds its slot in between: "acquire and complete" as one operation is not linearizable (a
 * probe rejected while another is in flight has no explanation if the other's acquisition and
 * completion are one atomic step). So every breaker scenario has one operation,
 * {@code step(thread, kind)}, that admits a call if the thread holds no permit and otherwise ends the
 * permit it holds, by kind: success, ignored, cancelled (release), slow success or failure. Permits
 * are kept per Lincheck thread ({@link ThreadIdGen}: 0 is the init part, then the parallel threads,
 * then the post part), and the models keep the same per-thread permits with the epoch they were
 * admitted in, so outcomes of permits from an earlier state are ignored as documented.
 *
 * <p><b>Configurations, and what is left out.</b> The breaker's state changes by one CAS on its
 * phase, and that CAS is where a transition linearizes; the scenarios keep out the few history shapes
 * in which something observable happens between a decision and its CAS:
 * <ul>
 *   <li>A trip decided on the run of failures (or on a rate) lands after a racing success that
 *       completed, and was observed, while the breaker was still closed
 *       ({@link #aTripIsDecidedBeforeItsCas()} shows it). One consecutive failure is immune (it trips
 *       whatever the success did); two are checked without an init part, which leaves no thread to
 *       observe; the rate scenario's threshold needs more calls than three threads hold.</li>
 *   <li>A lazy transition to half-open is made by a call that may then lose the probe to another
 *       ({@link #aLazyTransitionIsNotPartOfTheCallThatMakesIt()}): time-driven scenarios have as many
 *       probes as threads; the others use a fixed clock (open lasts until a manual transition).</li>
 *   <li>Time advances race only with successes, ignored outcomes and cancellations: a transition to
 *       {@code OPEN} reads the clock, then CASes, so an advance in between starts the open duration
 *       at an older reading. No clock-then-CAS design avoids that.</li>
 *   <li>{@code stats()} is observed only where no transition can happen (the disabled breaker, and
 *       {@link Phase} alone): the record or probe that causes a transition is counted before the
 *       CAS, so a snapshot in between shows counts (say, {@code permitted} recorded probes while
 *       half-open) that no sequential state has.</li>
 *   <li>Count windows are larger than the number of records in a scenario: under concurrent eviction
 *       their totals are exact at rest only (see {@link CountWindow}); {@link CircuitBreakerStressTest}
 *       checks that.</li>
 * </ul>
 *
 * <p>Each scenario is a public static nested class (Lincheck needs one class per set of operations);
 * surefire does not run nested classes on their own, the tests in this class do.
 */
public class CircuitBreakerLincheckTest {
    private static final String QUIET_LOGGER = "org.slf4j.simpleLogger.log.dev.vigil.circuitbreaker";

    static {
        // Every transition logs a line (WARN when opening): thousands per run here. Quieten the breaker's
        // logger unless the build configured it (slf4j-simple reads this when the logger is created).
        if (System.getProperty(QUIET_LOGGER) == null) {
            System.setProperty(QUIET_LOGGER, "error");
        }
    }

    /** Runs the checks below; the scenarios are the nested classes. */
    public CircuitBreakerLincheckTest() {
        // no state
    }

    // ---------------------------------------------------------------- kinds of ends

    /** {@code step} kinds. Scenarios without failures (or slow calls) draw from 0 to 2 only. */
    static final int SUCCESS = 0;
    static final int IGNORED = 1;
    static final int CANCEL = 2;
    static final int SLOW_SUCCESS = 3;
    static final int FAILURE = 4;

    /** The elapsed time passed with {@link #SLOW_SUCCESS}: at least the scenarios' slow-call duration. */
    static final long SLOW_NANOS = Duration.ofSeconds(2).toNanos();
    static final Duration SLOW_CALL = Duration.ofSeconds(1);

    static final String REJECTED = "rejected";
    static final String ENDED = "ended";

    /**
     * The result of an admission in the state of this ordinal (as the state gauge documents it: 0
     * closed, 1 open, 2 half-open, 3 forced open, 4 disabled): constants, so that model checking sees
     * no shared read here.
     */
    static String admittedIn(int ordinal) {
        switch (ordinal) {
            case 0:
                return "admitted in CLOSED";
            case 2:
                return "admitted in HALF_OPEN";
            case 4:
                return "admitted in DISABLED";
            default:
                return "admitted with slot " + ordinal + ", which is no admitting state";
        }
    }

    /** Thread ids: 0 for the init part, 1 to 3 for the parallel threads, 4 for the post part. */
    static final int THREAD_IDS = 5;
    /** Scenarios per check, executions per scenario, operations per thread and part: see {@link Budget}. */
    private static final Budget BUDGET = Budget.of(5, 50, 2);

    /**
     * One step of a call on a breaker: admits if thread {@code tid} holds no permit (and reports the
     * state the permit was admitted in, which the breaker encodes in the permit's slot), otherwise ends
     * the held permit as {@code kind} says.
     */
    static String step(AdmissionPolicy policy, HeldPermits held, int tid, int kind) {
        long permit = held.get(tid);
        if (permit == AdmissionPolicy.REJECTED) {
            long acquired = policy.tryAcquirePermit();
            if (acquired == AdmissionPolicy.REJECTED) {
                return REJECTED;
            }
            held.set(tid, acquired);
            return admittedIn(Permits.slot(acquired));
        }
        held.set(tid, AdmissionPolicy.REJECTED);
        switch (kind) {
            case SUCCESS:
                policy.complete(permit, Outcome.SUCCESS, 0L);
                break;
            case IGNORED:
                policy.complete(permit, Outcome.IGNORED, 0L);
                break;
            case SLOW_SUCCESS:
                policy.complete(permit, Outcome.SUCCESS, SLOW_NANOS);
                break;
            case FAILURE:
                policy.complete(permit, Outcome.FAILURE, 0L);
                break;
            default:
                policy.release(permit);
        }
        return ENDED;
    }

    // ---------------------------------------------------------------- the sequential model

    /** How an open breaker's time passes in a model. */
    enum Clock {
        /** Never: open lasts until a manual transition. */
        FIXED,
        /** Moved by {@code advance()}, as a {@link ManualScheduler}. */
        MANUAL
    }

    /**
     * The documented semantics of {@link CircuitBreaker} for the configurations below, with a count
     * window that never evicts. Subclasses fix the configuration and the initial state.
     */
    public abstract static class BreakerModel {
        private final int permitted;
        private final int consecutiveLimit;
        private final int minimumCalls;
        private final double failurePercent;
        private final double slowPercent;
        private final boolean slowTracked;
        private final Clock clock;
        private final long openNanos;
        private final long advanceNanos;
        private final boolean automaticHalfOpen;

        private State state = State.CLOSED;
        private int epoch;
        private long now;
        private long openUntil;
        /** CLOSED, DISABLED: the window (never evicting) and the run of failures. */
        private int calls;
        private int failed;
        private int slow;
        private int run;
        /** HALF_OPEN: the probes. */
        private int inFlight;
        private int recorded;
        private int probesFailed;
        private int probesSlow;
        /** Per thread: -1 if no permit is held, else the epoch it was admitted in. */
        private final int[] held = new int[THREAD_IDS];

        BreakerModel(int permitted, int consecutiveLimit, int minimumCalls, double failurePercent, double slowPercent, boolean slowTracked,
                Clock clock, long openNanos, long advanceNanos, boolean automaticHalfOpen) {
            this.permitted = permitted;
            this.consecutiveLimit = consecutiveLimit;
            this.minimumCalls = minimumCalls;
            this.failurePercent = failurePercent;
            this.slowPercent = slowTracked ? slowPercent : Double.POSITIVE_INFINITY;
            this.slowTracked = slowTracked;
            this.clock = clock;
            this.openNanos = openNanos;
            this.advanceNanos = advanceNanos;
            this.automaticHalfOpen = automaticHalfOpen;
            Arrays.fill(held, -1);
        }

        /** {@code minimumCalls} calls or more, and a rate at or above its threshold. */
        private static boolean trips(int calls, int failures, int slowCalls, int minimum, double failurePercent, double slowPercent) {
            if (calls < minimum || calls == 0) {
                return false;
            }
            return failures * 100.0 >= failurePercent * calls || slowCalls * 100.0 >= slowPercent * calls;
        }

        final void enter(State to) {
            epoch++;
            state = to;
            switch (to) {
                case CLOSED:
                case DISABLED:
                    calls = 0;
                    failed = 0;
                    slow = 0;
                    run = 0;
                    break;
                case HALF_OPEN:
                    inFlight = 0;
                    recorded = 0;
                    probesFailed = 0;
                    probesSlow = 0;
                    break;
                case OPEN:
                    openUntil = now + openNanos;
                    break;
                default:
                    break;
            }
        }

        private boolean openElapsed() {
            return clock == Clock.MANUAL && now >= openUntil;
        }

        public String step(int tid, int kind) {
            if (held[tid] < 0) {
                return acquire(tid);
            }
            int admittedEpoch = held[tid];
            held[tid] = -1;
            if (admittedEpoch != epoch) {
                return ENDED; // an outcome from an earlier state: ignored
            }
            if (kind == CANCEL) {
                if (state == State.HALF_OPEN) {
                    inFlight--;
                }
                return ENDED;
            }
            boolean failure = kind == FAILURE;
            boolean recordedCall = kind != IGNORED;
            boolean slowCall = kind == SLOW_SUCCESS && slowTracked;
            switch (state) {
                case CLOSED:
                    if (recordedCall) {
                        recordClosed(failure, slowCall);
                    }
                    break;
                case DISABLED:
                    if (recordedCall) {
                        calls++;
                        failed += failure ? 1 : 0;
                        slow += slowCall ? 1 : 0;
                    }
                    break;
                case HALF_OPEN:
                    inFlight--;
                    if (recordedCall) {
                        recorded++;
                        probesFailed += failure ? 1 : 0;
                        probesSlow += slowCall ? 1 : 0;
                        if (recorded == permitted) {
                            enter(trips(recorded, probesFailed, probesSlow, 1, failurePercent, slowPercent) ? State.OPEN : State.CLOSED);
                        }
                    }
                    break;
                default:
                    break;
            }
            return ENDED;
        }

        private String acquire(int tid) {
            while (true) {
                switch (state) {
                    case CLOSED:
                    case DISABLED:
                        held[tid] = epoch;
                        return admittedIn(state.ordinal());
                    case HALF_OPEN:
                        if (inFlight + recorded < permitted) {
                            inFlight++;
                            held[tid] = epoch;
                            return admittedIn(state.ordinal());
                        }
                        return REJECTED;
                    case OPEN:
                        if (openElapsed()) {
                            enter(State.HALF_OPEN);
                            continue;
                        }
                        return REJECTED;
                    default:
                        return REJECTED;
                }
            }
        }

        private void recordClosed(boolean failure, boolean slowCall) {
            calls++;
            failed += failure ? 1 : 0;
            slow += slowCall ? 1 : 0;
            if (failure) {
                if (consecutiveLimit > 0 && ++run >= consecutiveLimit) {
                    enter(State.OPEN);
                    return;
                }
            } else if (consecutiveLimit > 0) {
                run = 0;
            }
            if ((failure || slowCall) && trips(calls, failed, slow, minimumCalls, failurePercent, slowPercent)) {
                enter(State.OPEN);
            }
        }

        public State state() {
            return state;
        }

        /** Only observed while no transition can happen: see the class comment. */
        public CircuitBreaker.Stats stats() {
            if (state == State.HALF_OPEN) {
                return new CircuitBreaker.Stats(state, recorded, probesFailed, probesSlow);
            }
            return new CircuitBreaker.Stats(state, calls, failed, slow);
        }

        private boolean transitionTo(State to) {
            if (state == to) {
                return false;
            }
            enter(to);
            return true;
        }

        public boolean transitionToClosed() {
            return transitionTo(State.CLOSED);
        }

        public boolean transitionToOpen() {
            return transitionTo(State.OPEN);
        }

        public boolean transitionToHalfOpen() {
            return transitionTo(State.HALF_OPEN);
        }

        public boolean transitionToForcedOpen() {
            return transitionTo(State.FORCED_OPEN);
        }

        public boolean transitionToDisabled() {
            return transitionTo(State.DISABLED);
        }

        public void reset() {
            enter(State.CLOSED);
        }

        public void advance() {
            now += advanceNanos;
            if (automaticHalfOpen && state == State.OPEN && now >= openUntil) {
                enter(State.HALF_OPEN);
            }
        }
    }

    // ---------------------------------------------------------------- half-open probes

    /**
     * Half-open with 2 permitted probes, slow calls tracked: both probes must succeed in time to close
     * (one failure is a 50% failure rate, two slow calls a 100% slow rate); a failure while closed
     * opens again (1 consecutive failure); open lasts until {@code transitionToHalfOpen()} (fixed
     * clock). Admissions never exceed 2 probes in flight or recorded; cancelled and ignored probes free
     * their slot; the probe whose record completes the count decides, at once.
     */
    public static class HalfOpenScenario {
        private final CircuitBreaker breaker = halfOpenBreaker(2);
        private final HeldPermits held = new HeldPermits(THREAD_IDS);

        /** Lincheck creates one instance per explored execution. */
        public HalfOpenScenario() {
            // state is initialised by the field initialisers
        }

        @Operation
        public String step(@Param(gen = ThreadIdGen.class) int tid, @Param(gen = IntGen.class, conf = "0:4") int kind) {
            return CircuitBreakerLincheckTest.step(breaker, held, tid, kind);
        }

        @Operation
        public State state() {
            return breaker.state();
        }

        @Operation
        public boolean transitionToHalfOpen() {
            return breaker.transitionToHalfOpen();
        }
    }

    /** {@link HalfOpenScenario} with a single permitted probe: it alone decides. */
    public static class SingleProbeScenario {
        private final CircuitBreaker breaker = halfOpenBreaker(1);
        private final HeldPermits held = new HeldPermits(THREAD_IDS);

        /** Lincheck creates one instance per explored execution. */
        public SingleProbeScenario() {
            // state is initialised by the field initialisers
        }

        @Operation
        public String step(@Param(gen = ThreadIdGen.class) int tid, @Param(gen = IntGen.class, conf = "0:4") int kind) {
            return CircuitBreakerLincheckTest.step(breaker, held, tid, kind);
        }

        @Operation
        public State state() {
            return breaker.state();
        }

        @Operation
        public boolean transitionToHalfOpen() {
            return breaker.transitionToHalfOpen();
        }
    }

    static CircuitBreaker halfOpenBreaker(int permitted) {
        CircuitBreaker breaker = CircuitBreaker.builder().name("lin-half-open")
                .countWindow(32) // minimumCalls 32: the rates never judge within a scenario
                .consecutiveFailures(1)
                .failureRateThreshold(50)
                .slowCallDuration(SLOW_CALL).slowCallRateThreshold(100)
                .permittedCallsInHalfOpen(permitted)
                .scheduler(new ManualScheduler()) // never advanced: open until a manual transition
                .build();
        breaker.transitionToHalfOpen();
        return breaker;
    }

    /** The model of {@link #halfOpenBreaker} with 2 probes. */
    public static class HalfOpenModel extends BreakerModel {
        /** Lincheck creates one instance per sequential run. */
        public HalfOpenModel() {
            this(2);
        }

        HalfOpenModel(int permitted) {
            super(permitted, 1, 32, 50, 100, true, Clock.FIXED, 0L, 0L, false);
            enter(State.HALF_OPEN);
        }
    }

    /** The model of {@link #halfOpenBreaker} with one probe. */
    public static class SingleProbeModel extends HalfOpenModel {
        /** Lincheck creates one instance per sequential run. */
        public SingleProbeModel() {
            super(1);
        }
    }

    @Test
    void halfOpenModelChecking() {
        assumeModelCheckingSupported();
        LinChecker.check(HalfOpenScenario.class, BUDGET.modelChecking(true, HeldPermits.class).sequentialSpecification(HalfOpenModel.class));
    }

    @Test
    void halfOpenStress() {
        LinChecker.check(HalfOpenScenario.class, BUDGET.stress().sequentialSpecification(HalfOpenModel.class));
    }

    @Test
    void singleProbeModelChecking() {
        assumeModelCheckingSupported();
        LinChecker.check(SingleProbeScenario.class, BUDGET.modelChecking(true, HeldPermits.class).sequentialSpecification(SingleProbeModel.class));
    }

    @Test
    void singleProbeStress() {
        LinChecker.check(SingleProbeScenario.class, BUDGET.stress().sequentialSpecification(SingleProbeModel.class));
    }

    // ---------------------------------------------------------------- closed: rates

    /**
     * Closed over a count window of 16 (never full here) with minimumCalls 3, a failure-rate
     * threshold of 50% and a slow-call-rate threshold of 50%: a failure or a slow call opens the
     * breaker once 3 calls are recorded and half of them failed (or were slow); successes never open
     * it. The clock is fixed, so open lasts until {@code transitionToClosed()}.
     */
    public static class RatesScenario {
        private final CircuitBreaker breaker = CircuitBreaker.builder().name("lin-rates")
                .countWindow(16).minimumCalls(3).failureRateThreshold(50)
                .slowCallDuration(SLOW_CALL).slowCallRateThreshold(50)
                .scheduler(new ManualScheduler())
                .build();
        private final HeldPermits held = new HeldPermits(THREAD_IDS);

        /** Lincheck creates one instance per explored execution. */
        public RatesScenario() {
            // state is initialised by the field initialisers
        }

        @Operation
        public String step(@Param(gen = ThreadIdGen.class) int tid, @Param(gen = IntGen.class, conf = "0:4") int kind) {
            return CircuitBreakerLincheckTest.step(breaker, held, tid, kind);
        }

        @Operation
        public State state() {
            return breaker.state();
        }

        @Operation
        public boolean transitionToClosed() {
            return breaker.transitionToClosed();
        }
    }

    /** The model of {@link RatesScenario}. */
    public static class RatesModel extends BreakerModel {
        /** Lincheck creates one instance per sequential run. */
        public RatesModel() {
            super(10, 0, 3, 50, 50, true, Clock.FIXED, 0L, 0L, false);
        }
    }

    @Test
    void ratesModelChecking() {
        assumeModelCheckingSupported();
        LinChecker.check(RatesScenario.class, BUDGET.modelChecking(true, HeldPermits.class).sequentialSpecification(RatesModel.class));
    }

    @Test
    void ratesStress() {
        LinChecker.check(RatesScenario.class, BUDGET.stress().sequentialSpecification(RatesModel.class));
    }

    // ---------------------------------------------------------------- closed: consecutive failures

    /**
     * Closed with 2 consecutive failures to open and rates that never judge (minimumCalls equals the
     * window of 16): a success (slow or not) between two failures resets the run, an ignored or
     * cancelled call does not; the clock is fixed, so open lasts until {@code reset()}. Run without an
     * init part: see {@link #aTripIsDecidedBeforeItsCas()} for the one history shape left out.
     */
    public static class ConsecutiveScenario {
        private final CircuitBreaker breaker = CircuitBreaker.builder().name("lin-consecutive")
                .countWindow(16).minimumCalls(16).consecutiveFailures(2)
                .scheduler(new ManualScheduler())
                .build();
        private final HeldPermits held = new HeldPermits(THREAD_IDS);

        /** Lincheck creates one instance per explored execution. */
        public ConsecutiveScenario() {
            // state is initialised by the field initialisers
        }

        @Operation
        public String step(@Param(gen = ThreadIdGen.class) int tid, @Param(gen = IntGen.class, conf = "0:4") int kind) {
            return CircuitBreakerLincheckTest.step(breaker, held, tid, kind);
        }

        @Operation
        public State state() {
            return breaker.state();
        }

        @Operation
        public void reset() {
            breaker.reset();
        }
    }

    /** The model of {@link ConsecutiveScenario}. */
    public static class ConsecutiveModel extends BreakerModel {
        /** Lincheck creates one instance per sequential run. */
        public ConsecutiveModel() {
            super(10, 2, 16, 50, 100, false, Clock.FIXED, 0L, 0L, false);
        }
    }

    /*
     * Without an init part, three threads of two steps cannot hold a failure, a racing failure and
     * success, and an observer of the success (four calls' worth), the only shape in which the run's
     * stale decision shows (see aTripIsDecidedBeforeItsCas).
     */

    @Test
    void consecutiveFailuresModelChecking() {
        assumeModelCheckingSupported();
        LinChecker.check(ConsecutiveScenario.class, BUDGET.modelChecking(true, HeldPermits.class).actorsBefore(0).sequentialSpecification(ConsecutiveModel.class));
    }

    @Test
    void consecutiveFailuresStress() {
        LinChecker.check(ConsecutiveScenario.class, BUDGET.stress().actorsBefore(0).sequentialSpecification(ConsecutiveModel.class));
    }

    /**
     * Documents a limit of linearizability, not a defect: a trip is decided on the count (or window)
     * the failing call read, then made by a CAS on the phase, and nothing between the two stops a
     * racing success from completing, and being seen to complete, with the breaker still closed. Here,
     * after one failure, a second failure counts the run to 2 and decides to open; before its CAS, a
     * success resets the run and completes, and a third thread sees CLOSED; then the CAS opens the
     * breaker on "2 consecutive failures". No sequential order explains it (with the success first the
     * run is 1 and the breaker stays closed; with the failure first the observer would see OPEN). The
     * same holds for a rate decided just before a success lowers it. Lincheck must find it; if this
     * test fails, the trip became linearizable and this test should become a strict check.
     */
    @Test
    void aTripIsDecidedBeforeItsCas() {
        assumeModelCheckingSupported();
        assertThrows(LincheckAssertionError.class, () -> LinChecker.check(ConsecutiveScenario.class, BUDGET.modelChecking(true, HeldPermits.class).iterations(0)
                .invocationsPerIteration(1_000)
                .addCustomScenario(scenario(ConsecutiveScenario.class,
                        List.of(call("step", 0, FAILURE), call("step", 0, FAILURE)),
                        List.of(List.of(call("step", 1, FAILURE), call("step", 1, FAILURE)),
                                List.of(call("step", 2, SUCCESS), call("step", 2, SUCCESS)),
                                List.of(call("state"))),
                        List.of(call("state"))))
                .sequentialSpecification(ConsecutiveModel.class)));
    }

    // ---------------------------------------------------------------- manual transitions

    /** {@code transition(target)}: the manual transitions, by number. */
    static final int TO_CLOSED = 0;
    static final int TO_OPEN = 1;
    static final int TO_HALF_OPEN = 2;
    static final int TO_FORCED_OPEN = 3;
    static final int TO_DISABLED = 4;
    static final int RESET = 5;

    /**
     * Every manual transition racing with calls, one permitted probe, one failure to open, a fixed
     * clock: each transition is one CAS out of the phase it read, returns false only if the breaker
     * is in the target state already ({@code reset()} always transitions: true), and permits admitted
     * before it are ignored after it (their outcomes and cancellations alike).
     */
    public static class TransitionsScenario {
        private final CircuitBreaker breaker = CircuitBreaker.builder().name("lin-transitions")
                .countWindow(32).consecutiveFailures(1).permittedCallsInHalfOpen(1)
                .scheduler(new ManualScheduler())
                .build();
        private final HeldPermits held = new HeldPermits(THREAD_IDS);

        /** Lincheck creates one instance per explored execution. */
        public TransitionsScenario() {
            // state is initialised by the field initialisers
        }

        @Operation
        public String step(@Param(gen = ThreadIdGen.class) int tid, @Param(gen = IntGen.class, conf = "0:4") int kind) {
            return CircuitBreakerLincheckTest.step(breaker, held, tid, kind);
        }

        @Operation
        public State state() {
            return breaker.state();
        }

        /** One operation for all six, so that random scenarios hold as many calls as transitions. */
        @Operation
        public boolean transition(@Param(gen = IntGen.class, conf = "0:5") int target) {
            switch (target) {
                case TO_CLOSED:
                    return breaker.transitionToClosed();
                case TO_OPEN:
                    return breaker.transitionToOpen();
                case TO_HALF_OPEN:
                    return breaker.transitionToHalfOpen();
                case TO_FORCED_OPEN:
                    return breaker.transitionToForcedOpen();
                case TO_DISABLED:
                    return breaker.transitionToDisabled();
                default:
                    breaker.reset();
                    return true;
            }
        }
    }

    /** The model of {@link TransitionsScenario}. */
    public static class TransitionsModel extends BreakerModel {
        /** Lincheck creates one instance per sequential run. */
        public TransitionsModel() {
            super(1, 1, 32, 50, 100, false, Clock.FIXED, 0L, 0L, false);
        }

        public boolean transition(int target) {
            switch (target) {
                case TO_CLOSED:
                    return transitionToClosed();
                case TO_OPEN:
                    return transitionToOpen();
                case TO_HALF_OPEN:
                    return transitionToHalfOpen();
                case TO_FORCED_OPEN:
                    return transitionToForcedOpen();
                case TO_DISABLED:
                    return transitionToDisabled();
                default:
                    reset();
                    return true;
            }
        }
    }

    /**
     * Besides random scenarios, two fixed ones on epochs. A permit admitted closed races with a move to
     * half-open and a probe, then ends with a success: if it ended after the move, its success must be
     * ignored (not taken for the probe's, which would close the breaker with the probe still out). A
     * probe admitted in one half-open phase is cancelled after the breaker went through open into a new
     * half-open phase: its cancellation must not free the new phase's slot.
     */
    private static <O extends Options<O, ?>> O withEpochScenarios(O options) {
        return options
                .addCustomScenario(scenario(TransitionsScenario.class,
                        List.of(call("step", 0, SUCCESS)),
                        List.of(List.of(call("transition", TO_HALF_OPEN)),
                                List.of(call("step", 2, SUCCESS), call("state")),
                                List.of(call("step", 0, SUCCESS))),
                        List.of(call("step", 4, SUCCESS), call("state"))))
                .addCustomScenario(scenario(TransitionsScenario.class,
                        List.of(call("transition", TO_HALF_OPEN), call("step", 0, CANCEL)),
                        List.of(List.of(call("transition", TO_OPEN), call("transition", TO_HALF_OPEN)),
                                List.of(call("step", 2, CANCEL), call("step", 2, CANCEL)),
                                List.of(call("step", 0, CANCEL))),
                        List.of(call("step", 4, CANCEL), call("state"))));
    }

    @Test
    void manualTransitionsModelChecking() {
        assumeModelCheckingSupported();
        LinChecker.check(TransitionsScenario.class, withEpochScenarios(BUDGET.modelChecking(true, HeldPermits.class)).sequentialSpecification(TransitionsModel.class));
    }

    @Test
    void manualTransitionsStress() {
        LinChecker.check(TransitionsScenario.class, withEpochScenarios(BUDGET.stress()).sequentialSpecification(TransitionsModel.class));
    }

    // ---------------------------------------------------------------- open duration in virtual time

    /**
     * Open for 10 s from time 0 with the automatic transition to half-open, in virtual time: each
     * {@code advance()} moves a {@link ManualScheduler} by 5 s, so the second one runs the scheduled
     * transition, while a call after the deadline may make it lazily first; 3 probes close it. Only
     * successes, ignored outcomes and cancellations, and at least as many probes as parallel threads
     * (see the class comment for both).
     */
    public static class OpenDurationScenario {
        private final ManualScheduler scheduler = new ManualScheduler();
        private final CircuitBreaker breaker = CircuitBreaker.builder().name("lin-open-duration")
                .countWindow(32).permittedCallsInHalfOpen(3)
                .openDuration(Duration.ofSeconds(10)).automaticTransitionToHalfOpen(true)
                .scheduler(scheduler)
                .build();
        private final HeldPermits held = new HeldPermits(THREAD_IDS);

        /** Lincheck creates one instance per explored execution. */
        public OpenDurationScenario() {
            breaker.transitionToOpen();
        }

        @Operation
        public String step(@Param(gen = ThreadIdGen.class) int tid, @Param(gen = IntGen.class, conf = "0:2") int kind) {
            return CircuitBreakerLincheckTest.step(breaker, held, tid, kind);
        }

        @Operation
        public State state() {
            return breaker.state();
        }

        /** One thread moves the clock (advances never race each other: ManualScheduler serialises them anyway). */
        @Operation(nonParallelGroup = "clock")
        public void advance() {
            scheduler.advance(Duration.ofSeconds(5));
        }
    }

    /** The model of {@link OpenDurationScenario}. */
    public static class OpenDurationModel extends BreakerModel {
        /** Lincheck creates one instance per sequential run. */
        public OpenDurationModel() {
            super(3, 0, 32, 50, 100, false, Clock.MANUAL, Duration.ofSeconds(10).toNanos(), Duration.ofSeconds(5).toNanos(), true);
            enter(State.OPEN);
        }
    }

    @Test
    void openDurationModelChecking() {
        assumeModelCheckingSupported();
        // ManualScheduler takes locks (a test tool, uncontended here: one thread advances, nothing else
        // schedules): no obstruction-freedom check, and its lock and queue are single steps.
        LinChecker.check(OpenDurationScenario.class, BUDGET.modelChecking(false, HeldPermits.class)
                .addGuarantee(ManagedStrategyGuaranteeKt.forClasses(ReentrantLock.class.getName(), PriorityQueue.class.getName())
                        .allMethods().treatAsAtomic())
                .sequentialSpecification(OpenDurationModel.class));
    }

    @Test
    void openDurationStress() {
        LinChecker.check(OpenDurationScenario.class, BUDGET.stress().sequentialSpecification(OpenDurationModel.class));
    }

    /** Open for 10 s from time 0, one probe, half-open only lazily (at the first call after the open duration). */
    public static class LazyHalfOpenScenario {
        private final ManualScheduler scheduler = new ManualScheduler();
        private final CircuitBreaker breaker = CircuitBreaker.builder().name("lin-lazy-half-open")
                .countWindow(32).permittedCallsInHalfOpen(1).openDuration(Duration.ofSeconds(10))
                .scheduler(scheduler)
                .build();
        private final HeldPermits held = new HeldPermits(THREAD_IDS);

        /** Lincheck creates one instance per explored execution. */
        public LazyHalfOpenScenario() {
            breaker.transitionToOpen();
        }

        @Operation
        public String step(int tid, int kind) {
            return CircuitBreakerLincheckTest.step(breaker, held, tid, kind);
        }

        @Operation
        public State state() {
            return breaker.state();
        }

        @Operation
        public void advance() {
            scheduler.advance(Duration.ofSeconds(5));
        }
    }

    /** The model of {@link LazyHalfOpenScenario}. */
    public static class LazyHalfOpenModel extends BreakerModel {
        /** Lincheck creates one instance per sequential run. */
        public LazyHalfOpenModel() {
            super(1, 0, 32, 50, 100, false, Clock.MANUAL, Duration.ofSeconds(10).toNanos(), Duration.ofSeconds(5).toNanos(), false);
            enter(State.OPEN);
        }
    }

    /**
     * Documents a limit of linearizability, not a defect: the call that finds the open duration over
     * makes the transition to half-open, then competes for a probe like any other call, so with fewer
     * probes than concurrent callers it can lose its probe to a call that saw HALF_OPEN after its
     * transition: the transition is not part of the call that makes it. Here, with one probe, the
     * first call moves the breaker to half-open; a second thread sees HALF_OPEN and takes the probe;
     * the first call is rejected. No order of the two calls explains it (whichever call came first
     * would have both moved the breaker and taken the probe). Why {@link OpenDurationScenario} has as
     * many probes as threads. Lincheck must find it; if this test fails, the lazy transition became
     * part of the admission and {@code OpenDurationScenario} can use fewer probes.
     */
    @Test
    void aLazyTransitionIsNotPartOfTheCallThatMakesIt() {
        assumeModelCheckingSupported();
        assertThrows(LincheckAssertionError.class, () -> LinChecker.check(LazyHalfOpenScenario.class, BUDGET.modelChecking(false, HeldPermits.class)
                .iterations(0)
                .invocationsPerIteration(1_000)
                .addCustomScenario(scenario(LazyHalfOpenScenario.class,
                        List.of(call("advance"), call("advance")),
                        List.of(List.of(call("step", 1, SUCCESS)), List.of(call("state"), call("step", 2, SUCCESS))),
                        List.of(call("state"))))
                .sequentialSpecification(LazyHalfOpenModel.class)));
    }

    // ---------------------------------------------------------------- disabled: the count window

    /**
     * Disabled, so the breaker never changes state by itself, over a count window of 16 that a scenario
     * never fills, with thresholds that would open a closed breaker at its first failure: every
     * recorded outcome shows in {@code stats()} at once and exactly (calls, failed, slow), ignored and
     * cancelled calls never, and the state stays DISABLED.
     */
    public static class DisabledWindowScenario {
        private final CircuitBreaker breaker = CircuitBreaker.builder().name("lin-disabled")
                .countWindow(16).minimumCalls(1).failureRateThreshold(50)
                .slowCallDuration(SLOW_CALL).slowCallRateThreshold(50)
                .scheduler(new ManualScheduler())
                .build();
        private final HeldPermits held = new HeldPermits(THREAD_IDS);

        /** Lincheck creates one instance per explored execution. */
        public DisabledWindowScenario() {
            breaker.transitionToDisabled();
        }

        @Operation
        public String step(@Param(gen = ThreadIdGen.class) int tid, @Param(gen = IntGen.class, conf = "0:4") int kind) {
            return CircuitBreakerLincheckTest.step(breaker, held, tid, kind);
        }

        @Operation
        public CircuitBreaker.Stats stats() {
            return breaker.stats(); // one read of the phase: the state and counts of one moment
        }
    }

    /** The model of {@link DisabledWindowScenario}. */
    public static class DisabledWindowModel extends BreakerModel {
        /** Lincheck creates one instance per sequential run. */
        public DisabledWindowModel() {
            super(10, 0, 1, 50, 50, true, Clock.FIXED, Duration.ofSeconds(60).toNanos(), 0L, false);
            enter(State.DISABLED);
        }
    }

    @Test
    void disabledWindowModelChecking() {
        assumeModelCheckingSupported();
        LinChecker.check(DisabledWindowScenario.class, BUDGET.modelChecking(true, HeldPermits.class).sequentialSpecification(DisabledWindowModel.class));
    }

    @Test
    void disabledWindowStress() {
        LinChecker.check(DisabledWindowScenario.class, BUDGET.stress().sequentialSpecification(DisabledWindowModel.class));
    }

    // ---------------------------------------------------------------- the probe word alone

    /**
     * {@link Phase}'s probe word with 2 permitted probes, directly: an admission counts itself in the
     * same CAS that checks in-flight + recorded &lt; 2; a completion moves its probe from in flight to
     * recorded (failed, slow) and returns the word after it; an ignored completion and a release only
     * free the slot. Results are longs ({@link #ADMITTED_PROBE}, {@link AdmissionPolicy#REJECTED},
     * {@link #RELEASED}, or a word, never negative here), to keep string building out of the
     * explored code.
     */
    public static class ProbeWordScenario {
        static final int PERMITTED = 2;
        static final long ADMITTED_PROBE = Long.MIN_VALUE;
        static final long RELEASED = -2L;
        private final Phase phase = new Phase(State.HALF_OPEN, 1, null, 0L, 0L, 1, 0L);
        private final HeldPermits held = new HeldPermits(THREAD_IDS);

        /** Lincheck creates one instance per explored execution. */
        public ProbeWordScenario() {
            // state is initialised by the field initialisers
        }

        @Operation
        public long step(@Param(gen = ThreadIdGen.class) int tid, @Param(gen = IntGen.class, conf = "0:4") int kind) {
            if (held.get(tid) == AdmissionPolicy.REJECTED) {
                long permit = phase.tryAcquireProbe(PERMITTED);
                if (permit == AdmissionPolicy.REJECTED) {
                    return AdmissionPolicy.REJECTED;
                }
                held.set(tid, permit);
                return permit == phase.permit ? ADMITTED_PROBE : permit; // any other permit is wrong
            }
            held.set(tid, AdmissionPolicy.REJECTED);
            switch (kind) {
                case SUCCESS:
                    return phase.completeProbe(SlidingWindow.SUCCESS);
                case IGNORED:
                    return phase.completeProbe(0);
                case SLOW_SUCCESS:
                    return phase.completeProbe(SlidingWindow.SUCCESS | SlidingWindow.SLOW);
                case FAILURE:
                    return phase.completeProbe(SlidingWindow.FAILURE);
                default:
                    phase.releaseProbe();
                    return RELEASED;
            }
        }

        @Operation
        public long probes() {
            return phase.probes();
        }
    }

    /** The documented probe word: four 16-bit fields, in flight (bits 0-15), recorded, failed and slow (48-63). */
    public static class ProbeWordModel {
        private long inFlight;
        private long recorded;
        private long failed;
        private long slow;
        private final boolean[] holding = new boolean[THREAD_IDS];

        /** Lincheck creates one instance per sequential run. */
        public ProbeWordModel() {
            // state is initialised by the field initialisers
        }

        public long step(int tid, int kind) {
            if (!holding[tid]) {
                if (inFlight + recorded >= ProbeWordScenario.PERMITTED) {
                    return AdmissionPolicy.REJECTED;
                }
                inFlight++;
                holding[tid] = true;
                return ProbeWordScenario.ADMITTED_PROBE;
            }
            holding[tid] = false;
            inFlight--;
            if (kind == CANCEL) {
                return ProbeWordScenario.RELEASED;
            }
            if (kind != IGNORED) {
                recorded++;
                failed += kind == FAILURE ? 1 : 0;
                slow += kind == SLOW_SUCCESS ? 1 : 0;
            }
            return probes();
        }

        public long probes() {
            return inFlight | recorded << 16 | failed << 32 | slow << 48;
        }
    }

    @Test
    void probeWordModelChecking() {
        assumeModelCheckingSupported();
        LinChecker.check(ProbeWordScenario.class, BUDGET.modelChecking(true, HeldPermits.class).sequentialSpecification(ProbeWordModel.class));
    }

    @Test
    void probeWordStress() {
        LinChecker.check(ProbeWordScenario.class, BUDGET.stress().sequentialSpecification(ProbeWordModel.class));
    }
}
