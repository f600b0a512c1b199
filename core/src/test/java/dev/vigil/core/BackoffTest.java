package dev.vigil.core;

import static dev.vigil.core.TimeoutTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/** Delays of {@link Backoff} and {@link Jitter}: exact without jitter, seeded and bounded with it. */
class BackoffTest {
    private static final long MS = 1_000_000L;
    /** The longest delay a back-off accepts: 2^61 - 1 ns, about 73 years. */
    private static final Duration LONGEST = Duration.ofNanos(Long.MAX_VALUE >> 2);
    private static final String LONGEST_TEXT = "PT640511H56M49.213693951S";

    private static long[] bases(Backoff backoff, int retries) {
        long[] delays = new long[retries];
        for (int i = 0; i < retries; i++) {
            delays[i] = backoff.baseNanos(i + 1);
        }
        return delays;
    }

    /** Draws delays for retries 1..n, feeding each back as the previous delay. */
    private static long[] draws(Backoff backoff, int retries) {
        long[] delays = new long[retries];
        long previous = 0;
        for (int i = 0; i < retries; i++) {
            previous = backoff.delayNanos(i + 1, previous);
            delays[i] = previous;
        }
        return delays;
    }

    /** A generator that fails the test if a delay draws from it. */
    private static final RandomGenerator NEVER = () -> {
        throw new AssertionError("drew a random number");
    };

    // ================================================================ shapes, no jitter

    @Test
    void fixedIsTheSameDelayForEveryRetry() {
        Backoff backoff = Backoff.fixed(Duration.ofMillis(250)).withRandom(NEVER);
        assertArrayEquals(new long[] {250 * MS, 250 * MS, 250 * MS}, bases(backoff, 3));
        assertEquals(250 * MS, backoff.baseNanos(Integer.MAX_VALUE));
        assertEquals(250 * MS, backoff.delayNanos(7, 123));
        assertEquals(Duration.ofMillis(250), backoff.max());
        assertSame(Jitter.none(), backoff.jitter());
    }

    @Test
    void linearAddsTheIncrementUpToTheMaximum() {
        Backoff backoff = Backoff.linear(Duration.ofMillis(100), Duration.ofMillis(50), Duration.ofMillis(300)).withRandom(NEVER);
        assertArrayEquals(new long[] {100 * MS, 150 * MS, 200 * MS, 250 * MS, 300 * MS, 300 * MS, 300 * MS}, bases(backoff, 7));
        assertArrayEquals(bases(backoff, 7), draws(backoff, 7), "no jitter: the delay is the base delay");
        assertEquals(300 * MS, backoff.baseNanos(Integer.MAX_VALUE));
    }

    @Test
    void linearWithAZeroIncrementIsFixed() {
        Backoff backoff = Backoff.linear(Duration.ofMillis(100), Duration.ZERO, Duration.ofSeconds(1));
        assertArrayEquals(new long[] {100 * MS, 100 * MS, 100 * MS}, bases(backoff, 3));
        assertEquals(100 * MS, backoff.baseNanos(Integer.MAX_VALUE));
    }

    @Test
    void linearNeverOverflows() {
        // (2^31 - 2) * 1 h overflows a long; the delay saturates at the maximum instead.
        Backoff hourly = Backoff.linear(Duration.ofMillis(100), Duration.ofHours(1), LONGEST);
        assertEquals(LONGEST.toNanos(), hourly.baseNanos(Integer.MAX_VALUE));
        assertEquals(100 * MS + 1_000L * Duration.ofHours(1).toNanos(), hourly.baseNanos(1_001));
        Backoff huge = Backoff.linear(Duration.ofSeconds(1), LONGEST, LONGEST);
        assertEquals(Duration.ofSeconds(1).toNanos(), huge.baseNanos(1));
        assertEquals(LONGEST.toNanos(), huge.baseNanos(2));
        assertEquals(LONGEST.toNanos(), huge.baseNanos(Integer.MAX_VALUE));
        Backoff unit = Backoff.linear(Duration.ZERO, Duration.ofNanos(1), LONGEST);
        assertEquals(Integer.MAX_VALUE - 1L, unit.baseNanos(Integer.MAX_VALUE), "exact below the maximum");
    }

    @Test
    void exponentialDoublesUpToTheMaximum() {
        Backoff backoff = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(5)).withRandom(NEVER);
        assertArrayEquals(new long[] {100 * MS, 200 * MS, 400 * MS, 800 * MS, 1_600 * MS, 3_200 * MS, 5_000 * MS, 5_000 * MS},
                bases(backoff, 8));
        assertArrayEquals(bases(backoff, 8), draws(backoff, 8));
        assertEquals(5_000 * MS, backoff.baseNanos(Integer.MAX_VALUE));
        assertEquals(Duration.ofSeconds(5), backoff.max());
    }

    @Test
    void exponentialWithAnotherMultiplier() {
        Backoff backoff = Backoff.exponential(Duration.ofMillis(100), 1.5, Duration.ofSeconds(1));
        assertArrayEquals(new long[] {100 * MS, 150 * MS, 225 * MS, 337_500_000L, 506_250_000L, 759_375_000L, 1_000 * MS},
                bases(backoff, 7));
        Backoff constant = Backoff.exponential(Duration.ofMillis(100), 1.0, Duration.ofSeconds(1));
        assertEquals(100 * MS, constant.baseNanos(Integer.MAX_VALUE));
    }

    @Test
    void exponentialNeverOverflows() {
        Backoff steep = Backoff.exponential(Duration.ofSeconds(1), 1000.0, LONGEST);
        assertEquals(LONGEST.toNanos(), steep.baseNanos(Integer.MAX_VALUE));
        assertEquals(LONGEST.toNanos(), steep.baseNanos(8), "1 s * 1000^7 is past 73 years");
        assertEquals(1_000_000_000_000_000_000L, steep.baseNanos(4), "1 s * 1000^3");
        Backoff fromZero = Backoff.exponential(Duration.ZERO, Duration.ofSeconds(10));
        assertEquals(0, fromZero.baseNanos(1));
        assertEquals(0, fromZero.baseNanos(Integer.MAX_VALUE), "zero times an infinite power is still no delay");
    }

    @Test
    void theLongestDelayIsAccepted() {
        Backoff backoff = Backoff.fixed(LONGEST);
        assertEquals(LONGEST.toNanos(), backoff.delayNanos(1, 0));
        assertEquals(LONGEST, backoff.max());
    }

    @Test
    void noneHasNoDelayAtAll() {
        Backoff none = Backoff.none();
        assertSame(none, Backoff.none());
        assertEquals(0, none.baseNanos(1));
        assertEquals(0, none.baseNanos(Integer.MAX_VALUE));
        assertEquals(0, none.delayNanos(3, 5_000));
        assertEquals(Duration.ZERO, none.max());
        assertSame(Jitter.none(), none.jitter());
        assertEquals(0, none.withJitter(Jitter.full()).withRandom(NEVER).delayNanos(1, 0), "full jitter of nothing draws nothing");
    }

    // ================================================================ jitter

    @Test
    void fullJitterDrawsFromZeroToTheBaseInclusive() {
        Backoff backoff = Backoff.fixed(Duration.ofNanos(10)).withJitter(Jitter.full()).withRandom(new SplittableRandom(1));
        assertEquals(0, backoff.minDelayNanos(1, 0));
        assertEquals(10, backoff.maxDelayNanos(1, 0));
        boolean[] seen = new boolean[11];
        for (int i = 0; i < 2_000; i++) {
            long delay = backoff.delayNanos(1, 0);
            assertTrue(delay >= 0 && delay <= 10, "delay " + delay);
            seen[(int) delay] = true;
        }
        for (int value = 0; value <= 10; value++) {
            assertTrue(seen[value], "never drew " + value + ": bounds are inclusive");
        }
    }

    @Test
    void fullJitterFollowsTheShape() {
        Backoff backoff = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(1)).withJitter(Jitter.full())
                .withRandom(new SplittableRandom(2));
        for (int retry = 1; retry <= 10; retry++) {
            long base = backoff.baseNanos(retry);
            assertEquals(0, backoff.minDelayNanos(retry, 0));
            assertEquals(base, backoff.maxDelayNanos(retry, 0));
            for (int i = 0; i < 50; i++) {
                long delay = backoff.delayNanos(retry, 0);
                assertTrue(delay >= 0 && delay <= base, "retry " + retry + ": " + delay);
            }
        }
    }

    @Test
    void equalJitterKeepsHalfAndDrawsTheOtherHalf() {
        Backoff odd = Backoff.fixed(Duration.ofNanos(7)).withJitter(Jitter.equal()).withRandom(new SplittableRandom(3));
        assertEquals(4, odd.minDelayNanos(1, 0), "7 - 7/2, with 7/2 rounded down");
        assertEquals(7, odd.maxDelayNanos(1, 0));
        boolean[] seen = new boolean[8];
        for (int i = 0; i < 1_000; i++) {
            long delay = odd.delayNanos(1, 0);
            assertTrue(delay >= 4 && delay <= 7, "delay " + delay);
            seen[(int) delay] = true;
        }
        assertTrue(seen[4] && seen[5] && seen[6] && seen[7], "both ends are reachable");
        Backoff exponential = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(1)).withJitter(Jitter.equal());
        assertEquals(200 * MS, exponential.minDelayNanos(3, 0));
        assertEquals(400 * MS, exponential.maxDelayNanos(3, 0));
        assertEquals(500 * MS, exponential.minDelayNanos(9, 0), "half of the capped delay");
    }

    @Test
    void decorrelatedJitterGrowsFromThePreviousDelayWithinInitialAndMax() {
        Backoff backoff = Backoff.exponential(Duration.ofMillis(10), Duration.ofSeconds(1)).withJitter(Jitter.decorrelated())
                .withRandom(new SplittableRandom(4));
        assertEquals(10 * MS, backoff.minDelayNanos(1, 0));
        assertEquals(30 * MS, backoff.maxDelayNanos(1, 999 * MS), "the first retry's previous delay is the initial delay");
        long previous = 0;
        long longest = 0;
        for (int retry = 1; retry <= 60; retry++) {
            long low = backoff.minDelayNanos(retry, previous);
            long high = backoff.maxDelayNanos(retry, previous);
            long expectedHigh = retry == 1 ? 30 * MS : Math.min(1_000 * MS, 3 * Math.max(10 * MS, previous));
            assertEquals(10 * MS, low, "retry " + retry);
            assertEquals(expectedHigh, high, "retry " + retry);
            long delay = backoff.delayNanos(retry, previous);
            assertTrue(delay >= low && delay <= high, "retry " + retry + ": " + delay + " not in [" + low + ", " + high + "]");
            longest = Math.max(longest, delay);
            previous = delay;
        }
        assertTrue(longest > 90 * MS, "grew past three times the initial delay: " + longest);
    }

    @Test
    void decorrelatedJitterBoundsForOddPreviousDelays() {
        Backoff backoff = Backoff.exponential(Duration.ofMillis(10), Duration.ofSeconds(1)).withJitter(Jitter.decorrelated());
        assertEquals(30 * MS, backoff.maxDelayNanos(2, 1), "a previous delay under the initial one counts as the initial one");
        assertEquals(30 * MS, backoff.maxDelayNanos(2, -5));
        assertEquals(1_000 * MS, backoff.maxDelayNanos(2, Long.MAX_VALUE), "capped at max, without overflow");
        assertEquals(10 * MS, backoff.minDelayNanos(2, Long.MAX_VALUE));
        Backoff fixed = Backoff.fixed(Duration.ofMillis(10)).withJitter(Jitter.decorrelated()).withRandom(NEVER);
        assertEquals(10 * MS, fixed.delayNanos(5, 10 * MS), "max = initial leaves nothing to draw");
        Backoff longest = Backoff.fixed(LONGEST).withJitter(Jitter.decorrelated());
        assertEquals(LONGEST.toNanos(), longest.maxDelayNanos(3, LONGEST.toNanos()));
    }

    @Test
    void proportionalJitterDrawsAroundTheBaseCappedAtMax() {
        Backoff backoff = Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(10)).withJitter(Jitter.proportional(0.5))
                .withRandom(new SplittableRandom(5));
        assertEquals(500 * MS, backoff.minDelayNanos(1, 0));
        assertEquals(1_500 * MS, backoff.maxDelayNanos(1, 0));
        assertEquals(4_000 * MS, backoff.minDelayNanos(4, 0));
        assertEquals(10_000 * MS, backoff.maxDelayNanos(4, 0), "8 s + 4 s capped at 10 s");
        assertEquals(5_000 * MS, backoff.minDelayNanos(5, 0), "the capped 10 s - 5 s");
        for (int retry = 1; retry <= 8; retry++) {
            for (int i = 0; i < 50; i++) {
                long delay = backoff.delayNanos(retry, 0);
                assertTrue(delay >= backoff.minDelayNanos(retry, 0) && delay <= backoff.maxDelayNanos(retry, 0), "retry " + retry + ": " + delay);
            }
        }
        Backoff fixed = Backoff.fixed(Duration.ofSeconds(1)).withJitter(Jitter.proportional(0.25));
        assertEquals(750 * MS, fixed.minDelayNanos(1, 0));
        assertEquals(1_000 * MS, fixed.maxDelayNanos(1, 0), "a fixed back-off's maximum is its delay: it only jitters down");
        Backoff whole = Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(10)).withJitter(Jitter.proportional(1.0));
        assertEquals(0, whole.minDelayNanos(2, 0));
        assertEquals(4_000 * MS, whole.maxDelayNanos(2, 0));
    }

    /**
     * {@link Jitter} documents the bounds {@code [b - f*b, ...]}, zero or more for a factor in (0, 1];
     * with f = 1 the lower bound must be zero, also for delays past 2^53 ns (about 104 days), where
     * {@code b * f} as a double may round above {@code b}.
     */
    @Test
    void proportionalJitterOfOneNeverGoesBelowZero() {
        Backoff longest = Backoff.fixed(LONGEST).withJitter(Jitter.proportional(1.0));
        assertEquals(0, longest.minDelayNanos(1, 0), "73 years, f = 1");
        Backoff days = Backoff.fixed(Duration.ofNanos((1L << 53) + 3)).withJitter(Jitter.proportional(1.0));
        assertEquals(0, days.minDelayNanos(1, 0), "about 104 days, f = 1");
        // A generator whose draw maps to the lowest value of the range: the delay itself.
        long delay = days.withRandom(() -> 0L).delayNanos(1, 0);
        assertTrue(delay >= 0, "a negative delay: " + delay);
    }

    @Test
    void sameSeedSameDelaysOtherSeedOtherDelays() {
        Backoff shape = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(30));
        for (Jitter jitter : new Jitter[] {Jitter.full(), Jitter.equal(), Jitter.decorrelated(), Jitter.proportional(0.3)}) {
            long[] first = draws(shape.withJitter(jitter).withRandom(new SplittableRandom(42)), 20);
            long[] again = draws(shape.withJitter(jitter).withRandom(new SplittableRandom(42)), 20);
            long[] other = draws(shape.withJitter(jitter).withRandom(new SplittableRandom(43)), 20);
            assertArrayEquals(first, again, jitter + ": same seed, same sequence");
            assertFalse(java.util.Arrays.equals(first, other), jitter + ": another seed, another sequence");
        }
    }

    @Test
    void theDefaultRandomStaysWithinTheBounds() {
        Backoff backoff = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(5)).withJitter(Jitter.full());
        for (int retry = 1; retry <= 10; retry++) {
            long delay = backoff.delayNanos(retry, 0);
            assertTrue(delay >= 0 && delay <= backoff.baseNanos(retry), "retry " + retry + ": " + delay);
        }
    }

    @Test
    void noJitterNeverDraws() {
        Backoff backoff = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(5)).withRandom(NEVER);
        assertArrayEquals(new long[] {100 * MS, 200 * MS, 400 * MS}, draws(backoff, 3));
    }

    // ================================================================ immutability

    @Test
    void withJitterReturnsANewBackoffAndLeavesTheOriginal() {
        Backoff original = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(5));
        Backoff jittered = original.withJitter(Jitter.full());
        assertNotSame(original, jittered);
        assertSame(Jitter.none(), original.jitter());
        assertSame(Jitter.full(), jittered.jitter());
        assertEquals(200 * MS, original.minDelayNanos(2, 0));
        assertEquals(0, jittered.minDelayNanos(2, 0));
        assertEquals(original.max(), jittered.max());
        assertArrayEquals(bases(original, 10), bases(jittered, 10), "same shape");
    }

    @Test
    void withRandomReturnsANewBackoffAndLeavesTheOriginal() {
        AtomicInteger draws = new AtomicInteger();
        RandomGenerator counting = () -> {
            draws.incrementAndGet();
            return 12345L;
        };
        Backoff original = Backoff.fixed(Duration.ofSeconds(1)).withJitter(Jitter.full());
        Backoff seeded = original.withRandom(counting);
        assertNotSame(original, seeded);
        assertSame(Jitter.full(), seeded.jitter());
        original.delayNanos(1, 0);
        assertEquals(0, draws.get(), "the original still draws from its own generator");
        seeded.delayNanos(1, 0);
        assertTrue(draws.get() > 0, "the copy draws from the given generator");
        Backoff rejittered = seeded.withJitter(Jitter.equal());
        int before = draws.get();
        rejittered.delayNanos(1, 0);
        assertTrue(draws.get() > before, "withJitter keeps the generator");
    }

    // ================================================================ toString

    @Test
    void toStringShowsShapeMaxAndJitter() {
        assertEquals("Backoff[fixed PT0.25S, max PT0.25S, Jitter[none]]", Backoff.fixed(Duration.ofMillis(250)).toString());
        assertEquals("Backoff[linear PT0.1S + PT0.05S per retry, max PT1S, Jitter[full]]",
                Backoff.linear(Duration.ofMillis(100), Duration.ofMillis(50), Duration.ofSeconds(1)).withJitter(Jitter.full()).toString());
        assertEquals("Backoff[exponential PT0.1S x2.0, max PT5S, Jitter[equal]]",
                Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(5)).withJitter(Jitter.equal()).toString());
        assertEquals("Backoff[exponential PT1S x1.5, max PT1M, Jitter[decorrelated]]",
                Backoff.exponential(Duration.ofSeconds(1), 1.5, Duration.ofMinutes(1)).withJitter(Jitter.decorrelated()).toString());
        assertEquals("Backoff[fixed PT0S, max PT0S, Jitter[none]]", Backoff.none().toString());
        assertEquals("Jitter[proportional 0.25]", Jitter.proportional(0.25).toString());
        assertEquals("Jitter[none]", Jitter.none().toString());
    }

    // ================================================================ bad input

    @Test
    void badDurationsAreRejectedNamingTheParameter() {
        String range = "must be in [PT0S, " + LONGEST_TEXT + "], was ";
        assertMessage("delay must not be null", () -> Backoff.fixed(null));
        assertMessage("delay " + range + "PT-0.000000001S", () -> Backoff.fixed(Duration.ofNanos(-1)));
        assertMessage("delay " + range + "PT640511H56M49.213693952S", () -> Backoff.fixed(LONGEST.plusNanos(1)));
        assertMessage("delay " + range + "PT876000H", () -> Backoff.fixed(Duration.ofDays(36_500)));
        assertMessage("initial must not be null", () -> Backoff.linear(null, Duration.ZERO, Duration.ofSeconds(1)));
        assertMessage("initial " + range + "PT-1S", () -> Backoff.linear(Duration.ofSeconds(-1), Duration.ZERO, Duration.ofSeconds(1)));
        assertMessage("increment must not be null", () -> Backoff.linear(Duration.ZERO, null, Duration.ofSeconds(1)));
        assertMessage("increment " + range + "PT-1S", () -> Backoff.linear(Duration.ZERO, Duration.ofSeconds(-1), Duration.ofSeconds(1)));
        assertMessage("max must not be null", () -> Backoff.linear(Duration.ZERO, Duration.ZERO, null));
        assertMessage("max " + range + "PT-1S", () -> Backoff.linear(Duration.ZERO, Duration.ZERO, Duration.ofSeconds(-1)));
        assertMessage("max must be >= initial (PT2S), was PT1S", () -> Backoff.linear(Duration.ofSeconds(2), Duration.ZERO, Duration.ofSeconds(1)));
        assertMessage("initial must not be null", () -> Backoff.exponential(null, Duration.ofSeconds(1)));
        assertMessage("max must not be null", () -> Backoff.exponential(Duration.ofSeconds(1), null));
        assertMessage("max must be >= initial (PT2S), was PT1S", () -> Backoff.exponential(Duration.ofSeconds(2), Duration.ofSeconds(1)));
        assertMessage("max " + range + "PT876000H", () -> Backoff.exponential(Duration.ofSeconds(2), Duration.ofDays(36_500)));
    }

    @Test
    void badMultipliersAreRejected() {
        Duration second = Duration.ofSeconds(1);
        assertMessage("multiplier must be in [1.0, 1000.0], was 0.99", () -> Backoff.exponential(second, 0.99, second));
        assertMessage("multiplier must be in [1.0, 1000.0], was 0.0", () -> Backoff.exponential(second, 0.0, second));
        assertMessage("multiplier must be in [1.0, 1000.0], was -2.0", () -> Backoff.exponential(second, -2.0, second));
        assertMessage("multiplier must be in [1.0, 1000.0], was 1000.5", () -> Backoff.exponential(second, 1000.5, second));
        assertMessage("multiplier must be in [1.0, 1000.0], was NaN", () -> Backoff.exponential(second, Double.NaN, second));
        assertMessage("multiplier must be in [1.0, 1000.0], was Infinity", () -> Backoff.exponential(second, Double.POSITIVE_INFINITY, second));
    }

    @Test
    void retryNumbersStartAtOne() {
        Backoff backoff = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(5)).withJitter(Jitter.full());
        assertMessage("retry must be >= 1, was 0", () -> backoff.baseNanos(0));
        assertMessage("retry must be >= 1, was -1", () -> backoff.delayNanos(-1, 0));
        assertMessage("retry must be >= 1, was 0", () -> backoff.minDelayNanos(0, 0));
        assertMessage("retry must be >= 1, was " + Integer.MIN_VALUE, () -> backoff.maxDelayNanos(Integer.MIN_VALUE, 0));
    }

    @Test
    void badJitterIsRejected() {
        Backoff backoff = Backoff.fixed(Duration.ofSeconds(1));
        assertMessage("jitter must not be null", () -> backoff.withJitter(null));
        assertMessage("random must not be null", () -> backoff.withRandom(null));
        assertMessage("initial must be > 0 for decorrelated jitter (it is the lower bound of every delay), was 0",
                () -> Backoff.exponential(Duration.ZERO, Duration.ofSeconds(1)).withJitter(Jitter.decorrelated()));
        assertMessage("initial must be > 0 for decorrelated jitter", () -> Backoff.none().withJitter(Jitter.decorrelated()));
        assertMessage("factor must be in (0.0, 1.0], was 0.0", () -> Jitter.proportional(0.0));
        assertMessage("factor must be in (0.0, 1.0], was -0.1", () -> Jitter.proportional(-0.1));
        assertMessage("factor must be in (0.0, 1.0], was 1.0001", () -> Jitter.proportional(1.0001));
        assertMessage("factor must be in (0.0, 1.0], was NaN", () -> Jitter.proportional(Double.NaN));
        assertEquals("Jitter[proportional 1.0]", Jitter.proportional(1.0).toString(), "1 is in range");
    }
}
