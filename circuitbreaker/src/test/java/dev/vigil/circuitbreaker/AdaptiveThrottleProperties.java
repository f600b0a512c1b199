package dev.vigil.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.LoadShedException;
import dev.vigil.core.Outcome;
import dev.vigil.core.health.Health;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.random.RandomGenerator;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;
import net.jqwik.api.statistics.Statistics;

/**
 * {@link AdaptiveThrottle} as a jqwik stateful property: random chains of acquires, completions
 * (SUCCESS, FAILURE, IGNORED), releases and virtual-time advances against a sequential model of the
 * documented SRE formula, with a scripted random source so every admission decision is deterministic.
 *
 * <p><b>Configurations:</b> K in [1, 5], maxRejectProbability in (0, 1], 2 to 6 buckets of 125 ms to 1 s
 * with a minimum of 0 to about 12 requests, or of 1 to 10 ms without a minimum; a virtual clock
 * starting at 0 or anywhere in about +-17 minutes. <b>Actions</b> (a jqwik {@link ActionChain} of up
 * to 60): acquire with a scripted draw (uniform, 0, just under 1, or p +- 1e-6 and +- 0.01), complete a
 * held permit, release one, advance time (within a bucket, to a bucket boundary +- 1 ns, or across
 * the window).
 *
 * <p><b>The model</b> keeps every request with its time: a local rejection is a request that was not
 * accepted, placed when it was rejected; an admitted call becomes a request when it completes, accepted
 * unless its outcome is FAILURE (IGNORED counts as accepted); a released permit is no request at all.
 * The window at time {@code now} holds the requests whose period {@code floorDiv(t, b)} is in
 * {@code (P - B, P]}, P the current period. The reject probability is 0 while
 * {@code requests < minimumRequestRate * span} (compared exactly: the rate is a whole number of quarter
 * requests per second and the span a whole number of eighths of a second, so the builder's double
 * arithmetic is exact too), and otherwise
 * {@code min(maxRejectProbability, max(0, (requests - K * accepts) / (requests + 1)))}.
 *
 * <p><b>Checked after every action:</b> {@code rejectProbability()} equals the model's within 1e-12;
 * {@code acceptedCount}, {@code failureCount}, {@code ignoredCount} and {@code rejectedCount} equal the
 * model's; {@code health()} is DEGRADED iff the model's probability is positive. A local rejection's
 * {@code rejection()} is a {@link LoadShedException}. For every acquire, with the scripted uniform draw
 * {@code u}: a probability of 0 always admits, a probability of 1 always rejects, and otherwise the call
 * is rejected iff {@code u < p} (the decision
 * is not asserted when {@code u} lies within 1e-9 of p, where "with probability p" does not fix the
 * convention; the model then follows the throttle's decision so the two stay in step).
 */
class AdaptiveThrottleProperties {
    private static final long MS = 1_000_000L;
    private static final double TWO_TO_53 = 0x1p53;

    /**
     * A random source that returns a scripted uniform value: {@code nextDouble()} returns it, and
     * {@code nextLong()} returns the long whose top 53 bits the default {@code nextDouble()} would turn
     * into it (values are multiples of 2^-53), so the decision does not depend on which one the throttle uses.
     */
    static final class ScriptedRandom implements RandomGenerator {
        double next = 0.5;

        @Override
        public long nextLong() {
            return ((long) (next * TWO_TO_53)) << 11;
        }

        @Override
        public double nextDouble() {
            return next;
        }
    }

    /** A window of {@code buckets} buckets of {@code bucketMs}; rate in quarter requests per second. */
    record Config(double multiplier, long bucketMs, int buckets, int rateQuarters, double maxRejectProbability, long startNanos) {
        long windowMs() {
            return bucketMs * buckets;
        }

        long bucketNanos() {
            return bucketMs * MS;
        }

        AdaptiveThrottle build(ManualScheduler scheduler, RandomGenerator random) {
            return AdaptiveThrottle.builder().name("model-checked").multiplier(multiplier)
                    .window(Duration.ofMillis(windowMs()), buckets).minimumRequestRate(rateQuarters / 4.0)
                    .maxRejectProbability(maxRejectProbability).scheduler(scheduler).random(random).build();
        }
    }

    @Provide
    Arbitrary<Config> configs() {
        Arbitrary<Double> multiplier = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.of(1.0, 1.5, 2.0, 3.0)),
                Tuple.of(1, Arbitraries.integers().between(100, 500).map(h -> h / 100.0)));
        Arbitrary<Double> maxReject = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.of(1.0, 0.9, 0.5)),
                Tuple.of(1, Arbitraries.integers().between(1, 100).map(h -> h / 100.0)));
        Arbitrary<Long> start = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just(0L)),
                Tuple.of(1, Arbitraries.longs().between(-1_000_000_000_000L, 1_000_000_000_000L)));
        // Spans of whole eighths of a second, with a minimum of 0 to about 12 requests.
        Arbitrary<Config> eighths = Combinators.combine(
                multiplier, Arbitraries.of(125L, 250L, 500L, 1000L), Arbitraries.integers().between(2, 6), maxReject, start)
                .flatAs((k, bucket, buckets, max, s) -> {
                    long windowMs = bucket * buckets;
                    int maxQuarters = (int) Math.max(1, 12 * 4 * 1000 / windowMs);
                    return Arbitraries.frequencyOf(
                            Tuple.of(1, Arbitraries.just(0)),
                            Tuple.of(4, Arbitraries.integers().between(1, maxQuarters)))
                            .map(q -> new Config(k, bucket, buckets, q, max, s));
                });
        // Short buckets, no minimum.
        Arbitrary<Config> short_ = Combinators.combine(
                multiplier, Arbitraries.of(1L, 2L, 10L), Arbitraries.integers().between(2, 6), maxReject, start)
                .as((k, bucket, buckets, max, s) -> new Config(k, bucket, buckets, 0, max, s));
        return Arbitraries.frequencyOf(Tuple.of(3, eighths), Tuple.of(1, short_));
    }

    // ------------------------------------------------------------------ the model

    record Request(long at, boolean accepted) {}

    static final class Model {
        final Config config;
        final List<Request> requests = new ArrayList<>();
        long now;
        long accepted;
        long failed;
        long ignored;
        long rejected;

        Model(Config config) {
            this.config = config;
            this.now = config.startNanos();
        }

        long period(long t) {
            return Math.floorDiv(t, config.bucketNanos());
        }

        List<Request> inWindow() {
            long current = period(now);
            List<Request> in = new ArrayList<>();
            for (Request r : requests) {
                long p = period(r.at());
                if (p > current - config.buckets() && p <= current) {
                    in.add(r);
                }
            }
            return in;
        }

        double rejectProbability() {
            List<Request> in = inWindow();
            long n = in.size();
            long accepts = in.stream().filter(Request::accepted).count();
            // requests < rate * span, exactly: n < (q / 4) * (windowMs / 1000)
            if (n * 4000 < (long) config.rateQuarters() * config.windowMs()) {
                return 0.0;
            }
            double p = (n - config.multiplier() * accepts) / (n + 1.0);
            return Math.min(config.maxRejectProbability(), Math.max(0.0, p));
        }
    }

    // ------------------------------------------------------------------ harness

    static final class Harness {
        final Config config;
        final ManualScheduler scheduler;
        final ScriptedRandom random = new ScriptedRandom();
        final AdaptiveThrottle throttle;
        final Model model;
        final List<Long> held = new ArrayList<>();
        final List<String> steps = new ArrayList<>();
        /** Which regimes the acquires met, for the coverage statistics. */
        final Set<String> covered = new TreeSet<>();

        Harness(Config config) {
            this.config = config;
            this.scheduler = new ManualScheduler(new ManualTicker(config.startNanos()));
            this.throttle = config.build(scheduler, random);
            this.model = new Model(config);
            assertEquals(false, throttle.measuresLatency(), "the throttle judges outcomes, not latency");
        }

        String where() {
            List<Request> in = model.inWindow();
            return "after " + steps + "\n  " + config + "\n  window at " + model.now + ": " + in.size() + " requests, "
                    + in.stream().filter(Request::accepted).count() + " accepted: " + in;
        }

        void acquire(double u) {
            steps.add("acquire u=" + u);
            double p = model.rejectProbability();
            cover(p);
            random.next = u;
            long permit = throttle.tryAcquirePermit();
            boolean admitted = permit != AdmissionPolicy.REJECTED;
            if (p == 0.0) {
                assertTrue(admitted, () -> "a probability of 0 must admit, " + where());
            } else if (p >= 1.0) {
                assertTrue(!admitted, () -> "a probability of 1 must reject, " + where());
            } else if (Math.abs(u - p) > 1e-9) {
                assertEquals(u >= p, admitted, () -> "admitted with p=" + p + ", u=" + u + ", " + where());
            }
            if (admitted) {
                assertTrue(permit >= 0, "a permit is never negative: " + permit);
                held.add(permit);
            } else {
                model.requests.add(new Request(model.now, false)); // a local rejection is a request not accepted
                model.rejected++;
                assertInstanceOf(LoadShedException.class, throttle.rejection(), () -> "rejection() " + where());
            }
            check();
        }

        private void cover(double p) {
            List<Request> in = model.inWindow();
            long minimum = (long) config.rateQuarters() * config.windowMs();
            long requests = in.size() * 4000L;
            long accepts = in.stream().filter(Request::accepted).count();
            double raw = (in.size() - config.multiplier() * accepts) / (in.size() + 1.0);
            if (requests < minimum && in.size() > accepts) {
                covered.add("failures below the minimum");
            } else if (requests == minimum && minimum > 0 && raw > 0) {
                covered.add("exactly at the minimum");
            } else if (raw > config.maxRejectProbability()) {
                covered.add("capped at maxRejectProbability");
            } else if (raw > 0) {
                covered.add("formula");
            }
        }

        void complete(int index, Outcome outcome) {
            if (held.isEmpty()) {
                return; // a shrunk chain may have dropped the acquire this step ended
            }
            long permit = held.remove(index % held.size());
            steps.add("complete " + outcome);
            throttle.complete(permit, outcome, 0L);
            model.requests.add(new Request(model.now, outcome != Outcome.FAILURE));
            switch (outcome) {
                case SUCCESS:
                    model.accepted++;
                    break;
                case FAILURE:
                    model.failed++;
                    break;
                default:
                    model.ignored++;
            }
            check();
        }

        void release(int index) {
            if (held.isEmpty()) {
                return; // a shrunk chain may have dropped the acquire this step ended
            }
            long permit = held.remove(index % held.size());
            steps.add("release");
            throttle.release(permit);
            check();
        }

        void advance(long nanos) {
            steps.add("advance " + nanos + "ns");
            scheduler.advance(Duration.ofNanos(nanos));
            model.now += nanos;
            check();
        }

        void check() {
            assertEquals(model.now, scheduler.ticker().read(), "virtual time");
            assertEquals(model.rejectProbability(), throttle.rejectProbability(), 1e-12, () -> "rejectProbability() " + where());
            assertEquals(model.accepted, throttle.acceptedCount(), () -> "acceptedCount " + where());
            assertEquals(model.failed, throttle.failureCount(), () -> "failureCount " + where());
            assertEquals(model.ignored, throttle.ignoredCount(), () -> "ignoredCount " + where());
            assertEquals(model.rejected, throttle.rejectedCount(), () -> "rejectedCount " + where());
            assertEquals(model.rejectProbability() > 0 ? Health.Status.DEGRADED : Health.Status.UP, throttle.health().status(),
                    () -> "health: DEGRADED while calls are rejected locally, " + where());
        }

        @Override
        public String toString() {
            return "Harness[" + config + ", steps " + steps.size() + "]";
        }
    }

    // ------------------------------------------------------------------ actions

    /** A uniform draw in [0, 1), a multiple of 2^-53. */
    static double quantize(double u) {
        double q = Math.floor(u * TWO_TO_53) / TWO_TO_53;
        return Math.min(q, 1.0 - 1.0 / TWO_TO_53);
    }

    static final class Acquire implements Action.Dependent<Harness> {
        @Override
        public Arbitrary<Transformer<Harness>> transformer(Harness h) {
            double p = h.model.rejectProbability();
            Arbitrary<Double> u = Arbitraries.frequencyOf(
                    Tuple.of(4, Arbitraries.doubles().between(0.0, 1.0).ofScale(15).withDistribution(RandomDistribution.uniform())),
                    Tuple.of(1, Arbitraries.of(0.0, 1.0)),
                    Tuple.of(2, Arbitraries.of(p - 1e-6, p + 1e-6, p - 0.01, p + 0.01).filter(x -> x >= 0.0 && x < 1.0)))
                    .map(AdaptiveThrottleProperties::quantize);
            return u.map(x -> Transformer.<Harness>mutate("acquire u=" + x, s -> s.acquire(x)));
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
                    Tuple.of(3, Arbitraries.just(Outcome.SUCCESS)),
                    Tuple.of(5, Arbitraries.just(Outcome.FAILURE)),
                    Tuple.of(1, Arbitraries.just(Outcome.IGNORED)));
            return Combinators.combine(Arbitraries.integers().between(0, h.held.size() - 1), outcome)
                    .as((index, o) -> Transformer.<Harness>mutate("complete #" + index + " " + o, s -> s.complete(index, o)));
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

    static final class Advance implements Action.Dependent<Harness> {
        @Override
        public Arbitrary<Transformer<Harness>> transformer(Harness h) {
            long b = h.config.bucketNanos();
            long toBoundary = b - Math.floorMod(h.model.now, b);
            Arbitrary<Long> amount = Arbitraries.frequencyOf(
                    Tuple.of(1, Arbitraries.of(0L, 1L)),
                    Tuple.of(3, Arbitraries.longs().between(0, b).withDistribution(RandomDistribution.uniform())),
                    Tuple.of(2, Arbitraries.of(toBoundary - 1, toBoundary, toBoundary + 1, toBoundary + b * (h.config.buckets() - 1))
                            .filter(a -> a >= 0)),
                    Tuple.of(1, Arbitraries.longs().between(0, 2 * b * h.config.buckets()).withDistribution(RandomDistribution.uniform())));
            return amount.map(nanos -> Transformer.<Harness>mutate("advance " + nanos + "ns", s -> s.advance(nanos)));
        }
    }

    @Provide
    Arbitrary<ActionChain<Harness>> chains() {
        return configs().flatMap(config -> ActionChain.<Harness>startWith(() -> new Harness(config))
                .withAction(6, new Acquire())
                .withAction(6, new Complete())
                .withAction(1, new Release())
                .withAction(3, new Advance())
                .withMaxTransformations(60));
    }

    @Property(seed = "7720001", tries = 500)
    void throttleAgreesWithTheSreFormula(@ForAll("chains") ActionChain<Harness> chain) {
        Harness h = chain.run();
        Statistics.label("local rejections").collect(Math.min(h.model.rejected, 5));
        for (String regime : h.covered) {
            Statistics.label("chains exercising").collect(regime);
        }
    }
}
