package dev.vigil.bulkhead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.function.Supplier;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The shipped estimators ({@link AimdLimit}, {@link VegasLimit}, {@link Gradient2Limit}) called directly,
 * with hand-made {@link LimitAlgorithm.Window}s, against the formulas in their javadoc: every expected
 * value below is worked out from the formula by hand (the working is in the comments), not read back
 * from the implementation. Also: every builder setter rejects its out-of-range values with an
 * {@link IllegalArgumentException} naming the parameter, and {@code build()} rejects inconsistent bounds.
 */
class LimitAlgorithmTest {
    private static final long MS = 1_000_000L;

    /** A window summary as the limiter hands it to an estimator. */
    record Win(int samples, long averageRttNanos, long minRttNanos, int maxInFlight, int dropped) implements LimitAlgorithm.Window {}

    static Win steady(long rtt) {
        return new Win(10, rtt, rtt, 10, 0);
    }

    static void assertRejected(Executable setter, String... words) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, setter);
        for (String word : words) {
            assertTrue(e.getMessage().contains(word), () -> "message should name '" + word + "': " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ AIMD

    @Nested
    class Aimd {
        @Test
        void defaultsAreInitial20AndBounds1To200() {
            AimdLimit aimd = AimdLimit.builder().build();
            assertEquals(20, aimd.initialLimit());
            assertEquals(1, aimd.minLimit());
            assertEquals(200, aimd.maxLimit());
        }

        @Test
        void aWindowWithoutDropsAddsTheIncrease() {
            LimitAlgorithm.Estimator one = AimdLimit.builder().build().newEstimator();
            assertEquals(21, one.next(20, steady(MS)));
            assertEquals(22, one.next(21, steady(MS)));
            LimitAlgorithm.Estimator three = AimdLimit.builder().increase(3).build().newEstimator();
            assertEquals(23, three.next(20, steady(MS)));
            assertEquals(203, three.next(200, steady(MS)), "the estimator does not clamp: the limiter does");
        }

        @Test
        void aDropMultipliesByTheBackoffRatio() {
            LimitAlgorithm.Estimator half = AimdLimit.builder().backoffRatio(0.5).build().newEstimator();
            assertEquals(10, half.next(20, new Win(10, MS, MS, 20, 1))); // 20 x 0.5
            assertEquals(5, half.next(11, new Win(10, MS, MS, 20, 10))); // floor(5.5)
            LimitAlgorithm.Estimator defaults = AimdLimit.builder().build().newEstimator();
            assertEquals(18, defaults.next(20, new Win(10, MS, MS, 20, 1))); // 20 x 0.9
            assertEquals(4, defaults.next(5, new Win(10, MS, MS, 5, 1))); // floor(4.5)
        }

        @Test
        void aDropIsAlwaysARealDecrease() {
            LimitAlgorithm.Estimator gentle = AimdLimit.builder().backoffRatio(Math.nextDown(1.0)).maxLimit(1_000_000)
                    .build().newEstimator();
            assertEquals(999_999, gentle.next(1_000_000, new Win(1, MS, MS, 1, 1)));
            assertEquals(1, gentle.next(2, new Win(1, MS, MS, 1, 1)));
            LimitAlgorithm.Estimator defaults = AimdLimit.builder().build().newEstimator();
            assertEquals(1, defaults.next(2, new Win(1, MS, MS, 1, 1))); // floor(1.8)
            assertTrue(defaults.next(1, new Win(1, MS, MS, 1, 1)) < 1, "below 1: the limiter clamps it to minLimit");
        }

        @Test
        void aTimeoutCountsAsADrop() {
            LimitAlgorithm.Estimator estimator = AimdLimit.builder().timeout(Duration.ofMillis(10)).backoffRatio(0.5).build()
                    .newEstimator();
            assertEquals(10, estimator.next(20, steady(10 * MS + 1)), "mean latency above the timeout: a drop");
            assertEquals(21, estimator.next(20, steady(10 * MS)), "at the timeout: not a drop");
            assertEquals(21, estimator.next(20, new Win(10, 9 * MS, MS, 10, 0)));
            assertEquals(10, estimator.next(20, new Win(10, MS, MS, 10, 1)), "a drop is still a drop");
        }

        @Test
        void theEstimatorIsStateless() {
            AimdLimit aimd = AimdLimit.builder().build();
            LimitAlgorithm.Estimator a = aimd.newEstimator();
            a.next(20, new Win(10, MS, MS, 20, 1));
            assertEquals(21, a.next(20, steady(MS)));
            assertEquals(21, aimd.newEstimator().next(20, steady(MS)));
        }

        @Test
        void badInputsAreRejectedByName() {
            assertRejected(() -> AimdLimit.builder().backoffRatio(0.49), "backoffRatio", "0.49");
            assertRejected(() -> AimdLimit.builder().backoffRatio(1.0), "backoffRatio");
            assertRejected(() -> AimdLimit.builder().backoffRatio(Double.NaN), "backoffRatio");
            assertRejected(() -> AimdLimit.builder().increase(0), "increase");
            assertRejected(() -> AimdLimit.builder().increase(1001), "increase");
            assertRejected(() -> AimdLimit.builder().timeout(Duration.ZERO), "timeout");
            assertRejected(() -> AimdLimit.builder().timeout(Duration.ofMillis(-1)), "timeout");
            assertRejected(() -> AimdLimit.builder().timeout(null), "timeout");
            AimdLimit.builder().backoffRatio(0.5).backoffRatio(Math.nextDown(1.0)).increase(1).increase(1000); // the edges are fine
            boundsAreChecked(AimdLimit::builder);
        }
    }

    // ------------------------------------------------------------------ Vegas

    @Nested
    class Vegas {
        /** With {@code L = 100}: {@code log = 2}, so grow fast at queue <= 2, alpha below 6, beta above 12. */
        LimitAlgorithm.Estimator at100(double smoothing) {
            return VegasLimit.builder().maxLimit(1000).smoothing(smoothing).build().newEstimator();
        }

        @Test
        void defaultsAreInitial20AndBounds1To200() {
            VegasLimit vegas = VegasLimit.builder().build();
            assertEquals(20, vegas.initialLimit());
            assertEquals(1, vegas.minLimit());
            assertEquals(200, vegas.maxLimit());
        }

        @Test
        void growsFastWhenNothingIsQueued() {
            // rtt == no-load rtt: queue = ceil(20 x 0) = 0 <= log10(20) = 1.301; 20 + 6 x 1.301 = 27.81, rounded 28
            assertEquals(28, VegasLimit.builder().build().newEstimator().next(20, steady(MS)));
            // L = 5: log = max(1, 0.699) = 1; 5 + 6 = 11
            assertEquals(11, VegasLimit.builder().build().newEstimator().next(5, steady(MS)));
            // L = 100, no-load 985, rtt 1000: queue = ceil(100 x 0.015) = 2 <= 2: 100 + 12
            assertEquals(112, at100(1.0).next(100, new Win(10, 1000, 985, 50, 0)));
        }

        @Test
        void growsByLogWhenALittleIsQueued() {
            // no-load 965, rtt 1000: queue = ceil(100 x 0.035) = 4; 2 < 4 < 6: 100 + 2
            assertEquals(102, at100(1.0).next(100, new Win(10, 1000, 965, 50, 0)));
        }

        @Test
        void holdsBetweenAlphaAndBeta() {
            // no-load 900: queue = ceil(100 x 0.1) = 10, in [6, 12]: unchanged
            assertEquals(100, at100(1.0).next(100, new Win(10, 1000, 900, 50, 0)));
            // no-load 880: queue = 12 = 6 log, not above beta: unchanged
            assertEquals(100, at100(1.0).next(100, new Win(10, 1000, 880, 50, 0)));
        }

        @Test
        void shrinksPastBeta() {
            // no-load 800: queue = ceil(100 x 0.2) = 20 > 12: 100 - 2
            assertEquals(98, at100(1.0).next(100, new Win(10, 1000, 800, 50, 0)));
        }

        @Test
        void shrinksOnADrop() {
            // a drop wins over an empty queue: 100 - 2
            assertEquals(98, at100(1.0).next(100, new Win(10, 1000, 1000, 50, 1)));
            // L = 20: 20 - 1.301 = 18.70, rounded 19
            assertEquals(19, VegasLimit.builder().build().newEstimator().next(20, new Win(10, MS, MS, 20, 3)));
        }

        @Test
        void theNoLoadRttIsTheLeastSeen() {
            LimitAlgorithm.Estimator vegas = at100(1.0);
            // first window: no-load = its least latency, 800; queue = ceil(100 x (1 - 800/1000)) = 20 > 12: 100 - 2
            assertEquals(98, vegas.next(100, new Win(10, 1000, 800, 50, 0)));
            // a window whose least latency is 1000 keeps the no-load at 800: queue 20 again, shrink
            assertEquals(98, vegas.next(100, new Win(10, 1000, 1000, 50, 0)));
            // a lower min (500) lowers it: mean 520 -> queue = ceil(100 x (1 - 500/520)) = ceil(3.85) = 4: alpha, 100 + 2
            assertEquals(102, vegas.next(100, new Win(10, 520, 500, 50, 0)));
        }

        @Test
        void smoothingMovesPartWayToTheTarget() {
            // target 112, smoothing 0.5: round(50 + 56) = 106
            assertEquals(106, at100(0.5).next(100, new Win(10, 1000, 985, 50, 0)));
            // drop: target 98, smoothing 0.5: 99
            assertEquals(99, at100(0.5).next(100, new Win(10, 1000, 985, 50, 1)));
            // target 102 (alpha), smoothing 0.25: round(75 + 25.5) = round(100.5) = 101
            assertEquals(101, at100(0.25).next(100, new Win(10, 1000, 965, 50, 0)));
        }

        @Test
        void theProbeDrainsTheQueueBeforeMeasuringTheNoLoadRtt() {
            // probeMultiplier 5, L = 10: a probe at 50 samples, i.e. on the fifth window of 10 samples
            LimitAlgorithm.Estimator vegas = VegasLimit.builder().probeMultiplier(5).build().newEstimator();
            assertEquals(16, vegas.next(10, new Win(10, 1000, 1000, 10, 0)), "no-load 1000, no queue: 10 + 6");
            // the dependency got twice as slow: queue = ceil(10 x (1 - 1000/2000)) = 5, in [3, 6]: unchanged
            assertEquals(10, vegas.next(10, new Win(10, 2000, 2000, 10, 0)));
            assertEquals(10, vegas.next(10, new Win(10, 2000, 2000, 10, 0)));
            assertEquals(10, vegas.next(10, new Win(10, 2000, 2000, 10, 0)));
            assertEquals(5, vegas.next(10, new Win(10, 2000, 2000, 10, 0)), "fifth window, in use: the probe halves the limit");
            assertEquals(5, vegas.next(5, new Win(10, 1900, 1500, 8, 0)), "8 in flight > 5: calls from before the cut, still draining");
            assertEquals(10, vegas.next(5, new Win(10, 1400, 1200, 5, 0)), "all admitted under 5: floor 1200 measured, limit restored");
            assertEquals(10, vegas.next(10, new Win(10, 5000, 5000, 10, 0)), "the window after the restore is ignored");
            // the no-load rtt is now 1200 (not the 2000 the old probe would have taken, nor 1000):
            // queue = ceil(10 x (1 - 1200/2400)) = 5, in [3, 6]: unchanged; at 1200 no queue: + 6
            assertEquals(10, vegas.next(10, new Win(10, 2400, 2400, 10, 0)));
            assertEquals(16, vegas.next(10, new Win(10, 1200, 1200, 10, 0)));
        }

        @Test
        void aProbeInAnUnderUsedWindowMeasuresAtOnce() {
            LimitAlgorithm.Estimator vegas = VegasLimit.builder().probeMultiplier(5).build().newEstimator();
            assertEquals(16, vegas.next(10, new Win(10, 1000, 1000, 10, 0)));
            for (int i = 0; i < 3; i++) {
                assertEquals(10, vegas.next(10, new Win(10, 2000, 2000, 4, 0)));
            }
            // 4 in flight < 10 / 2: nothing queued, so the probe takes this window's floor as it is
            assertEquals(10, vegas.next(10, new Win(10, 2000, 2000, 4, 0)), "under-used: no halving");
            assertEquals(16, vegas.next(10, new Win(10, 2000, 2000, 10, 0)), "no-load 2000 now: no queue, + 6");
        }

        @Test
        void theProbeScalesWithTheLimitPassedIn() {
            // probeMultiplier 5, L = 20: 100 samples; four windows of 20 samples (80) do not probe
            LimitAlgorithm.Estimator vegas = VegasLimit.builder().probeMultiplier(5).build().newEstimator();
            assertEquals(28, vegas.next(20, new Win(20, 1000, 1000, 20, 0)));
            for (int i = 0; i < 3; i++) {
                // queue = ceil(20 x 0.5) = 10 > 6 x 1.301 = 7.8: shrink, 20 - 1.301 = 18.70 -> 19
                assertEquals(19, vegas.next(20, new Win(20, 2000, 2000, 20, 0)));
            }
            assertEquals(10, vegas.next(20, new Win(20, 2000, 2000, 20, 0)), "100 samples: probe, halved");
            assertEquals(20, vegas.next(10, new Win(20, 2000, 2000, 10, 0)), "drained: restored");
        }

        @Test
        void badInputsAreRejectedByName() {
            assertRejected(() -> VegasLimit.builder().smoothing(0.0), "smoothing");
            assertRejected(() -> VegasLimit.builder().smoothing(1.01), "smoothing");
            assertRejected(() -> VegasLimit.builder().smoothing(Double.NaN), "smoothing");
            assertRejected(() -> VegasLimit.builder().probeMultiplier(4), "probeMultiplier");
            assertRejected(() -> VegasLimit.builder().probeMultiplier(10_001), "probeMultiplier");
            VegasLimit.builder().smoothing(1.0).smoothing(Double.MIN_VALUE).probeMultiplier(5).probeMultiplier(10_000);
            boundsAreChecked(VegasLimit::builder);
        }
    }

    // ------------------------------------------------------------------ Gradient2

    @Nested
    class Gradient2 {
        @Test
        void defaultsAreInitial20AndBounds1To200() {
            Gradient2Limit gradient = Gradient2Limit.builder().build();
            assertEquals(20, gradient.initialLimit());
            assertEquals(1, gradient.minLimit());
            assertEquals(200, gradient.maxLimit());
        }

        @Test
        void growsByQueueSizeWhileLatencyIsSteady() {
            // smoothing 1: gradient = clamp(1.5 x 1, 0.5, 1) = 1, target = L + 4
            LimitAlgorithm.Estimator g = Gradient2Limit.builder().smoothing(1.0).build().newEstimator();
            assertEquals(24, g.next(20, steady(MS)));
            assertEquals(28, g.next(24, steady(MS)));
            assertEquals(32, g.next(28, steady(MS)));
            // queueSize 0: nothing to grow by
            LimitAlgorithm.Estimator flat = Gradient2Limit.builder().smoothing(1.0).queueSize(0).build().newEstimator();
            assertEquals(20, flat.next(20, steady(MS)));
        }

        @Test
        void defaultSmoothingMovesAFifthOfTheWay() {
            // estimate 20 -> 0.8 x 20 + 0.2 x 24 = 20.8 (returns 20); then 0.8 x 20.8 + 0.2 x 24.8 = 21.6 (21); then 22.4 (22)
            LimitAlgorithm.Estimator g = Gradient2Limit.builder().build().newEstimator();
            assertEquals(20, g.next(20, steady(MS)));
            assertEquals(21, g.next(20, steady(MS)));
            assertEquals(22, g.next(21, steady(MS)));
        }

        @Test
        void shrinksTowardHalfWhenRecentLatencyIsFarAboveTheLongTerm() {
            LimitAlgorithm.Estimator g = Gradient2Limit.builder().smoothing(1.0).build().newEstimator();
            assertEquals(24, g.next(20, steady(MS)), "long-term rtt = 1 ms");
            // long = 1 + 9 x (2 x 10 / 601) = 1.2995 ms; 1.5 x 1.2995 / 10 = 0.195 -> gradient 0.5; 24 x 0.5 + 4
            assertEquals(16, g.next(24, steady(10 * MS)));
        }

        @Test
        void shrinksInProportionBetweenHalfAndOne() {
            LimitAlgorithm.Estimator g = Gradient2Limit.builder().smoothing(1.0).build().newEstimator();
            assertEquals(24, g.next(20, steady(MS)));
            // long = 1 + 1 x 20/601 = 1.03328 ms; gradient = 1.5 x 1.03328 / 2 = 0.77496; 24 x 0.77496 + 4 = 22.599 -> 22
            assertEquals(22, g.next(24, steady(2 * MS)));
        }

        @Test
        void aDropHalvesThenAddsTheQueue() {
            // gradient 0.5 whatever the latency: 20 x 0.5 + 4 = 14
            assertEquals(14, Gradient2Limit.builder().smoothing(1.0).build().newEstimator().next(20, new Win(10, MS, MS, 20, 1)));
            // default smoothing 0.2: 0.8 x 20 + 0.2 x 14 = 18.8 -> 18
            assertEquals(18, Gradient2Limit.builder().build().newEstimator().next(20, new Win(10, MS, MS, 20, 1)));
            // queueSize 0: a true halving
            assertEquals(10, Gradient2Limit.builder().smoothing(1.0).queueSize(0).build().newEstimator()
                    .next(20, new Win(10, MS, MS, 20, 1)));
        }

        @Test
        void continuesFromTheLimitWhenTheLimiterClampedOrHeldIt() {
            LimitAlgorithm.Estimator g = Gradient2Limit.builder().smoothing(1.0).build().newEstimator();
            assertEquals(24, g.next(20, steady(MS)));
            // the limiter held the limit at 10 (say, a clamp): the estimate restarts from 10, not 24
            assertEquals(14, g.next(10, steady(MS)));
        }

        @Test
        void theLongTermAverageDecaysWhenLatencyRecovers() {
            // tolerance 1, queueSize 0, smoothing 1, longWindow 10, windows of 1 sample: weight 2/11
            LimitAlgorithm.Estimator g = Gradient2Limit.builder().tolerance(1.0).queueSize(0).smoothing(1.0).longWindow(10).build()
                    .newEstimator();
            assertEquals(20, g.next(20, new Win(1, 1000, 1000, 20, 0)), "long = 1000, gradient 1");
            // long = 1000 + (100 - 1000) x 2/11 = 836.36; 836.36 / 100 > 2: decays to 794.55; gradient 1
            assertEquals(20, g.next(20, new Win(1, 100, 100, 20, 0)));
            // long = 794.55 + (1000 - 794.55) x 2/11 = 831.90; gradient 0.8319: 16.64 -> 16
            // (without the decay: long 866.12, 17.32 -> 17)
            assertEquals(16, g.next(20, new Win(1, 1000, 1000, 20, 0)));
        }

        @Test
        void badInputsAreRejectedByName() {
            assertRejected(() -> Gradient2Limit.builder().tolerance(0.99), "tolerance");
            assertRejected(() -> Gradient2Limit.builder().tolerance(10.01), "tolerance");
            assertRejected(() -> Gradient2Limit.builder().smoothing(0.0), "smoothing");
            assertRejected(() -> Gradient2Limit.builder().smoothing(1.5), "smoothing");
            assertRejected(() -> Gradient2Limit.builder().queueSize(-1), "queueSize");
            assertRejected(() -> Gradient2Limit.builder().queueSize(1001), "queueSize");
            assertRejected(() -> Gradient2Limit.builder().longWindow(9), "longWindow");
            assertRejected(() -> Gradient2Limit.builder().longWindow(100_001), "longWindow");
            Gradient2Limit.builder().tolerance(1.0).tolerance(10.0).queueSize(0).queueSize(1000).longWindow(10).longWindow(100_000);
            boundsAreChecked(Gradient2Limit::builder);
        }
    }

    // ------------------------------------------------------------------ the shared bounds

    /** The setters and checks every shipped algorithm's builder shares ({@code LimitBounds.Builder}). */
    static <B extends LimitBounds.Builder<B>> void boundsAreChecked(Supplier<B> builder) {
        assertRejected(() -> builder.get().initialLimit(0), "initialLimit");
        assertRejected(() -> builder.get().minLimit(0), "minLimit");
        assertRejected(() -> builder.get().maxLimit(0), "maxLimit");
        assertRejected(() -> builder.get().maxLimit(-5), "maxLimit");
        assertRejected(() -> builder.get().initialLimit(1_000_001), "initialLimit");
        assertRejected(() -> builder.get().maxLimit(1_000_001), "maxLimit");
        assertRejected(() -> build(builder.get().minLimit(10).maxLimit(5).initialLimit(7)), "minLimit", "maxLimit");
        assertRejected(() -> build(builder.get().minLimit(10).maxLimit(50).initialLimit(9)), "initialLimit", "[10, 50]");
        assertRejected(() -> build(builder.get().minLimit(1).maxLimit(50).initialLimit(51)), "initialLimit", "[1, 50]");
        assertRejected(() -> build(builder.get().maxLimit(10)), "initialLimit", "[1, 10]", "20"); // the default initial 20
        LimitAlgorithm edge = build(builder.get().minLimit(7).maxLimit(7).initialLimit(7));
        assertEquals(7, edge.minLimit());
        assertEquals(7, edge.initialLimit());
        assertEquals(7, edge.maxLimit());
        LimitAlgorithm wide = build(builder.get().minLimit(1).maxLimit(1_000_000).initialLimit(1_000_000));
        assertEquals(1_000_000, wide.initialLimit());
    }

    private static LimitAlgorithm build(LimitBounds.Builder<?> builder) {
        if (builder instanceof AimdLimit.Builder) {
            return ((AimdLimit.Builder) builder).build();
        }
        if (builder instanceof VegasLimit.Builder) {
            return ((VegasLimit.Builder) builder).build();
        }
        return ((Gradient2Limit.Builder) builder).build();
    }
}
