package dev.vigil.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.circuitbreaker.CircuitBreaker.State;
import dev.vigil.circuitbreaker.CircuitBreaker.Stats;
import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Backoff;
import dev.vigil.core.CallNotPermittedException;
import dev.vigil.core.Jitter;
import dev.vigil.core.Outcome;
import dev.vigil.core.RejectedException;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.event.PolicyEventListener;
import dev.vigil.core.health.Health;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.ManualTicker;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;
import net.jqwik.api.statistics.Statistics;

/**
 * {@link CircuitBreaker} as a jqwik stateful property: random action chains against a small sequential
 * model written from the class javadoc (not from the implementation), in virtual time
 * ({@link ManualScheduler}), over random configurations.
 *
 * <p><b>Configurations:</b> a count window (1 to 8 calls) or a time window (2 to 4 buckets of 1, 2, 5 or
 * 10 ms); minimumCalls explicit or default; failure-rate threshold default or drawn (whole and half
 * percents, so the rate comparisons are exact); slow calls off, or on with a default or drawn
 * slow-call-rate threshold; consecutive failures off or 1 to 5; 1 to 4 half-open probes; an optional
 * maxWaitInHalfOpen; lazy or automatic half-open; open durations fixed, exponential, exponential with
 * seeded proportional jitter, or decorrelated jitter (seeded); a virtual clock starting at 0 or anywhere
 * in about +-17 minutes (negative times exercise {@code floorDiv} in the time window).
 *
 * <p><b>Actions</b> (a jqwik {@link ActionChain} of up to 60): acquire ({@code tryAcquirePermit}, admitted
 * permits are held); complete a held permit with SUCCESS, FAILURE or IGNORED and an elapsed time just
 * below, at or above the slow-call duration, or anything (by {@code complete}, or by {@code onResult} with
 * a result or an exception and the default classifier); release a held permit (by {@code release}, or by
 * {@code onResult} with an {@link InterruptedException}); advance virtual time
 * ({@link ManualScheduler#advance}, which runs due timers: small steps, to the next bucket boundary or
 * timed deadline give or take a nanosecond, or long jumps); and the manual transitions and
 * {@code reset()}.
 *
 * <p><b>The model</b> (from the javadoc): states and epochs (every state change starts an epoch; an
 * outcome of a permit from an earlier epoch counts in the counters only; a release of one frees
 * nothing); the count window is the last N recorded calls; the time window is the calls whose
 * completion period {@code floorDiv(t, b)} lies in {@code (P - B, P]} for the current period P; only a
 * recorded failure or slow call evaluates the thresholds (minimumCalls, failure rate {@code >=}
 * threshold, slow-call rate {@code >=} threshold, consecutive failures in CLOSED, where IGNORED does
 * not break a run and a success does); OPEN until {@code openedAt + openDuration}, then HALF_OPEN at the
 * next acquire (lazy) or at that instant (automatic); HALF_OPEN admits while
 * {@code inFlight + recorded < permitted}, an ignored or released probe frees its slot, the decision is
 * taken when {@code recorded == permitted} (closed iff both rates are below their thresholds), and with
 * maxWaitInHalfOpen at {@code enteredAt + maxWait} (closed iff at least one probe was recorded and the
 * rates are below the thresholds); the n-th opening in a row (OPEN/HALF_OPEN without closing) lasts
 * {@code backoff.delayNanos(n, previous)}; FORCED_OPEN rejects until a manual transition; DISABLED admits
 * and records but never moves by itself; a manual transition to the current state changes nothing
 * (returns false), {@code reset()} always starts a fresh CLOSED epoch.
 *
 * <p><b>Checked after every action:</b> {@code state()} and {@code health()} (OPEN and FORCED_OPEN down,
 * HALF_OPEN degraded); whether an acquire was admitted; for a rejected acquire, that {@code rejection()}
 * is a {@link CallNotPermittedException} whose {@code retryAfterNanos()} is the open time left when OPEN,
 * the time to the decision when HALF_OPEN with a max wait, and -1 otherwise; the return value of manual
 * transitions; {@code stats()} in CLOSED, DISABLED (the window at the current time) and HALF_OPEN (the
 * probes) (what it shows in OPEN and FORCED_OPEN is not documented); the counters
 * {@code successCount}, {@code failureCount}, {@code ignoredCount}, {@code rejectedCount},
 * {@code slowCallCount}; every {@link PolicyEvent.StateChanged} (from, to, and the virtual time of the
 * transition, so a timed transition must carry its deadline) and every {@link PolicyEvent.Rejected}
 * (time and retry-after); and, once, {@code measuresLatency()} iff slow calls are tracked.
 *
 * <p>Interpretations where the javadoc is not explicit (see the report): the chain of openings that
 * grows the open duration is broken by any state other than OPEN and HALF_OPEN (FORCED_OPEN and
 * DISABLED included, as CLOSED is); an IGNORED call is never counted as slow (slow calls are among
 * "successes and failures alike").
 */
class CircuitBreakerProperties {
    static {
        // One log line per transition would flood the output over thousands of chains.
        String key = "org.slf4j.simpleLogger.log.dev.vigil.circuitbreaker";
        if (System.getProperty(key) == null) {
            System.setProperty(key, "off");
        }
    }

    private static final long MS = 1_000_000L;

    // ------------------------------------------------------------------ configuration

    enum OpenKind { FIXED, EXPONENTIAL, EXPONENTIAL_JITTER, DECORRELATED }

    /** The window: {@code buckets == 0} for a count window of {@code size}; {@code minimumCalls == 0} for the default. */
    record WindowConfig(int size, long bucketNanos, int buckets, int minimumCalls) {
        boolean timeBased() {
            return buckets > 0;
        }
    }

    /**
     * Thresholds in half percents (0 = the default: 50% failures, 100% slow calls); {@code slowNanos == 0}:
     * slow calls not tracked; {@code consecutive == 0}: off.
     */
    record ThresholdConfig(int failureHalfPercent, long slowNanos, int slowHalfPercent, int consecutive) {}

    /** {@code maxWaitNanos == 0}: no max wait. */
    record HalfOpenConfig(int probes, long maxWaitNanos, boolean automatic) {}

    record OpenConfig(OpenKind kind, long initialNanos, long maxNanos, long seed) {
        Backoff backoff() {
            Duration initial = Duration.ofNanos(initialNanos);
            Duration max = Duration.ofNanos(maxNanos);
            switch (kind) {
                case FIXED:
                    return Backoff.fixed(initial);
                case EXPONENTIAL:
                    return Backoff.exponential(initial, max);
                case EXPONENTIAL_JITTER:
                    return Backoff.exponential(initial, max).withJitter(Jitter.proportional(0.5)).withRandom(new SplittableRandom(seed));
                default:
                    return Backoff.exponential(initial, max).withJitter(Jitter.decorrelated()).withRandom(new SplittableRandom(seed));
            }
        }
    }

    record Config(WindowConfig window, ThresholdConfig thresholds, HalfOpenConfig halfOpen, OpenConfig open, long startNanos) {
        int minimumCalls() {
            if (window.minimumCalls() > 0) {
                return window.minimumCalls();
            }
            return window.timeBased() ? 100 : Math.min(100, window.size()); // documented defaults
        }

        int failureHalfPercent() {
            return thresholds.failureHalfPercent() > 0 ? thresholds.failureHalfPercent() : 100; // 50%
        }

        boolean slowTracked() {
            return thresholds.slowNanos() > 0;
        }

        int slowHalfPercent() {
            return thresholds.slowHalfPercent() > 0 ? thresholds.slowHalfPercent() : 200; // 100%
        }

        CircuitBreaker build(ManualScheduler scheduler, PolicyEventListener listener) {
            CircuitBreaker.Builder builder = CircuitBreaker.builder().name("model-checked").scheduler(scheduler).listener(listener)
                    .permittedCallsInHalfOpen(halfOpen.probes()).automaticTransitionToHalfOpen(halfOpen.automatic());
            if (window.timeBased()) {
                builder.timeWindow(Duration.ofNanos(window.bucketNanos() * window.buckets()), window.buckets());
            } else {
                builder.countWindow(window.size());
            }
            if (window.minimumCalls() > 0) {
                builder.minimumCalls(window.minimumCalls());
            }
            if (thresholds.failureHalfPercent() > 0) {
                builder.failureRateThreshold(thresholds.failureHalfPercent() / 2.0);
            }
            if (thresholds.slowNanos() > 0) {
                builder.slowCallDuration(Duration.ofNanos(thresholds.slowNanos()));
                if (thresholds.slowHalfPercent() > 0) {
                    builder.slowCallRateThreshold(thresholds.slowHalfPercent() / 2.0);
                }
            }
            if (thresholds.consecutive() > 0) {
                builder.consecutiveFailures(thresholds.consecutive());
            }
            if (halfOpen.maxWaitNanos() > 0) {
                builder.maxWaitInHalfOpen(Duration.ofNanos(halfOpen.maxWaitNanos()));
            }
            if (open.kind() == OpenKind.FIXED) {
                builder.openDuration(Duration.ofNanos(open.initialNanos()));
            } else {
                builder.openBackoff(open.backoff());
            }
            return builder.build();
        }
    }

    @Provide
    Arbitrary<Config> configs() {
        Arbitrary<WindowConfig> count = Arbitraries.integers().between(1, 8).flatMap(size -> Combinators.combine(
                Arbitraries.just(size),
                Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(0)), Tuple.of(4, Arbitraries.integers().between(1, size))))
                .as((s, min) -> new WindowConfig(s, 0, 0, min)));
        Arbitrary<WindowConfig> time = Combinators.combine(
                Arbitraries.of(1L, 2L, 5L, 10L).map(ms -> ms * MS),
                Arbitraries.integers().between(2, 4),
                Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(0)), Tuple.of(5, Arbitraries.integers().between(1, 6))))
                .as((bucket, buckets, min) -> new WindowConfig(0, bucket, buckets, min));
        Arbitrary<WindowConfig> window = Arbitraries.oneOf(count, time);

        Arbitrary<Integer> halfPercent = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.just(0)),
                Tuple.of(3, Arbitraries.of(2, 40, 50, 66, 67, 100, 101, 132, 134, 150, 199, 200)),
                Tuple.of(3, Arbitraries.integers().between(1, 100).map(p -> 2 * p)),
                Tuple.of(1, Arbitraries.integers().between(1, 200)));
        Arbitrary<Long> slow = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.just(0L)),
                Tuple.of(3, Arbitraries.longs().between(1, 10).map(ms -> ms * MS)));
        Arbitrary<ThresholdConfig> thresholds = Combinators.combine(halfPercent, slow, halfPercent,
                Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just(0)), Tuple.of(1, Arbitraries.integers().between(1, 5))))
                .as(ThresholdConfig::new);

        Arbitrary<HalfOpenConfig> halfOpen = Combinators.combine(
                Arbitraries.integers().between(1, 4),
                Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(0L)), Tuple.of(1, Arbitraries.longs().between(1, 30).map(ms -> ms * MS))),
                Arbitraries.of(true, false))
                .as(HalfOpenConfig::new);

        Arbitrary<OpenConfig> open = Combinators.combine(
                Arbitraries.of(OpenKind.class),
                Arbitraries.longs().between(1, 30).map(ms -> ms * MS),
                Arbitraries.of(1L, 2L, 4L, 8L),
                Arbitraries.longs())
                .as((kind, initial, factor, seed) -> new OpenConfig(kind, initial, initial * factor, seed));

        Arbitrary<Long> start = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just(0L)),
                Tuple.of(1, Arbitraries.longs().between(-1_000_000_000_000L, 1_000_000_000_000L)));
        return Combinators.combine(window, thresholds, halfOpen, open, start).as(Config::new);
    }

    // ------------------------------------------------------------------ the model

    /** One recorded call: when it completed, and how. */
    record Call(long at, boolean failed, boolean slow) {}

    /** A permit the test holds: the breaker's, and the model's epoch for it. */
    record Held(long permit, int epoch, int id) {}

    /** The documented semantics, sequentially. */
    static final class Model {
        static final long NO_DEADLINE = Long.MIN_VALUE;

        final Config config;
        final Backoff jitteredBackoff; // an identically seeded copy: draws the same values in the same order

        State state = State.CLOSED;
        int epoch;
        long now;

        // CLOSED / DISABLED
        List<Call> window = new ArrayList<>();
        int failureRun;

        // OPEN (and the opening chain, carried through HALF_OPEN)
        long openUntil;
        int openings;
        long lastOpenNanos;

        // HALF_OPEN
        long enteredAt;
        int inFlight;
        int probesRecorded;
        int probesFailed;
        int probesSlow;

        long successes;
        long failures;
        long ignored;
        long slowCalls;
        long rejected;
        /** Which transitions and decisions this chain exercised, for the coverage statistics. */
        final Set<String> covered = new TreeSet<>();
        /** Every transition, as "FROM->TO@time", and every rejection, as "time:retryAfter". */
        final List<String> transitions = new ArrayList<>();
        final List<String> rejections = new ArrayList<>();

        Model(Config config) {
            this.config = config;
            this.now = config.startNanos();
            OpenKind kind = config.open().kind();
            this.jitteredBackoff = kind == OpenKind.EXPONENTIAL_JITTER || kind == OpenKind.DECORRELATED ? config.open().backoff() : null;
        }

        // ---------------------------------------------------------- window and thresholds

        long period(long t) {
            return Math.floorDiv(t, config.window().bucketNanos());
        }

        /** The recorded calls the window holds at {@link #now}. */
        List<Call> inWindow() {
            if (!config.window().timeBased()) {
                int size = config.window().size();
                return window.subList(Math.max(0, window.size() - size), window.size());
            }
            long current = period(now);
            List<Call> result = new ArrayList<>();
            for (Call call : window) {
                long p = period(call.at());
                if (p > current - config.window().buckets() && p <= current) {
                    result.add(call);
                }
            }
            return result;
        }

        Stats windowStats() {
            List<Call> calls = inWindow();
            long failed = calls.stream().filter(Call::failed).count();
            long slow = calls.stream().filter(Call::slow).count();
            return new Stats(state, calls.size(), failed, slow);
        }

        /** failed / calls >= threshold (half percents, exact). */
        boolean failureRateReached(long calls, long failed) {
            return failed * 200 >= (long) config.failureHalfPercent() * calls;
        }

        boolean slowRateReached(long calls, long slow) {
            return config.slowTracked() && slow * 200 >= (long) config.slowHalfPercent() * calls;
        }

        boolean ratesTrip(long calls, long failed, long slow, int minimum) {
            return calls >= minimum && calls > 0 && (failureRateReached(calls, failed) || slowRateReached(calls, slow));
        }

        // ---------------------------------------------------------- transitions

        void cover(String what) {
            covered.add(what);
        }

        void enter(State next) {
            transitions.add(state + "->" + next + "@" + now);
            state = next;
            epoch++;
            switch (next) {
                case CLOSED:
                case DISABLED:
                    window = new ArrayList<>();
                    failureRun = 0;
                    openings = 0;
                    lastOpenNanos = 0;
                    break;
                case HALF_OPEN:
                    enteredAt = now;
                    inFlight = 0;
                    probesRecorded = 0;
                    probesFailed = 0;
                    probesSlow = 0;
                    break;
                case FORCED_OPEN:
                    openings = 0;
                    lastOpenNanos = 0;
                    break;
                default:
                    throw new IllegalStateException("use open()");
            }
        }

        /** Opens (tripped, probes failed, max wait, or by hand): the n-th opening in a row lasts backoff(n). */
        void open() {
            boolean again = state == State.OPEN || state == State.HALF_OPEN;
            int n = again ? openings + 1 : 1;
            long previous = again ? lastOpenNanos : 0L;
            long duration = openDuration(n, previous);
            transitions.add(state + "->" + State.OPEN + "@" + now);
            state = State.OPEN;
            epoch++;
            openings = n;
            lastOpenNanos = duration;
            openUntil = now + duration;
        }

        long openDuration(int n, long previous) {
            OpenConfig open = config.open();
            switch (open.kind()) {
                case FIXED:
                    return open.initialNanos();
                case EXPONENTIAL: {
                    long d = open.initialNanos();
                    for (int i = 1; i < n && d < open.maxNanos(); i++) {
                        d *= 2;
                    }
                    return Math.min(d, open.maxNanos());
                }
                default:
                    return jitteredBackoff.delayNanos(n, previous);
            }
        }

        /**
         * Decides on the probes: closed iff at least one was recorded and the rates (minimum 1) are below
         * the thresholds (when all permitted probes are recorded, at least one is).
         */
        void decide() {
            boolean healthy = probesRecorded >= 1
                    && !failureRateReached(probesRecorded, probesFailed) && !slowRateReached(probesRecorded, probesSlow);
            if (healthy) {
                cover("decide-close");
                enter(State.CLOSED);
            } else {
                cover("decide-open");
                open();
            }
        }

        /** Moves time to {@code target}, firing the timed transitions on the way in time order. */
        void advanceTo(long target) {
            while (true) {
                long due = Long.MAX_VALUE;
                boolean found = false;
                if (state == State.OPEN && config.halfOpen().automatic()) {
                    due = openUntil;
                    found = true;
                } else if (state == State.HALF_OPEN && config.halfOpen().maxWaitNanos() > 0) {
                    due = enteredAt + config.halfOpen().maxWaitNanos();
                    found = true;
                }
                if (!found || due - target > 0) {
                    break;
                }
                now = Math.max(now, due);
                if (state == State.OPEN) {
                    cover("auto-half-open");
                    enter(State.HALF_OPEN);
                } else {
                    cover("wait-decision");
                    decide();
                }
            }
            now = target;
        }

        /** The next instant something timed happens, or the open deadline in lazy mode; {@link #NO_DEADLINE} if none. */
        long nextDeadline() {
            if (state == State.OPEN) {
                return openUntil;
            }
            if (state == State.HALF_OPEN && config.halfOpen().maxWaitNanos() > 0) {
                return enteredAt + config.halfOpen().maxWaitNanos();
            }
            return NO_DEADLINE;
        }

        // ---------------------------------------------------------- the protocol

        /** @return the epoch of the admitted permit, or -1 if rejected */
        int acquire() {
            if (state == State.OPEN && now - openUntil >= 0) {
                cover("lazy-half-open");
                enter(State.HALF_OPEN); // lazily, at the next call
            }
            switch (state) {
                case CLOSED:
                case DISABLED:
                    return epoch;
                case HALF_OPEN:
                    if (inFlight + probesRecorded < config.halfOpen().probes()) {
                        inFlight++;
                        return epoch;
                    }
                    reject();
                    return -1;
                default:
                    reject();
                    return -1;
            }
        }

        private void reject() {
            rejected++;
            rejections.add(now + ":" + retryAfterNanos());
        }

        /** What {@code rejection().retryAfterNanos()} should say right after a rejection. */
        long retryAfterNanos() {
            if (state == State.OPEN) {
                return openUntil - now;
            }
            if (state == State.HALF_OPEN && config.halfOpen().maxWaitNanos() > 0) {
                return enteredAt + config.halfOpen().maxWaitNanos() - now;
            }
            return -1;
        }

        void complete(int permitEpoch, Outcome outcome, long elapsedNanos) {
            boolean slow = outcome != Outcome.IGNORED && config.slowTracked() && elapsedNanos >= config.thresholds().slowNanos();
            switch (outcome) {
                case SUCCESS:
                    successes++;
                    break;
                case FAILURE:
                    failures++;
                    break;
                default:
                    ignored++;
            }
            if (slow) {
                slowCalls++;
            }
            if (permitEpoch != epoch) {
                return; // admitted in an earlier epoch: counters only
            }
            boolean failed = outcome == Outcome.FAILURE;
            switch (state) {
                case CLOSED:
                    if (outcome == Outcome.IGNORED) {
                        return;
                    }
                    window.add(new Call(now, failed, slow));
                    trimCountWindow();
                    if (failed) {
                        failureRun++;
                        if (config.thresholds().consecutive() > 0 && failureRun >= config.thresholds().consecutive()) {
                            cover("trip-consecutive");
                            open();
                            return;
                        }
                    } else {
                        failureRun = 0;
                    }
                    if (failed || slow) {
                        Stats s = windowStats();
                        if (ratesTrip(s.calls(), s.failedCalls(), s.slowCalls(), config.minimumCalls())) {
                            cover("trip-rate");
                            open();
                        }
                    }
                    return;
                case DISABLED:
                    if (outcome != Outcome.IGNORED) {
                        window.add(new Call(now, failed, slow));
                        trimCountWindow();
                    }
                    return;
                case HALF_OPEN:
                    inFlight--;
                    if (outcome == Outcome.IGNORED) {
                        return; // frees the slot
                    }
                    probesRecorded++;
                    if (failed) {
                        probesFailed++;
                    }
                    if (slow) {
                        probesSlow++;
                    }
                    if (probesRecorded == config.halfOpen().probes()) {
                        cover("probe-decision");
                        decide();
                    }
                    return;
                default:
                    throw new IllegalStateException("a permit of the current epoch while " + state);
            }
        }

        private void trimCountWindow() {
            if (!config.window().timeBased() && window.size() > config.window().size()) {
                window.remove(0);
            }
        }

        void release(int permitEpoch) {
            if (permitEpoch == epoch && state == State.HALF_OPEN) {
                inFlight--;
            }
        }

        /** @return whether the state changed */
        boolean toState(State target) {
            if (state == target) {
                return false;
            }
            if (target == State.OPEN) {
                cover("manual-open");
                open();
            } else {
                enter(target);
            }
            return true;
        }

        void reset() {
            enter(State.CLOSED);
        }

        @Override
        public String toString() {
            return "Model[" + state + "#" + epoch + " at " + now + ", window " + inWindow() + ", run " + failureRun
                    + ", openUntil " + openUntil + ", openings " + openings + ", last " + lastOpenNanos + ", half-open since "
                    + enteredAt + " inFlight " + inFlight + " recorded " + probesRecorded + " failed " + probesFailed + " slow "
                    + probesSlow + ", counts s/f/i/slow/r " + successes + "/" + failures + "/" + ignored + "/" + slowCalls + "/" + rejected + "]";
        }
    }

    // ------------------------------------------------------------------ the system under test plus the model

    static final class Harness {
        final Config config;
        final ManualScheduler scheduler;
        final CircuitBreaker breaker;
        final Model model;
        final List<Held> held = new ArrayList<>();
        final List<String> steps = new ArrayList<>();
        final List<String> transitions = new ArrayList<>();
        final List<String> rejections = new ArrayList<>();
        int nextId;

        Harness(Config config) {
            this.config = config;
            this.scheduler = new ManualScheduler(new ManualTicker(config.startNanos()));
            this.breaker = config.build(scheduler, this::onEvent);
            this.model = new Model(config);
            assertEquals(config.slowTracked(), breaker.measuresLatency(), "latency is measured iff slow calls are tracked");
        }

        private void onEvent(PolicyEvent event) {
            if (event instanceof PolicyEvent.StateChanged) {
                PolicyEvent.StateChanged changed = (PolicyEvent.StateChanged) event;
                transitions.add(changed.from() + "->" + changed.to() + "@" + changed.nanoTime());
            } else if (event instanceof PolicyEvent.Rejected) {
                PolicyEvent.Rejected rejected = (PolicyEvent.Rejected) event;
                rejections.add(rejected.nanoTime() + ":" + rejected.retryAfterNanos());
            }
        }

        String where() {
            return "after " + steps + "\n  " + config + "\n  " + model;
        }

        void step(String description) {
            steps.add(description);
        }

        void acquire() {
            step("acquire");
            long permit = breaker.tryAcquirePermit();
            int epoch = model.acquire();
            assertEquals(epoch >= 0, permit != AdmissionPolicy.REJECTED, () -> "admitted? " + where());
            if (permit != AdmissionPolicy.REJECTED) {
                assertTrue(permit >= 0, "a permit is never negative: " + permit);
                held.add(new Held(permit, epoch, nextId++));
            } else {
                RejectedException rejection = breaker.rejection();
                assertInstanceOf(CallNotPermittedException.class, rejection, () -> "rejection() " + where());
                assertEquals(model.retryAfterNanos(), rejection.retryAfterNanos(), () -> "rejection().retryAfterNanos() " + where());
            }
            check();
        }

        /**
         * Ends a held permit with an outcome: by {@code complete}, or (SUCCESS, FAILURE) through
         * {@code onResult} and the default classifier (a result succeeds, an exception fails).
         */
        void complete(int index, Outcome outcome, long elapsedNanos, boolean viaOnResult) {
            if (held.isEmpty()) {
                return; // a shrunk chain may have dropped the acquire this step ended
            }
            Held h = held.remove(index % held.size());
            step((viaOnResult ? "onResult p" : "complete p") + h.id() + " " + outcome + " " + elapsedNanos + "ns");
            if (!viaOnResult || outcome == Outcome.IGNORED) {
                breaker.complete(h.permit(), outcome, elapsedNanos);
            } else if (outcome == Outcome.SUCCESS) {
                breaker.onResult(h.permit(), "ok", null, elapsedNanos);
            } else {
                breaker.onResult(h.permit(), null, new IOException("failed"), elapsedNanos);
            }
            model.complete(h.epoch(), outcome, elapsedNanos);
            check();
        }

        /** Ends a held permit without an outcome: {@code release}, or {@code onResult} with an interruption. */
        void release(int index, boolean viaInterruption) {
            if (held.isEmpty()) {
                return; // a shrunk chain may have dropped the acquire this step ended
            }
            Held h = held.remove(index % held.size());
            step((viaInterruption ? "interrupted p" : "release p") + h.id());
            if (viaInterruption) {
                breaker.onResult(h.permit(), null, new InterruptedException(), 0L);
            } else {
                breaker.release(h.permit());
            }
            model.release(h.epoch());
            check();
        }

        void advance(long nanos) {
            step("advance " + nanos + "ns");
            scheduler.advance(Duration.ofNanos(nanos));
            model.advanceTo(model.now + nanos);
            assertEquals(model.now, scheduler.ticker().read(), "virtual time");
            check();
        }

        void manual(ManualOp op) {
            step(op.toString());
            boolean changed;
            switch (op) {
                case RESET:
                    breaker.reset();
                    model.reset();
                    check();
                    return;
                case TO_CLOSED:
                    changed = breaker.transitionToClosed();
                    break;
                case TO_OPEN:
                    changed = breaker.transitionToOpen();
                    break;
                case TO_HALF_OPEN:
                    changed = breaker.transitionToHalfOpen();
                    break;
                case TO_FORCED_OPEN:
                    changed = breaker.transitionToForcedOpen();
                    break;
                default:
                    changed = breaker.transitionToDisabled();
            }
            assertEquals(model.toState(op.target), changed, () -> op + " result " + where());
            check();
        }

        void check() {
            assertEquals(model.state, breaker.state(), () -> "state " + where());
            Health.Status health = model.state == State.OPEN || model.state == State.FORCED_OPEN ? Health.Status.DOWN
                    : model.state == State.HALF_OPEN ? Health.Status.DEGRADED : Health.Status.UP;
            assertEquals(health, breaker.health().status(), () -> "health " + where());
            assertEquals(model.successes, breaker.successCount(), () -> "successCount " + where());
            assertEquals(model.failures, breaker.failureCount(), () -> "failureCount " + where());
            assertEquals(model.ignored, breaker.ignoredCount(), () -> "ignoredCount " + where());
            assertEquals(model.slowCalls, breaker.slowCallCount(), () -> "slowCallCount " + where());
            assertEquals(model.rejected, breaker.rejectedCount(), () -> "rejectedCount " + where());
            assertEquals(model.transitions, transitions, () -> "StateChanged events (from->to@nanoTime) " + where());
            assertEquals(model.rejections, rejections, () -> "Rejected events (nanoTime:retryAfterNanos) " + where());
            switch (model.state) {
                case CLOSED:
                case DISABLED:
                    assertEquals(model.windowStats(), breaker.stats(), () -> "stats " + where());
                    break;
                case HALF_OPEN:
                    assertEquals(new Stats(State.HALF_OPEN, model.probesRecorded, model.probesFailed, model.probesSlow),
                            breaker.stats(), () -> "stats (the probes) " + where());
                    break;
                default: // OPEN, FORCED_OPEN: what stats() shows is not documented
            }
        }

        @Override
        public String toString() {
            return "Harness[" + config + ", steps " + steps.size() + "]";
        }
    }

    // ------------------------------------------------------------------ actions

    static final class Acquire implements Action.Independent<Harness> {
        @Override
        public Arbitrary<Transformer<Harness>> transformer() {
            return Arbitraries.just(Transformer.mutate("acquire", Harness::acquire));
        }
    }

    static final class Complete implements Action.Dependent<Harness> {
        @Override
        public boolean precondition(Harness h) {
            return !h.held.isEmpty();
        }

        @Override
        public Arbitrary<Transformer<Harness>> transformer(Harness h) {
            Arbitrary<Outcome> outcome = Arbitraries.frequencyOf(
                    Tuple.of(4, Arbitraries.just(Outcome.SUCCESS)),
                    Tuple.of(4, Arbitraries.just(Outcome.FAILURE)),
                    Tuple.of(1, Arbitraries.just(Outcome.IGNORED)));
            long slow = h.config.thresholds().slowNanos();
            Arbitrary<Long> elapsed = slow > 0
                    ? Arbitraries.frequencyOf(
                            Tuple.of(3, Arbitraries.just(0L)),
                            Tuple.of(2, Arbitraries.of(slow - 1, slow, slow + 1)),
                            Tuple.of(2, Arbitraries.longs().between(0, 3 * slow)))
                    : Arbitraries.longs().between(0, 20 * MS);
            return Combinators.combine(Arbitraries.integers().between(0, h.held.size() - 1), outcome, elapsed,
                    Arbitraries.frequencyOf(Tuple.of(4, Arbitraries.just(false)), Tuple.of(1, Arbitraries.just(true))))
                    .as((index, o, e, viaOnResult) -> Transformer.<Harness>mutate(
                            (viaOnResult ? "onResult #" : "complete #") + index + " " + o + " " + e + "ns",
                            s -> s.complete(index, o, e, viaOnResult)));
        }
    }

    static final class Release implements Action.Dependent<Harness> {
        @Override
        public boolean precondition(Harness h) {
            return !h.held.isEmpty();
        }

        @Override
        public Arbitrary<Transformer<Harness>> transformer(Harness h) {
            return Combinators.combine(Arbitraries.integers().between(0, h.held.size() - 1), Arbitraries.of(false, true))
                    .as((index, interrupted) -> Transformer.<Harness>mutate(
                            (interrupted ? "interrupted #" : "release #") + index, s -> s.release(index, interrupted)));
        }
    }

    static final class Advance implements Action.Dependent<Harness> {
        @Override
        public Arbitrary<Transformer<Harness>> transformer(Harness h) {
            List<Arbitrary<Long>> exact = new ArrayList<>();
            long deadline = h.model.nextDeadline();
            if (deadline != Model.NO_DEADLINE && deadline - h.model.now >= 0) {
                long left = deadline - h.model.now;
                exact.add(Arbitraries.of(left - 1, left, left + 1).filter(a -> a >= 0));
            }
            if (h.config.window().timeBased()) {
                long b = h.config.window().bucketNanos();
                long toBoundary = b - Math.floorMod(h.model.now, b);
                exact.add(Arbitraries.of(toBoundary - 1, toBoundary, toBoundary + 1, toBoundary + b * (h.config.window().buckets() - 1))
                        .filter(a -> a >= 0));
            }
            Arbitrary<Long> small = Arbitraries.frequencyOf(
                    Tuple.of(1, Arbitraries.of(0L, 1L)),
                    Tuple.of(4, Arbitraries.longs().between(1, 10).map(ms -> ms * MS)),
                    Tuple.of(1, Arbitraries.longs().between(0, 30 * MS)),
                    Tuple.of(1, Arbitraries.longs().between(30, 500).map(ms -> ms * MS)));
            Arbitrary<Long> amount = exact.isEmpty() ? small
                    : Arbitraries.frequencyOf(Tuple.of(3, small), Tuple.of(2, Arbitraries.oneOf(exact)));
            return amount.map(nanos -> Transformer.<Harness>mutate("advance " + nanos + "ns", s -> s.advance(nanos)));
        }
    }

    enum ManualOp {
        TO_CLOSED(State.CLOSED), TO_OPEN(State.OPEN), TO_HALF_OPEN(State.HALF_OPEN), TO_FORCED_OPEN(State.FORCED_OPEN),
        TO_DISABLED(State.DISABLED), RESET(null);

        final State target;

        ManualOp(State target) {
            this.target = target;
        }
    }

    static final class Manual implements Action.Independent<Harness> {
        @Override
        public Arbitrary<Transformer<Harness>> transformer() {
            return Arbitraries.of(ManualOp.class).map(op -> Transformer.<Harness>mutate(op.toString(), s -> s.manual(op)));
        }
    }

    @Provide
    Arbitrary<ActionChain<Harness>> chains() {
        return configs().flatMap(config -> ActionChain.<Harness>startWith(() -> new Harness(config))
                .withAction(6, new Acquire())
                .withAction(6, new Complete())
                .withAction(1, new Release())
                .withAction(4, new Advance())
                .withAction(1, new Manual())
                .withMaxTransformations(60));
    }

    // ------------------------------------------------------------------ the property

    @Property(seed = "7710001", tries = 500)
    void breakerAgreesWithTheDocumentedModel(@ForAll("chains") ActionChain<Harness> chain) {
        Harness h = chain.run();
        Statistics.label("final state").collect(h.model.state);
        for (String what : h.model.covered) {
            Statistics.label("chains exercising").collect(what);
        }
    }
}
