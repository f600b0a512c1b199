package dev.vigil.bulkhead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.LoadShedException;
import dev.vigil.core.Outcome;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.health.Health;
import dev.vigil.core.time.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 * {@link AdaptiveLimiter} as a jqwik stateful property: random chains of admissions (random
 * criticality, random partition), completions (SUCCESS, FAILURE or IGNORED, through the limiter or the
 * admitting view, after a random amount of virtual time and with a random {@code elapsedNanos} that the
 * limiter must ignore), releases and bare ticks of the clock, against a sequential model written from the
 * javadoc, over random configurations. Everything runs on the property's one thread, so every call lands
 * on the same stripe and the per-stripe sampling is deterministic.
 *
 * <p><b>Configurations:</b> AIMD, Vegas or Gradient2 with random parameters and random bounds (min 1 to
 * 4, max up to 24 above it, any initial limit between); {@code sampleEvery} 1 (most often), 2 or 4; a
 * sample window of 1, 2, 3, 4, 6, 8 or 9; the default shedding shares (1, 0.7, 0.5) or random
 * non-increasing multiples of 1/8; 0 to 3 named partitions with random shares in multiples of 1/16 summing
 * to at most 1. The shares are dyadic so that shares, their sums and {@code share x L} are exact in
 * floating point and the model can compute in integers ({@code AdaptiveLimiterTest} covers decimal
 * shares).
 *
 * <p><b>The model</b> (sequential, from the javadoc): with {@code L} the limit and {@code n} the
 * calls in flight, a call of criticality {@code c} in partition {@code p} is admitted iff
 * {@code n < ceil(L x shedAt(c))} and, with partitions, the limiter is not saturated (no call shed in the
 * current or the previous closed window), or {@code p} holds fewer than {@code floor(share(p) x L)}
 * calls, or {@code n} plus the unused guarantees of the other partitions (the unassigned one's share
 * being what the named shares leave) is below {@code L}. <em>Sampling:</em> the stripe counts its
 * admitted calls; a call is sampled iff its number on the stripe is a multiple of {@code sampleEvery} and
 * the stripe's one sample slot is free (no sampled call in flight); it then holds the slot until it ends.
 * A sampled call that ends with SUCCESS or FAILURE is a sample: its latency is the ticker at completion
 * minus the ticker at admission (at least 1 ns), with the calls in flight at its admission (counting
 * itself). Every FAILURE is a drop of the current window, sampled or not; IGNORED and {@code release}
 * record nothing. On one thread the window is checked every {@code checkEvery = max(1, sampleWindow /
 * stripes)} samples, so it closes at the first multiple of {@code checkEvery} that reaches
 * {@code sampleWindow}. Then the model runs its own estimator of the same algorithm on its own summary of
 * the window (count, integer mean, least, most in flight, drops), clamps the result to the algorithm's
 * bounds, keeps the limit unchanged while the window's most calls in flight were fewer than half the limit
 * unless the window had a drop and the result is lower, and takes the window's mean as the retry-after
 * hint.
 *
 * <p><b>Checked after every step:</b> admitted or shed exactly as the model says; an admitted call never
 * makes {@code n} exceed the limit in force at its admission; {@code inFlight()} equals the model's count
 * and the number of permits the test holds (none lost or duplicated); the windows the limiter's algorithm
 * was shown equal the model's, field by field (which proves which calls were sampled, their latencies and
 * in-flight counts, and the drops); {@code limit()} equals the model's and lies within the algorithm's
 * {@code [min, max]}; shed counts per criticality, success and failure counts; health (DEGRADED iff
 * saturated and in-flight fills the SHEDDABLE share); partitions reserve only the guarantees of
 * partitions with calls in flight or shed in the current or previous window; the {@code LimitChanged} events (from, to); and for a shed call, that {@code rejection()} is
 * a {@link LoadShedException} whose message states the model's cap and whose retry-after is the last
 * window's mean (-1 before the first window).
 */
class AdaptiveLimiterProperties {
    static {
        String key = "org.slf4j.simpleLogger.log.dev.vigil.bulkhead";
        if (System.getProperty(key) == null) {
            System.setProperty(key, "off");
        }
    }

    private static final long MS = 1_000_000L;
    private static final Criticality[] CRITICALITIES = Criticality.values();

    // ------------------------------------------------------------------ configuration

    record Bounds(int min, int max, int initial) {}

    /**
     * @param shedEighths  null for the defaults, else the shares of CRITICAL, DEFAULT, SHEDDABLE in eighths (non-increasing)
     * @param partitions   the named partitions' shares in sixteenths
     */
    record Config(LimitAlgorithm algorithm, int sampleEvery, int sampleWindow, int[] shedEighths, List<Integer> partitions) {
        AdaptiveLimiter build(ManualScheduler scheduler, List<PolicyEvent> events, Recording recording) {
            AdaptiveLimiter.Builder builder = AdaptiveLimiter.builder().name("model-checked").algorithm(recording)
                    .sampleEvery(sampleEvery).sampleWindow(sampleWindow).scheduler(scheduler).listener(events::add);
            if (shedEighths != null) {
                for (Criticality c : CRITICALITIES) {
                    builder.shedAt(c, shedEighths[c.ordinal()] / 8.0);
                }
            }
            for (int i = 0; i < partitions.size(); i++) {
                builder.partition("p" + (i + 1), partitions.get(i) / 16.0);
            }
            return builder.build();
        }

        @Override
        public String toString() {
            return "Config[" + algorithm + ", sample every " + sampleEvery + ", window " + sampleWindow + ", shedAt "
                    + (shedEighths == null ? "defaults" : shedEighths[0] + "/8 " + shedEighths[1] + "/8 " + shedEighths[2] + "/8")
                    + ", partitions (sixteenths) " + partitions + "]";
        }
    }

    @Provide
    Arbitrary<Config> configs() {
        Arbitrary<Bounds> bounds = Arbitraries.integers().between(1, 4).flatMap(min -> Arbitraries.integers().between(min, min + 24)
                .flatMap(max -> Arbitraries.integers().between(min, max).map(initial -> new Bounds(min, max, initial))));
        Arbitrary<LimitAlgorithm> aimd = Combinators.combine(bounds, Arbitraries.of(0.5, 0.7, 0.9), Arbitraries.integers().between(1, 3),
                Arbitraries.of(0L, 2 * MS, 5 * MS))
                .as((b, ratio, increase, timeout) -> {
                    AimdLimit.Builder builder = AimdLimit.builder().minLimit(b.min()).maxLimit(b.max()).initialLimit(b.initial())
                            .backoffRatio(ratio).increase(increase);
                    if (timeout > 0) {
                        builder.timeout(Duration.ofNanos(timeout));
                    }
                    return builder.build();
                });
        Arbitrary<LimitAlgorithm> vegas = Combinators.combine(bounds, Arbitraries.of(1.0, 0.5, 0.25), Arbitraries.integers().between(5, 10))
                .as((b, smoothing, probe) -> VegasLimit.builder().minLimit(b.min()).maxLimit(b.max()).initialLimit(b.initial())
                        .smoothing(smoothing).probeMultiplier(probe).build());
        Arbitrary<LimitAlgorithm> gradient = Combinators.combine(bounds, Arbitraries.of(1.0, 1.5, 2.0), Arbitraries.of(1.0, 0.5, 0.2),
                Arbitraries.integers().between(0, 4), Arbitraries.integers().between(10, 40))
                .as((b, tolerance, smoothing, queue, longWindow) -> Gradient2Limit.builder().minLimit(b.min()).maxLimit(b.max())
                        .initialLimit(b.initial()).tolerance(tolerance).smoothing(smoothing).queueSize(queue).longWindow(longWindow)
                        .build());
        Arbitrary<LimitAlgorithm> algorithm = Arbitraries.oneOf(aimd, vegas, gradient);

        Arbitrary<int[]> shedAt = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just((int[]) null)),
                Tuple.of(2, Arbitraries.integers().between(1, 8).list().ofSize(3).map(list -> {
                    int[] eighths = list.stream().sorted((x, y) -> y - x).mapToInt(Integer::intValue).toArray();
                    return eighths; // CRITICAL >= DEFAULT >= SHEDDABLE
                })));
        Arbitrary<List<Integer>> partitions = Arbitraries.integers().between(1, 8).list().ofMinSize(0).ofMaxSize(3).map(list -> {
            List<Integer> kept = new ArrayList<>();
            int sum = 0;
            for (int share : list) {
                if (sum + share <= 16) {
                    kept.add(share);
                    sum += share;
                }
            }
            return kept;
        });
        Arbitrary<Integer> sampleEvery = Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.just(1)), Tuple.of(1, Arbitraries.just(2)),
                Tuple.of(1, Arbitraries.just(4)));
        return Combinators.combine(algorithm, sampleEvery, Arbitraries.of(1, 2, 3, 4, 6, 8, 9), shedAt, partitions).as(Config::new);
    }

    /** The configured algorithm, recording every window the limiter shows its estimator. */
    static final class Recording implements LimitAlgorithm {
        final LimitAlgorithm algorithm;
        final List<Win> windows = new ArrayList<>();

        Recording(LimitAlgorithm algorithm) {
            this.algorithm = algorithm;
        }

        @Override
        public int initialLimit() {
            return algorithm.initialLimit();
        }

        @Override
        public int minLimit() {
            return algorithm.minLimit();
        }

        @Override
        public int maxLimit() {
            return algorithm.maxLimit();
        }

        @Override
        public Estimator newEstimator() {
            Estimator estimator = algorithm.newEstimator();
            return (limit, window) -> {
                windows.add(new Win(window.samples(), window.averageRttNanos(), window.minRttNanos(), window.maxInFlight(),
                        window.dropped()));
                return estimator.next(limit, window);
            };
        }

        @Override
        public String toString() {
            return algorithm.toString();
        }
    }

    // ------------------------------------------------------------------ the model

    /** A window summary handed to the model's estimator, and recorded from the limiter's. */
    record Win(int samples, long averageRttNanos, long minRttNanos, int maxInFlight, int dropped) implements LimitAlgorithm.Window {}

    /** What the model knows of one admitted call. */
    static final class Call {
        final int partition;
        final int admittedAt;
        final long admittedAtNanos;
        final boolean sampled;

        Call(int partition, int admittedAt, long admittedAtNanos, boolean sampled) {
            this.partition = partition;
            this.admittedAt = admittedAt;
            this.admittedAtNanos = admittedAtNanos;
            this.sampled = sampled;
        }

        @Override
        public String toString() {
            return "p" + partition + " at " + admittedAt + (sampled ? " sampled at " + admittedAtNanos + "ns" : "");
        }
    }

    static final class Model {
        final Config config;
        final LimitAlgorithm.Estimator estimator;
        final int min;
        final int max;
        /** Guaranteed shares in sixteenths; index 0 is the unassigned partition (what the named ones leave). */
        final int[] sixteenths;
        /** How often (in samples of its own stripe) a thread checks whether the window is full. */
        final int checkEvery;

        long now;
        int limit;
        int inFlight;
        final int[] partitionInFlight;
        int windowsClosed;
        int lastShedWindow = -2;
        /** Per partition: the window of its latest shed call (it wants its guarantee). */
        final int[] partitionShedIn;
        long lastRtt = -1;

        /** The stripe's admission counter and its sample slot (the one sampled call in flight). */
        long stripeCalls;
        Call slot;

        int samples;
        long sum;
        long least = Long.MAX_VALUE;
        int most;
        int drops;

        long successes;
        long failures;
        final long[] shed = new long[3];
        final List<String> limitChanges = new ArrayList<>();
        final List<Win> windows = new ArrayList<>();
        /** Which decisions this chain exercised, for the coverage statistics. */
        final java.util.Set<String> covered = new java.util.TreeSet<>();

        Model(Config config) {
            this.config = config;
            this.estimator = config.algorithm().newEstimator();
            this.min = config.algorithm().minLimit();
            this.max = config.algorithm().maxLimit();
            this.limit = config.algorithm().initialLimit();
            int named = config.partitions().size();
            this.sixteenths = new int[named + 1];
            int assigned = 0;
            for (int i = 0; i < named; i++) {
                sixteenths[i + 1] = config.partitions().get(i);
                assigned += config.partitions().get(i);
            }
            sixteenths[0] = 16 - assigned;
            this.partitionInFlight = new int[named + 1];
            this.partitionShedIn = new int[named + 1];
            java.util.Arrays.fill(partitionShedIn, -2);
            this.checkEvery = Math.max(1, config.sampleWindow() / Stripes.count(SampleWindow.MAX_STRIPES));
        }

        boolean partitioned() {
            return !config.partitions().isEmpty();
        }

        boolean saturated() {
            return windowsClosed - lastShedWindow <= 1;
        }

        /** ceil(L x shedAt(c)), exactly. */
        int cap(Criticality c) {
            int[] eighths = config.shedEighths();
            if (eighths == null) {
                switch (c) {
                    case CRITICAL:
                        return limit;
                    case DEFAULT:
                        return Math.min(limit, (7 * limit + 9) / 10); // ceil(0.7 L)
                    default:
                        return Math.min(limit, (limit + 1) / 2); // ceil(0.5 L)
                }
            }
            int e = eighths[c.ordinal()];
            return Math.min(limit, (e * limit + 7) / 8);
        }

        /** floor(share x L), exactly. */
        int guaranteed(int partition) {
            return sixteenths[partition] * limit / 16;
        }

        boolean admits(Criticality c, int partition) {
            if (inFlight >= cap(c)) {
                return false;
            }
            if (!partitioned() || !saturated() || partitionInFlight[partition] < guaranteed(partition)) {
                return true;
            }
            int reserved = 0;
            for (int other = 0; other < sixteenths.length; other++) {
                boolean wants = partitionInFlight[other] > 0 || windowsClosed - partitionShedIn[other] <= 1;
                if (other != partition && wants) {
                    reserved += Math.max(0, guaranteed(other) - partitionInFlight[other]);
                }
            }
            boolean admits = inFlight + reserved < limit;
            covered.add(admits ? "over its share, admitted" : "over its share, refused for others' guarantees");
            return admits;
        }

        void tick(long nanos) {
            now += nanos;
        }

        /** @return the admitted call, or null if shed */
        Call acquire(Criticality c, int partition) {
            if (!admits(c, partition)) {
                shed[c.ordinal()]++;
                lastShedWindow = windowsClosed;
                partitionShedIn[partition] = windowsClosed;
                return null;
            }
            inFlight++;
            partitionInFlight[partition]++;
            boolean due = stripeCalls++ % config.sampleEvery() == 0;
            if (due && slot != null) {
                covered.add("due, but the slot was busy");
            }
            Call call = new Call(partition, inFlight, now, due && slot == null);
            if (call.sampled) {
                slot = call;
            }
            return call;
        }

        private void end(Call call) {
            inFlight--;
            partitionInFlight[call.partition]--;
            if (call.sampled) {
                slot = null;
            }
        }

        void release(Call call) {
            end(call);
        }

        void complete(Call call, Outcome outcome) {
            end(call);
            if (outcome == Outcome.IGNORED) {
                return;
            }
            boolean drop = outcome == Outcome.FAILURE;
            if (drop) {
                failures++;
                drops++; // every drop counts, sampled or not
            } else {
                successes++;
            }
            if (!call.sampled) {
                if (drop) {
                    covered.add("an unsampled drop");
                }
                return;
            }
            long rtt = Math.max(1L, now - call.admittedAtNanos);
            samples++;
            sum += rtt;
            least = Math.min(least, rtt);
            most = Math.max(most, call.admittedAt);
            if (samples % checkEvery == 0 && samples >= config.sampleWindow()) {
                closeWindow();
            }
        }

        private void closeWindow() {
            Win window = new Win(samples, Math.max(1L, sum / samples), least, most, drops);
            windows.add(window);
            if (samples > config.sampleWindow()) {
                covered.add("a window past its size");
            }
            int next;
            try {
                next = estimator.next(limit, window);
            } catch (RuntimeException e) {
                next = limit;
            }
            next = Math.max(min, Math.min(max, next));
            boolean shedInWindow = lastShedWindow == windowsClosed;
            if (!shedInWindow && 2 * most < limit && (next > limit || drops == 0)) {
                if (next != limit) {
                    covered.add("held while under-used");
                }
                next = limit;
            }
            lastRtt = window.averageRttNanos();
            windowsClosed++;
            if (next != limit) {
                limitChanges.add(limit + "->" + next);
                limit = next;
            }
            samples = 0;
            sum = 0;
            least = Long.MAX_VALUE;
            most = 0;
            drops = 0;
        }

        @Override
        public String toString() {
            return "Model[limit " + limit + ", in flight " + inFlight + " by partition " + java.util.Arrays.toString(partitionInFlight)
                    + ", windows " + windowsClosed + ", last shed in " + lastShedWindow + (saturated() ? " (saturated)" : "")
                    + ", window so far " + samples + " samples and " + drops + " drops, rtt hint " + lastRtt + ", now " + now
                    + "ns, stripe calls " + stripeCalls + ", slot " + slot + "]";
        }
    }

    // ------------------------------------------------------------------ the system under test plus the model

    /** A permit the test holds, the view that admitted it, and what the model knows of it. */
    record Held(long permit, AdmissionPolicy view, Call call, int id) {}

    static final class Harness {
        final Config config;
        final ManualScheduler scheduler = new ManualScheduler();
        final List<PolicyEvent> events = new ArrayList<>();
        final Recording recording;
        final AdaptiveLimiter limiter;
        final Model model;
        final List<Held> held = new ArrayList<>();
        final List<String> steps = new ArrayList<>();
        int nextId;
        int admitted;
        int sampled;

        Harness(Config config) {
            this.config = config;
            this.recording = new Recording(config.algorithm());
            this.limiter = config.build(scheduler, events, recording);
            this.model = new Model(config);
            check();
        }

        AdmissionPolicy view(Criticality c, int partition) {
            return partition == 0 ? limiter.with(c) : limiter.partition("p" + partition, c);
        }

        String where() {
            return "after " + steps + "\n  " + config + "\n  " + model + "\n  held " + held;
        }

        void acquire(Criticality c, int partition) {
            steps.add("acquire " + c + " p" + partition);
            AdmissionPolicy view = view(c, partition);
            int limitInForce = model.limit;
            int cap = model.cap(c);
            long permit = view.tryAcquirePermit();
            Call call = model.acquire(c, partition);
            assertEquals(call != null, permit != AdmissionPolicy.REJECTED, () -> "admitted? " + where());
            if (call != null) {
                assertTrue(permit >= 0, "a permit is never negative");
                assertTrue(call.admittedAt <= limitInForce, () -> "in flight " + call.admittedAt + " above the limit in force " + limitInForce);
                held.add(new Held(permit, view, call, nextId++));
                admitted++;
                sampled += call.sampled ? 1 : 0;
            } else {
                LoadShedException shed = assertInstanceOf(LoadShedException.class, view.rejection());
                assertEquals(model.lastRtt, shed.retryAfterNanos(), () -> "retry-after " + where());
                assertTrue(shed.getMessage().contains("may use " + cap + ")"), () -> "cap in " + shed.getMessage() + " " + where());
            }
            check();
        }

        void tick(long nanos) {
            steps.add("tick " + nanos + "ns");
            scheduler.ticker().advanceNanos(nanos);
            model.tick(nanos);
            check();
        }

        void complete(int index, Outcome outcome, long afterNanos, long elapsedNanos, boolean throughView) {
            if (held.isEmpty()) {
                return; // a shrunk chain may have dropped the acquire this step ended
            }
            Held h = held.remove(index % held.size());
            steps.add("complete #" + h.id() + " " + outcome + " after " + afterNanos + "ns (elapsedNanos " + elapsedNanos + ")"
                    + (throughView ? " via the view" : ""));
            scheduler.ticker().advanceNanos(afterNanos);
            model.tick(afterNanos);
            (throughView ? h.view() : limiter).complete(h.permit(), outcome, elapsedNanos);
            model.complete(h.call(), outcome);
            check();
        }

        void release(int index) {
            if (held.isEmpty()) {
                return;
            }
            Held h = held.remove(index % held.size());
            steps.add("release #" + h.id());
            h.view().release(h.permit());
            model.release(h.call());
            check();
        }

        void check() {
            assertEquals(model.inFlight, limiter.inFlight(), () -> "inFlight() " + where());
            assertEquals(held.size(), limiter.inFlight(), () -> "permits held " + where());
            assertEquals(model.windows, recording.windows, () -> "the windows the algorithm was shown " + where());
            assertEquals(model.limit, limiter.limit(), () -> "limit() " + where());
            assertTrue(model.min <= limiter.limit() && limiter.limit() <= model.max, () -> "limit within bounds " + where());
            for (Criticality c : CRITICALITIES) {
                assertEquals(model.shed[c.ordinal()], limiter.shedCount(c), () -> "shedCount(" + c + ") " + where());
            }
            assertEquals(model.successes, limiter.successCount(), () -> "successCount " + where());
            assertEquals(model.failures, limiter.failureCount(), () -> "failureCount " + where());
            boolean shedding = model.saturated() && model.inFlight >= model.cap(Criticality.SHEDDABLE);
            assertEquals(shedding ? Health.Status.DEGRADED : Health.Status.UP, limiter.health().status(), () -> "health " + where());
            List<String> changes = new ArrayList<>();
            for (PolicyEvent event : events) {
                if (event instanceof PolicyEvent.LimitChanged) {
                    PolicyEvent.LimitChanged changed = (PolicyEvent.LimitChanged) event;
                    changes.add(changed.from() + "->" + changed.to());
                }
            }
            assertEquals(model.limitChanges, changes, () -> "LimitChanged events " + where());
        }

        @Override
        public String toString() {
            return "Harness[" + config + ", steps " + steps.size() + "]";
        }
    }

    // ------------------------------------------------------------------ actions

    static final class Acquire implements Action.Dependent<Harness> {
        @Override
        public Arbitrary<Transformer<Harness>> transformer(Harness h) {
            return Combinators.combine(Arbitraries.of(CRITICALITIES), Arbitraries.integers().between(0, h.config.partitions().size()))
                    .as((c, p) -> Transformer.<Harness>mutate("acquire " + c + " p" + p, s -> s.acquire(c, p)));
        }
    }

    static Arbitrary<Long> durations() {
        return Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just(0L)),
                Tuple.of(4, Arbitraries.of(MS, 2 * MS, 3 * MS)),
                Tuple.of(2, Arbitraries.of(5 * MS, 10 * MS)),
                Tuple.of(2, Arbitraries.longs().between(0, 20 * MS)));
    }

    static final class Complete implements Action.Dependent<Harness> {
        @Override
        public boolean precondition(Harness h) {
            return !h.held.isEmpty();
        }

        @Override
        public Arbitrary<Transformer<Harness>> transformer(Harness h) {
            Arbitrary<Outcome> outcome = Arbitraries.frequencyOf(
                    Tuple.of(5, Arbitraries.just(Outcome.SUCCESS)),
                    Tuple.of(2, Arbitraries.just(Outcome.FAILURE)),
                    Tuple.of(1, Arbitraries.just(Outcome.IGNORED)));
            // what a driver might pass: nothing, garbage, or a plausible duration; the limiter must ignore it
            Arbitrary<Long> elapsed = Arbitraries.oneOf(Arbitraries.of(0L, -1L, Long.MAX_VALUE), durations());
            return Combinators.combine(Arbitraries.integers().between(0, h.held.size() - 1), outcome, durations(), elapsed,
                    Arbitraries.of(false, true))
                    .as((index, o, after, e, view) -> Transformer.<Harness>mutate("complete #" + index + " " + o + " after " + after + "ns",
                            s -> s.complete(index, o, after, e, view)));
        }
    }

    static final class Release implements Action.Dependent<Harness> {
        @Override
        public boolean precondition(Harness h) {
            return !h.held.isEmpty();
        }

        @Override
        public Arbitrary<Transformer<Harness>> transformer(Harness h) {
            return Arbitraries.integers().between(0, h.held.size() - 1)
                    .map(index -> Transformer.<Harness>mutate("release #" + index, s -> s.release(index)));
        }
    }

    static final class Tick implements Action.Independent<Harness> {
        @Override
        public Arbitrary<Transformer<Harness>> transformer() {
            return durations().map(nanos -> Transformer.<Harness>mutate("tick " + nanos + "ns", s -> s.tick(nanos)));
        }
    }

    @Provide
    Arbitrary<ActionChain<Harness>> chains() {
        return configs().flatMap(config -> ActionChain.<Harness>startWith(() -> new Harness(config))
                .withAction(6, new Acquire())
                .withAction(5, new Complete())
                .withAction(1, new Release())
                .withAction(1, new Tick())
                .withMaxTransformations(80));
    }

    // ------------------------------------------------------------------ the property

    @Property(seed = "5520013", tries = 500)
    void limiterAgreesWithTheDocumentedModel(@ForAll("chains") ActionChain<Harness> chain) {
        Harness h = chain.run();
        Statistics.label("partitions").collect(h.config.partitions().size());
        Statistics.label("windows closed").collect(h.model.windowsClosed == 0 ? "0" : h.model.windowsClosed < 5 ? "1-4" : "5+");
        Statistics.label("limit changed").collect(!h.model.limitChanges.isEmpty());
        Statistics.label("shed").collect(h.model.shed[0] + h.model.shed[1] + h.model.shed[2] > 0);
        Statistics.label("sampled admissions").collect(h.admitted == 0 ? "no admission" : h.sampled * 2 >= h.admitted ? "half or more"
                : h.sampled > 0 ? "some" : "none");
        for (String what : h.model.covered) {
            Statistics.label("covered").collect(what);
        }
    }
}
