package dev.vigil.circuitbreaker;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Backoff;
import dev.vigil.core.CallNotPermittedException;
import dev.vigil.core.Classifier;
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
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A circuit breaker: it watches the outcomes of calls to a dependency and, when too many fail or are
 * slow, stops calling it for a while ({@code OPEN}), then lets a few probe calls through
 * ({@code HALF_OPEN}) and closes again if they succeed. Lock-free and allocation-free: admitting a call
 * reads one volatile reference; recording a healthy outcome is one atomic add.
 *
 * <pre>{@code
 * CircuitBreaker breaker = CircuitBreaker.builder()
 *         .name("inventory")
 *         .countWindow(100)                       // the last 100 calls ...
 *         .failureRateThreshold(50)               // ... open at 50% failures
 *         .minimumCalls(20)                       // ... once 20 calls were seen
 *         .slowCallDuration(Duration.ofSeconds(2)).slowCallRateThreshold(80)
 *         .openBackoff(Backoff.exponential(Duration.ofSeconds(5), Duration.ofMinutes(5))
 *                 .withJitter(Jitter.proportional(0.2)))
 *         .permittedCallsInHalfOpen(5)
 *         .build();
 * Stock stock = breaker.call(() -> inventory.stock(sku)); // throws CallNotPermittedException when open
 * }</pre>
 *
 * <h2>States</h2>
 * <ul>
 *   <li>{@link State#CLOSED}: every call is admitted and recorded in the sliding window. A failure (or a
 *       slow call) makes the breaker check its thresholds; it opens when, over the window, at least
 *       {@link Builder#minimumCalls minimumCalls} calls were recorded and the failure rate or the
 *       slow-call rate reached its threshold, or when {@link Builder#consecutiveFailures
 *       consecutiveFailures} calls in a row failed. A success never opens the breaker (so a window
 *       whose minimum is reached by a success opens at its next failure).</li>
 *   <li>{@link State#OPEN}: every call is rejected with a {@link CallNotPermittedException} whose
 *       {@code retryAfter} is the open time left. After the open duration (fixed, or growing with each
 *       consecutive opening by a {@link Backoff}) the breaker moves to {@code HALF_OPEN}: lazily, at the
 *       next call, or on time by the {@link Scheduler} with
 *       {@link Builder#automaticTransitionToHalfOpen}.</li>
 *   <li>{@link State#HALF_OPEN}: at most {@link Builder#permittedCallsInHalfOpen permittedCallsInHalfOpen}
 *       probes are in flight or recorded at any moment, under any concurrency; other calls are rejected.
 *       A probe that is cancelled or interrupted (as when an enclosing {@link dev.vigil.core.Timeout}
 *       gives up on it), or whose outcome the classifier ignores, frees its slot; a probe that fails,
 *       by an inner timeout among others, is a recorded failure.
 *       When that many probes are recorded, the breaker closes if their failure rate and slow-call rate
 *       are below the thresholds, and opens again otherwise. With
 *       {@link Builder#maxWaitInHalfOpen maxWaitInHalfOpen}, it decides when that time is up on what
 *       it has: closed if at least one probe was recorded and the rates are below the thresholds,
 *       open otherwise (probes that hang do not keep it half-open).</li>
 *   <li>{@link State#FORCED_OPEN}: rejects every call until a manual transition.</li>
 *   <li>{@link State#DISABLED}: admits every call and still records outcomes (so {@link #stats()} and
 *       the metrics stay live), but never changes state by itself.</li>
 * </ul>
 * The {@code transitionTo...} methods and {@link #reset()} change state by hand.
 *
 * <h2>Epochs</h2>
 * Every state change starts a new epoch with fresh counts, and every permit carries the epoch it was
 * admitted in. An outcome of a call admitted before a transition is ignored by the breaker's window
 * and probes (it still counts in the call metrics): a slow call that started while closed cannot
 * count as a half-open probe, and a probe that hangs past a decision cannot decide the next state.
 *
 * <h2>Thresholds</h2>
 * <ul>
 *   <li><b>failure rate</b>: failed calls / recorded calls, in percent, over the window; the breaker
 *       opens when it is {@code >=} {@link Builder#failureRateThreshold} (default 50);</li>
 *   <li><b>slow-call rate</b>: calls that took {@code >=} {@link Builder#slowCallDuration} (successes and
 *       failures alike) / recorded calls; the breaker opens when it is {@code >=}
 *       {@link Builder#slowCallRateThreshold} (default 100). Only tracked when a slow-call duration is set;
 *       then the breaker measures each call's latency with its ticker;</li>
 *   <li><b>minimum calls</b>: neither rate is judged until the window holds this many recorded calls
 *       (default 100, or the count window's size if smaller);</li>
 *   <li><b>consecutive failures</b> (optional): opens after this many failures in a row in
 *       {@code CLOSED}, whatever the window says.</li>
 * </ul>
 * Recorded calls are those the {@link Builder#classifier classifier} judged {@link Outcome#SUCCESS} or
 * {@link Outcome#FAILURE}; {@link Outcome#IGNORED} calls are counted in the metrics only.
 *
 * <h2>Windows</h2>
 * {@link Builder#countWindow(int)}: the last N recorded calls (default: 100). {@link Builder#timeWindow}:
 * the calls recorded in the last T, kept in buckets of T / buckets. A timer on the {@link Scheduler}
 * starts each bucket on time, so recording a call reads no clock in either window (a call counts in
 * the bucket current when it completed). Both are lock-free. Under
 * concurrent records, the count window's totals may briefly lag the slots by the records in flight; at
 * rest they are exact.
 *
 * <h2>Observability</h2>
 * {@link PolicyEvent.StateChanged} on every transition and {@link PolicyEvent.Rejected} on every
 * rejection, to listeners registered on the builder (nothing is allocated without listeners); one
 * slf4j log line per transition (WARN when opening, INFO otherwise); {@link #health()}: {@code OPEN}
 * and {@code FORCED_OPEN} are DOWN, {@code HALF_OPEN} is DEGRADED; metrics through
 * {@link dev.vigil.core.metrics.VigilMetrics}: calls by outcome (success, failure, ignored, rejected),
 * slow calls, the state, and the window's failure and slow-call rates.
 *
 * <p><b>Thread-safety.</b> Immutable configuration; the state is one volatile reference changed by CAS,
 * and all counters are atomic: share one breaker between all threads calling the dependency. Admission
 * and recording are lock-free and allocation-free; a transition allocates its new phase (and, to
 * {@code CLOSED}, its new window).
 *
 * <p><b>Exceptions.</b> The builder throws {@link IllegalArgumentException} naming the parameter and its
 * range; rejected calls throw {@link CallNotPermittedException} (stackless).
 */
public final class CircuitBreaker implements AdmissionPolicy {
    private static final Logger LOG = LoggerFactory.getLogger(CircuitBreaker.class);
    private static final VarHandle PHASE;
    /** Passed for a clock reading the callee should take itself (tickers may read any other value, negative included). */
    private static final long READ_CLOCK = Long.MIN_VALUE;

    static {
        try {
            PHASE = MethodHandles.lookup().findVarHandle(CircuitBreaker.class, "phase", Phase.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The breaker's states. */
    public enum State {
        /** Calls are admitted and recorded; the breaker opens when a threshold is crossed. */
        CLOSED,
        /** Calls are rejected until the open duration has passed. */
        OPEN,
        /** A limited number of probe calls are admitted; their outcomes decide between closed and open. */
        HALF_OPEN,
        /** Calls are rejected until a manual transition. */
        FORCED_OPEN,
        /** Calls are admitted and recorded, but the breaker never changes state by itself. */
        DISABLED
    }

    /**
     * A snapshot of what the breaker's window (or, half-open, its probes) holds.
     *
     * @param state       the state when the snapshot was taken
     * @param calls       recorded calls (successes and failures; ignored calls are not recorded)
     * @param failedCalls recorded calls that failed
     * @param slowCalls   recorded calls that were slow (0 when slow calls are not tracked)
     */
    public record Stats(State state, long calls, long failedCalls, long slowCalls) {
        /** @throws IllegalArgumentException if {@code state} is null or a count is negative */
        public Stats {
            Checks.notNull(state, "state");
            if (calls < 0 || failedCalls < 0 || slowCalls < 0) {
                throw new IllegalArgumentException("counts must be >= 0, were " + calls + ", " + failedCalls + ", " + slowCalls);
            }
        }

        /** @return failed calls in percent of recorded calls, 0 if none were recorded */
        public double failureRate() {
            return calls == 0 ? 0.0 : failedCalls * 100.0 / calls;
        }

        /** @return slow calls in percent of recorded calls, 0 if none were recorded */
        public double slowCallRate() {
            return calls == 0 ? 0.0 : slowCalls * 100.0 / calls;
        }
    }

    private final String name;
    private final int countWindowSize;
    private final long bucketNanos;
    private final int buckets;
    private final SlidingWindow.Thresholds thresholds;
    /** The same rates for the half-open decision, where the permitted probes are the minimum. */
    private final SlidingWindow.Thresholds probeThresholds;
    private final long slowCallNanos;
    private final int consecutiveFailureLimit;
    private final Backoff openBackoff;
    private final int permittedInHalfOpen;
    private final long maxWaitInHalfOpenNanos;
    private final boolean automaticHalfOpen;
    private final Classifier classifier;
    private final Scheduler scheduler;
    private final Ticker ticker;
    private final EventPublisher events;
    private final String messagePrefix;

    private final LongAdder successes = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder ignored = new LongAdder();
    private final LongAdder slowCalls = new LongAdder();
    private final LongAdder rejected = new LongAdder();

    @SuppressWarnings("unused") // through PHASE
    private volatile Phase phase;

    private CircuitBreaker(Builder builder) {
        this.name = builder.name;
        this.countWindowSize = builder.countWindowSize;
        this.bucketNanos = builder.bucketNanos;
        this.buckets = builder.buckets;
        boolean timeBased = builder.buckets > 0;
        int minimumCalls = builder.minimumCalls > 0 ? builder.minimumCalls
                : timeBased ? Builder.DEFAULT_MINIMUM_CALLS : Math.min(Builder.DEFAULT_MINIMUM_CALLS, countWindowSize);
        if (!timeBased && minimumCalls > countWindowSize) {
            throw new IllegalArgumentException("minimumCalls must be <= the count window's size (" + countWindowSize
                    + "): the window never holds more calls, so the breaker could never open; was " + minimumCalls);
        }
        if (builder.slowCallRateSet && builder.slowCallNanos == 0) {
            throw new IllegalArgumentException("slowCallRateThreshold needs slowCallDuration: set how long a slow call takes");
        }
        this.slowCallNanos = builder.slowCallNanos == 0 ? Long.MAX_VALUE : builder.slowCallNanos;
        this.thresholds = new SlidingWindow.Thresholds(minimumCalls, builder.failureRateThreshold,
                builder.slowCallNanos == 0 ? SlidingWindow.Thresholds.NONE : builder.slowCallRateThreshold);
        this.probeThresholds = new SlidingWindow.Thresholds(1, thresholds.failureRatePercent(), thresholds.slowCallRatePercent());
        this.consecutiveFailureLimit = builder.consecutiveFailures;
        this.openBackoff = builder.openBackoff;
        this.permittedInHalfOpen = builder.permittedInHalfOpen;
        this.maxWaitInHalfOpenNanos = builder.maxWaitInHalfOpenNanos;
        this.automaticHalfOpen = builder.automaticHalfOpen;
        this.classifier = builder.classifier;
        this.scheduler = builder.scheduler;
        this.ticker = builder.scheduler.ticker();
        this.events = EventPublisher.of(builder.listeners);
        this.messagePrefix = "circuit breaker '" + name + "' is ";
        this.phase = new Phase(State.CLOSED, 0, newWindow(), ticker.read(), 0L, 0, 0L);
    }

    /** @return a builder with the defaults described on {@link Builder} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * @param name the breaker's name, not blank
     * @return a breaker with every default: the last 100 calls, 50% failures, 60 s open, 10 probes
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public static CircuitBreaker ofDefaults(String name) {
        return builder().name(name).build();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "circuitbreaker";
    }

    @Override
    public Classifier classifier() {
        return classifier;
    }

    @Override
    public Ticker ticker() {
        return ticker;
    }

    /** Latency is measured only when slow calls are tracked; otherwise drivers skip the clock. */
    @Override
    public boolean measuresLatency() {
        return slowCallNanos != Long.MAX_VALUE;
    }

    /** @return the current state */
    public State state() {
        return current().state;
    }

    private Phase current() {
        return (Phase) PHASE.getAcquire(this); // acquire: the phase's final fields and its window are visible
    }

    // ------------------------------------------------------------------ admission

    @Override
    public long tryAcquirePermit() {
        while (true) {
            Phase p = current();
            switch (p.state) {
                case CLOSED:
                case DISABLED:
                    return p.permit; // no write: admission in the closed state is one volatile read
                case HALF_OPEN: {
                    if (maxWaitInHalfOpenNanos > 0 && ticker.read() - p.enteredNanos >= maxWaitInHalfOpenNanos) {
                        decideAfterMaxWait(p); // the timer may be late; the time is up, so decide now and look again
                        continue;
                    }
                    long permit = p.tryAcquireProbe(permittedInHalfOpen);
                    return permit != REJECTED ? permit : reject(p, READ_CLOCK);
                }
                case OPEN: {
                    long now = ticker.read();
                    if (now - p.openUntilNanos >= 0) {
                        transition(p, State.HALF_OPEN, "open duration elapsed", now);
                        continue; // whoever won the race, look at the new phase
                    }
                    return reject(p, now);
                }
                default: // FORCED_OPEN
                    return reject(p, READ_CLOCK);
            }
        }
    }

    private long reject(Phase p, long now) {
        rejected.increment();
        if (events.isEnabled()) {
            long at = now == READ_CLOCK ? ticker.read() : now;
            events.publish(new PolicyEvent.Rejected(name, kind(), at, "circuit breaker is " + p.state, retryAfterNanos(p, at)));
        }
        return REJECTED;
    }

    private long retryAfterNanos(Phase p, long now) {
        switch (p.state) {
            case OPEN:
                return Math.max(0L, p.openUntilNanos - now);
            case HALF_OPEN:
                return maxWaitInHalfOpenNanos > 0 ? Math.max(0L, p.enteredNanos + maxWaitInHalfOpenNanos - now) : -1L;
            default:
                return -1L;
        }
    }

    /**
     * Describes why calls are rejected now. {@code retryAfter} is the open time left when {@code OPEN},
     * the time until the half-open decision when {@code HALF_OPEN} with a max wait, and unknown otherwise.
     */
    @Override
    public RejectedException rejection() {
        Phase p = current();
        long now = ticker.read();
        long retryAfter = retryAfterNanos(p, now);
        String message;
        switch (p.state) {
            case OPEN:
                // Concatenation only (no Duration or Formatter): this is the path every rejected call takes.
                message = messagePrefix + "OPEN; calls are permitted again in " + ceilMillis(retryAfter) + " ms";
                break;
            case HALF_OPEN:
                message = messagePrefix + "HALF_OPEN and all " + permittedInHalfOpen + " probe calls are taken";
                break;
            case FORCED_OPEN:
                message = messagePrefix + "FORCED_OPEN";
                break;
            default:
                message = messagePrefix + p.state + " (it rejected the call, then changed state)";
        }
        return new CallNotPermittedException(name, message, retryAfter);
    }

    private static long ceilMillis(long nanos) {
        return nanos <= 0 ? 0 : (nanos + 999_999) / 1_000_000;
    }

    // ------------------------------------------------------------------ outcomes

    @Override
    public void complete(long permit, Outcome outcome, long elapsedNanos) {
        Checks.notNull(outcome, "outcome");
        int code;
        if (outcome == Outcome.IGNORED) {
            ignored.increment();
            code = 0;
        } else {
            boolean failed = outcome == Outcome.FAILURE;
            (failed ? failures : successes).increment();
            code = failed ? SlidingWindow.FAILURE : SlidingWindow.SUCCESS;
            if (elapsedNanos >= slowCallNanos) {
                slowCalls.increment();
                code |= SlidingWindow.SLOW;
            }
        }
        Phase p = current();
        if (Permits.epoch(permit) != p.epoch) {
            return; // admitted in an earlier phase: its outcome says nothing about this one (see Phase)
        }
        switch (p.state) {
            case CLOSED:
                if (code != 0) {
                    recordClosed(p, code);
                }
                break;
            case DISABLED:
                if (code != 0) {
                    p.window.record(code);
                }
                break;
            case HALF_OPEN: {
                long word = p.completeProbe(code);
                if (code != 0 && Phase.recorded(word) == permittedInHalfOpen) {
                    decide(p, word, ""); // only the record that completes the count sees this value
                }
                break;
            }
            default: // no permits are issued while OPEN or FORCED_OPEN, so none can carry their epoch
                break;
        }
    }

    private void recordClosed(Phase p, int code) {
        SlidingWindow window = p.window;
        window.record(code);
        if (SlidingWindow.isFailure(code)) {
            if (consecutiveFailureLimit > 0 && p.addConsecutiveFailure() >= consecutiveFailureLimit) {
                transition(p, State.OPEN, consecutiveFailureLimit + " consecutive failures", READ_CLOCK);
                return;
            }
        } else if (consecutiveFailureLimit > 0) {
            p.clearConsecutiveFailures();
        }
        if (code != SlidingWindow.SUCCESS) { // a failure or a slow call: only these can raise a rate
            int verdict = window.verdict(thresholds);
            if (verdict != SlidingWindow.HEALTHY) {
                transition(p, State.OPEN, describe(verdict, window.stats(State.CLOSED)), READ_CLOCK);
            }
        }
    }

    private String describe(int verdict, Stats stats) {
        if (verdict == SlidingWindow.FAILURE_RATE_EXCEEDED) {
            return String.format(Locale.ROOT, "failure rate %.1f%% >= %s%% over %d calls", stats.failureRate(), thresholds.failureRatePercent(), stats.calls());
        }
        return String.format(Locale.ROOT, "slow-call rate %.1f%% >= %s%% over %d calls", stats.slowCallRate(), thresholds.slowCallRatePercent(), stats.calls());
    }

    @Override
    public void release(long permit) {
        Phase p = current();
        if (Permits.epoch(permit) == p.epoch && p.state == State.HALF_OPEN) {
            p.releaseProbe(); // frees the probe's slot; permits of other states hold no capacity
        }
    }

    /**
     * Decides a half-open phase on the probes recorded in {@code word}: closed if their rates are below
     * the thresholds, open otherwise (and open if none was recorded, which only the max wait can see).
     *
     * @param why prefixed to the transition's reason ("" when the last permitted probe decides)
     */
    private void decide(Phase p, long word, String why) {
        Stats probes = probeStats(word);
        if (probes.calls() == 0) {
            transition(p, State.OPEN, "no probe call completed within the max wait in half-open", READ_CLOCK);
            return;
        }
        int verdict = probeThresholds.verdict(probes.calls(), probes.failedCalls(), probes.slowCalls());
        if (verdict == SlidingWindow.HEALTHY) {
            transition(p, State.CLOSED, why + probes.calls() + " probe calls: " + probes.failedCalls() + " failed, "
                    + probes.slowCalls() + " slow", READ_CLOCK);
        } else {
            transition(p, State.OPEN, why + "probe calls: " + describe(verdict, probes), READ_CLOCK);
        }
    }

    private void decideAfterMaxWait(Phase p) {
        decide(p, p.probes(), "max wait in half-open: ");
    }

    private static Stats probeStats(long word) {
        return new Stats(State.HALF_OPEN, Phase.recorded(word), Phase.failed(word), Phase.slow(word));
    }

    // ------------------------------------------------------------------ transitions

    /**
     * Moves from {@code from} to a new phase of state {@code to}, if {@code from} is still current.
     *
     * @param now the ticker's reading, or {@link #READ_CLOCK} to read it here
     * @return true if this call made the transition
     */
    private boolean transition(Phase from, State to, String reason, long now) {
        long at = now == READ_CLOCK ? ticker.read() : now;
        Phase next = newPhase(from, to, at);
        // CAS on the one reference: exactly one transition out of each phase wins, and the new phase
        // (final fields, fresh window) is published to every thread that reads it with acquire.
        if (!PHASE.compareAndSet(this, from, next)) {
            if (next.window != null && next.window != from.window) {
                next.window.stop(); // never published: stop its timer now rather than when it is collected
            }
            return false;
        }
        Scheduler.Task timer = from.timer;
        if (timer != null) {
            timer.cancel();
        }
        if (from.window != null) {
            from.window.stop(); // a time window of a closed phase stops moving: frozen for the open state's stats
        }
        arm(next);
        if (to == State.OPEN || to == State.FORCED_OPEN) {
            LOG.warn("Circuit breaker '{}' {} -> {}: {}", name, from.state, to, reason);
        } else {
            LOG.info("Circuit breaker '{}' {} -> {}: {}", name, from.state, to, reason);
        }
        if (events.isEnabled()) {
            events.publish(new PolicyEvent.StateChanged(name, kind(), at, from.state.name(), to.name(), reason));
        }
        return true;
    }

    private Phase newPhase(Phase from, State to, long now) {
        int epoch = Permits.nextEpoch(from.epoch);
        switch (to) {
            case OPEN: {
                boolean again = from.state == State.OPEN || from.state == State.HALF_OPEN;
                int trips = again ? from.trips + 1 : 1;
                long openNanos = openBackoff.delayNanos(trips, again ? from.openNanos : 0L);
                SlidingWindow tripped = from.state == State.CLOSED ? from.window : null;
                return new Phase(State.OPEN, epoch, tripped, now, now + openNanos, trips, openNanos);
            }
            case HALF_OPEN:
                return new Phase(State.HALF_OPEN, epoch, null, now, 0L, from.trips, from.openNanos);
            case CLOSED:
            case DISABLED:
                return new Phase(to, epoch, newWindow(), now, 0L, 0, 0L);
            default: // FORCED_OPEN
                return new Phase(State.FORCED_OPEN, epoch, null, now, 0L, 0, 0L);
        }
    }

    /**
     * Schedules the phase's timed transition, if it has one. The task only acts if the phase is still
     * current when it runs, so a transition that happens first (and cancels it, or races with the
     * scheduling) leaves at most a no-op behind.
     */
    private void arm(Phase next) {
        if (next.state == State.OPEN && automaticHalfOpen) {
            next.timer = scheduler.scheduleAt(() -> {
                if (current() == next) {
                    transition(next, State.HALF_OPEN, "open duration elapsed", READ_CLOCK);
                }
            }, next.openUntilNanos);
        } else if (next.state == State.HALF_OPEN && maxWaitInHalfOpenNanos > 0) {
            next.timer = scheduler.scheduleAt(() -> {
                if (current() == next) {
                    decideAfterMaxWait(next);
                }
            }, next.enteredNanos + maxWaitInHalfOpenNanos);
        }
    }

    private SlidingWindow newWindow() {
        return buckets > 0 ? new TimeWindow(bucketNanos, buckets, scheduler) : new CountWindow(countWindowSize);
    }

    private boolean transitionByHand(State to, boolean evenIfSame) {
        while (true) {
            Phase p = current();
            if (p.state == to && !evenIfSame) {
                return false;
            }
            if (transition(p, to, "manual transition", READ_CLOCK)) {
                return true;
            }
        }
    }

    /**
     * Closes the breaker by hand, with a fresh window.
     *
     * @return true if the state changed (false if it was closed already)
     */
    public boolean transitionToClosed() {
        return transitionByHand(State.CLOSED, false);
    }

    /**
     * Opens the breaker by hand for one open duration, as if it had tripped.
     *
     * @return true if the state changed (false if it was open already)
     */
    public boolean transitionToOpen() {
        return transitionByHand(State.OPEN, false);
    }

    /**
     * Moves the breaker to half-open by hand: the next calls are probes.
     *
     * @return true if the state changed (false if it was half-open already)
     */
    public boolean transitionToHalfOpen() {
        return transitionByHand(State.HALF_OPEN, false);
    }

    /**
     * Rejects every call until another manual transition.
     *
     * @return true if the state changed (false if it was forced open already)
     */
    public boolean transitionToForcedOpen() {
        return transitionByHand(State.FORCED_OPEN, false);
    }

    /**
     * Admits every call and keeps recording, but never changes state by itself.
     *
     * @return true if the state changed (false if it was disabled already)
     */
    public boolean transitionToDisabled() {
        return transitionByHand(State.DISABLED, false);
    }

    /** Closes the breaker with a fresh window and forgets consecutive openings, whatever its state. */
    public void reset() {
        transitionByHand(State.CLOSED, true);
    }

    // ------------------------------------------------------------------ observation

    /**
     * Returns what the breaker judges by: in {@code CLOSED} and {@code DISABLED} the window; in
     * {@code HALF_OPEN} the probes recorded so far; in {@code OPEN} after a trip, the window as it was when
     * it tripped (frozen); otherwise (opened by hand or after failed probes, {@code FORCED_OPEN}) zeros.
     * Allocates.
     *
     * @return the snapshot
     */
    public Stats stats() {
        Phase p = current();
        if (p.state == State.HALF_OPEN) {
            return probeStats(p.probes());
        }
        if (p.window == null) {
            return new Stats(p.state, 0, 0, 0);
        }
        return p.window.stats(p.state);
    }

    /** @return {@code OPEN} and {@code FORCED_OPEN}: DOWN; {@code HALF_OPEN}: DEGRADED; otherwise UP */
    @Override
    public Health health() {
        State state = state();
        switch (state) {
            case OPEN:
            case FORCED_OPEN:
                return Health.down("circuit breaker is " + state);
            case HALF_OPEN:
                return Health.degraded("circuit breaker is HALF_OPEN, probing");
            default:
                return Health.up();
        }
    }

    /**
     * Calls by outcome ({@code vigil.calls}: success, failure, ignored, rejected), slow calls
     * ({@code vigil.circuitbreaker.slow.calls}), the state ({@code vigil.circuitbreaker.state}: the
     * {@link State} ordinal, 0 = closed) and the window's rates in percent
     * ({@code vigil.circuitbreaker.failure.rate}, {@code vigil.circuitbreaker.slow.call.rate}).
     */
    @Override
    public void describeMetrics(MetricsSink sink) {
        sink.counter(MetricsSink.CALLS, "Calls that succeeded", "success", successes::sum);
        sink.counter(MetricsSink.CALLS, "Calls that failed", "failure", failures::sum);
        sink.counter(MetricsSink.CALLS, "Calls whose outcome the classifier ignored", "ignored", ignored::sum);
        sink.counter(MetricsSink.CALLS, "Calls the breaker rejected", "rejected", rejected::sum);
        sink.counter("vigil.circuitbreaker.slow.calls", "Calls that took at least the slow-call duration", "slow", slowCalls::sum);
        sink.gauge("vigil.circuitbreaker.state", "0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled", null,
                () -> state().ordinal());
        sink.gauge("vigil.circuitbreaker.failure.rate", "Failed calls in the window", "percent", () -> stats().failureRate());
        sink.gauge("vigil.circuitbreaker.slow.call.rate", "Slow calls in the window", "percent", () -> stats().slowCallRate());
    }

    /** @return calls that completed with a success, since the breaker was built */
    public long successCount() {
        return successes.sum();
    }

    /** @return calls that completed with a failure */
    public long failureCount() {
        return failures.sum();
    }

    /** @return calls whose outcome the classifier ignored */
    public long ignoredCount() {
        return ignored.sum();
    }

    /**
     * @return recorded calls (successes and failures, not ignored ones) that took at least the slow-call
     *         duration; 0 when slow calls are not tracked
     */
    public long slowCallCount() {
        return slowCalls.sum();
    }

    /** @return calls the breaker rejected */
    public long rejectedCount() {
        return rejected.sum();
    }

    @Override
    public String toString() {
        return "CircuitBreaker[" + name + ", " + state() + ", "
                + (buckets > 0 ? "time window " + Duration.ofNanos(bucketNanos * buckets) + " in " + buckets + " buckets"
                        : "count window " + countWindowSize)
                + "]";
    }

    /**
     * Builds a {@link CircuitBreaker}. Every setter validates at once and throws
     * {@link IllegalArgumentException} naming the parameter and its allowed range; {@link #build()}
     * checks the combinations. Not thread-safe; the breaker it builds is.
     */
    public static final class Builder {
        static final int DEFAULT_MINIMUM_CALLS = 100;
        /** The most probes a half-open breaker can admit (they share 16-bit fields). */
        public static final int MAX_PERMITTED_IN_HALF_OPEN = 10_000;
        /** The most buckets a time window can have. */
        public static final int MAX_BUCKETS = 1_000;

        private String name = "circuitbreaker";
        private int countWindowSize = 100;
        private long bucketNanos;
        private int buckets;
        private double failureRateThreshold = 50.0;
        private double slowCallRateThreshold = 100.0;
        private boolean slowCallRateSet;
        private long slowCallNanos;
        private int minimumCalls;
        private int consecutiveFailures;
        private Backoff openBackoff = Backoff.fixed(Duration.ofSeconds(60));
        private int permittedInHalfOpen = 10;
        private long maxWaitInHalfOpenNanos;
        private boolean automaticHalfOpen;
        private Classifier classifier = Classifier.defaults();
        private Scheduler scheduler = Scheduler.shared();
        private final List<PolicyEventListener> listeners = new ArrayList<>();

        private Builder() {}

        /**
         * @param name the breaker's name, used in exceptions, events, logs and metrics (default {@code "circuitbreaker"})
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public Builder name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * Judges the last {@code size} recorded calls (the default window, with 100).
         *
         * @param size the number of calls, 1 to 1,000,000
         * @return this builder
         * @throws IllegalArgumentException if {@code size} is out of range
         */
        public Builder countWindow(int size) {
            this.countWindowSize = Checks.inRange(size, 1, CountWindow.MAX_SIZE, "size");
            this.buckets = 0;
            this.bucketNanos = 0;
            return this;
        }

        /**
         * Judges the calls recorded in the last {@code window}, kept in {@code buckets} buckets of
         * {@code window / buckets} each; the oldest bucket leaves the window whole, so the window spans
         * between {@code window - window/buckets} and {@code window}. A timer on the scheduler starts each
         * bucket (so recording reads no clock): it runs once per bucket while the breaker is closed, and a
         * {@link dev.vigil.core.time.ManualScheduler} runs it once per bucket its {@code advance} passes.
         *
         * @param window  the span, positive
         * @param buckets the number of buckets, 2 to 1,000; {@code window} must split into buckets of a
         *                whole number of milliseconds
         * @return this builder
         * @throws IllegalArgumentException if a value is out of range or the split is not exact
         */
        public Builder timeWindow(Duration window, int buckets) {
            long bucket = TimeWindows.bucketNanos(window, buckets, "window", "buckets");
            this.buckets = buckets;
            this.bucketNanos = bucket;
            return this;
        }

        /**
         * @param percent the failure rate, in percent of recorded calls, at or above which the breaker
         *                opens, in (0, 100] (default 50)
         * @return this builder
         * @throws IllegalArgumentException if {@code percent} is out of range
         */
        public Builder failureRateThreshold(double percent) {
            this.failureRateThreshold = Checks.inLeftOpenRange(percent, 0.0, 100.0, "failureRateThreshold");
            return this;
        }

        /**
         * @param percent the slow-call rate, in percent of recorded calls, at or above which the breaker
         *                opens, in (0, 100] (default 100); needs {@link #slowCallDuration}
         * @return this builder
         * @throws IllegalArgumentException if {@code percent} is out of range
         */
        public Builder slowCallRateThreshold(double percent) {
            this.slowCallRateThreshold = Checks.inLeftOpenRange(percent, 0.0, 100.0, "slowCallRateThreshold");
            this.slowCallRateSet = true;
            return this;
        }

        /**
         * Tracks slow calls: a call that takes at least {@code duration} (by the scheduler's ticker) is
         * slow, whether it succeeded or failed. Off by default, and then the breaker never reads the clock
         * for latency.
         *
         * @param duration the slow-call duration, positive
         * @return this builder
         * @throws IllegalArgumentException if {@code duration} is not positive or too long
         */
        public Builder slowCallDuration(Duration duration) {
            this.slowCallNanos = Checks.positiveUpToMax(duration, "slowCallDuration").toNanos();
            return this;
        }

        /**
         * @param calls the recorded calls the window must hold before a rate is judged, at least 1 and,
         *              for a count window, at most its size (default 100, or the count window's size if smaller)
         * @return this builder
         * @throws IllegalArgumentException if {@code calls < 1}; {@link #build()} if it exceeds the count window
         */
        public Builder minimumCalls(int calls) {
            this.minimumCalls = Checks.atLeastOne(calls, "minimumCalls");
            return this;
        }

        /**
         * Also opens the breaker after {@code failures} failed calls in a row while closed, whatever the
         * rates (off by default).
         *
         * @param failures the run of failures, at least 1
         * @return this builder
         * @throws IllegalArgumentException if {@code failures < 1}
         */
        public Builder consecutiveFailures(int failures) {
            this.consecutiveFailures = Checks.atLeastOne(failures, "consecutiveFailures");
            return this;
        }

        /**
         * @param duration how long the breaker stays open each time (default 60 s)
         * @return this builder
         * @throws IllegalArgumentException if {@code duration} is not positive or too long
         */
        public Builder openDuration(Duration duration) {
            this.openBackoff = Backoff.fixed(Checks.positiveUpToMax(duration, "openDuration"));
            return this;
        }

        /**
         * Makes the open duration grow when the breaker opens again without having closed in between
         * (half-open probes failed): the n-th opening in a row stays open {@code backoff.delayNanos(n, previous)}.
         * Closing resets n, and so does a manual move to {@code FORCED_OPEN} or {@code DISABLED}. Jitter spreads the reopening of many instances' breakers.
         *
         * @param backoff the open durations; its first delay must be positive (not {@link dev.vigil.core.Jitter#full() full} jitter,
         *                which can draw 0)
         * @return this builder
         * @throws IllegalArgumentException if {@code backoff} is null or can give a zero open duration
         */
        public Builder openBackoff(Backoff backoff) {
            Checks.notNull(backoff, "openBackoff");
            if (backoff.minDelayNanos(1, 0L) <= 0) {
                throw new IllegalArgumentException("openBackoff must never give a zero open duration, but its first delay can be 0: "
                        + backoff + " (use equal, proportional or decorrelated jitter, or none)");
            }
            this.openBackoff = backoff;
            return this;
        }

        /**
         * @param calls the probe calls admitted in half-open (in flight or recorded, at any moment), 1 to
         *              10,000 (default 10); the half-open decision is made on this many recorded probes
         * @return this builder
         * @throws IllegalArgumentException if {@code calls} is out of range
         */
        public Builder permittedCallsInHalfOpen(int calls) {
            this.permittedInHalfOpen = Checks.inRange(calls, 1, MAX_PERMITTED_IN_HALF_OPEN, "permittedCallsInHalfOpen");
            return this;
        }

        /**
         * Bounds the time in half-open: when it is up, the breaker decides on the probes recorded so far
         * (closed if at least one was and the rates are below the thresholds, open otherwise). Unbounded
         * by default: the breaker waits for all probes.
         *
         * @param duration the max wait, positive
         * @return this builder
         * @throws IllegalArgumentException if {@code duration} is not positive or too long
         */
        public Builder maxWaitInHalfOpen(Duration duration) {
            this.maxWaitInHalfOpenNanos = Checks.positiveUpToMax(duration, "maxWaitInHalfOpen").toNanos();
            return this;
        }

        /**
         * @param automatic true to move from open to half-open on time, by the scheduler, even without
         *                  calls; false (default) to move at the first call after the open duration
         * @return this builder
         */
        public Builder automaticTransitionToHalfOpen(boolean automatic) {
            this.automaticHalfOpen = automatic;
            return this;
        }

        /**
         * @param classifier what counts as a failure, a success, or neither (default {@link Classifier#defaults()}:
         *                   exceptions fail, results succeed)
         * @return this builder
         * @throws IllegalArgumentException if {@code classifier} is null
         */
        public Builder classifier(Classifier classifier) {
            this.classifier = Checks.notNull(classifier, "classifier");
            return this;
        }

        /**
         * @param scheduler the clock ({@link Scheduler#ticker()}) and the timer for timed transitions
         *                  (default {@link Scheduler#shared()}); a {@link dev.vigil.core.time.ManualScheduler}
         *                  runs the breaker in virtual time
         * @return this builder
         * @throws IllegalArgumentException if {@code scheduler} is null
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Checks.notNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Registers a listener for {@link PolicyEvent.StateChanged} and {@link PolicyEvent.Rejected}.
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
         * @return a new breaker, closed
         * @throws IllegalArgumentException if {@code minimumCalls} exceeds the count window's size, or a
         *                                  slow-call rate was set without a slow-call duration
         */
        public CircuitBreaker build() {
            return new CircuitBreaker(this);
        }
    }
}
