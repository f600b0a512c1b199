package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * {@link Backoff} and {@link Jitter} against their javadoc, checked independently of the code under test.
 *
 * <ul>
 *   <li>For every shape (fixed, linear, exponential with a random multiplier) and every jitter (none,
 *       full, equal, decorrelated, proportional(f)), drawing from a seeded {@link SplittableRandom}: every
 *       {@code delayNanos(retry, previous)} lies within the bounds of the table in {@link Jitter}'s javadoc,
 *       where the test computes {@code b(n)} itself from the shape's formula ({@code initial},
 *       {@code initial + (n-1) * increment}, {@code initial * multiplier^(n-1)}; exact {@link BigInteger}
 *       and {@link BigDecimal} arithmetic, capped at max) and the bound from the table's formula. Every
 *       delay (and {@code minDelayNanos}, {@code maxDelayNanos}, {@code baseNanos}) is also never negative
 *       and never above the back-off's max: these two are checked strictly, without any tolerance.</li>
 *   <li>Decorrelated chains (each delay fed back as the next {@code previous}) stay within
 *       {@code [initial, min(max, 3 * previous)]}, the first retry's previous being {@code initial}.</li>
 *   <li>Bad input (negative or too long durations, {@code max < initial}, a multiplier outside [1, 1000],
 *       a proportional factor outside (0, 1], decorrelated jitter with a zero initial delay, a retry
 *       number below 1, nulls) throws {@link IllegalArgumentException} whose message starts with the
 *       parameter's name.</li>
 * </ul>
 *
 * <p>Where the documented formula is a real number and the code computes in {@code double}s (the
 * exponential shape, the proportional factor) the bound is checked to within {@link Model#tolerance}
 * (one nanosecond plus 2^-45 of the delay: a few ulps of double arithmetic); everywhere else (fixed and
 * linear shapes with none, full, equal or decorrelated jitter) the check is exact to the nanosecond.
 * Durations in {@link #everyDelayIsWithinTheDocumentedBounds} go up to 2^53 ns (about 104 days, where a
 * double still holds every nanosecond count); {@link #hugeDelaysAreNeverNegativeNorAboveMax} covers the
 * rest of the accepted range, up to 2^61 ns (about 73 years).
 */
class BackoffProperties {
    /** The longest accepted duration, as documented on {@link Backoff}: 2^61 ns (exclusive). */
    static final long MAX_NANOS = Long.MAX_VALUE >> 2;
    private static final long TWO_TO_53 = 1L << 53;

    enum Shape { FIXED, LINEAR, EXPONENTIAL }

    enum Kind { NONE, FULL, EQUAL, DECORRELATED, PROPORTIONAL }

    /**
     * An independent model of a back-off: its parameters, and {@code b(n)} and the jitter table's bounds
     * computed from the javadoc's formulas in exact arithmetic. Shared with {@link RetryProperties}.
     */
    record Model(Shape shape, long initial, long increment, double multiplier, long max, Kind kind, double factor) {

        /** Builds the back-off under test through the public API. */
        Backoff build(long seed) {
            Backoff backoff;
            switch (shape) {
                case FIXED:
                    backoff = Backoff.fixed(Duration.ofNanos(initial));
                    break;
                case LINEAR:
                    backoff = Backoff.linear(Duration.ofNanos(initial), Duration.ofNanos(increment), Duration.ofNanos(max));
                    break;
                default:
                    backoff = Backoff.exponential(Duration.ofNanos(initial), multiplier, Duration.ofNanos(max));
            }
            return backoff.withJitter(jitter()).withRandom(new SplittableRandom(seed));
        }

        Jitter jitter() {
            switch (kind) {
                case FULL:
                    return Jitter.full();
                case EQUAL:
                    return Jitter.equal();
                case DECORRELATED:
                    return Jitter.decorrelated();
                case PROPORTIONAL:
                    return Jitter.proportional(factor);
                default:
                    return Jitter.none();
            }
        }

        /** The longest delay: the given max (for a fixed back-off, the delay itself). */
        long maxNanos() {
            return shape == Shape.FIXED ? initial : max;
        }

        /** True if the documented bounds are whole numbers the code computes exactly (no doubles involved). */
        boolean exact() {
            return shape != Shape.EXPONENTIAL && kind != Kind.PROPORTIONAL;
        }

        /** {@code b(n)}, from the javadoc's formula, capped at max; exponential values rounded down to whole nanoseconds. */
        BigInteger base(int n) {
            BigInteger cap = BigInteger.valueOf(maxNanos());
            switch (shape) {
                case FIXED:
                    return BigInteger.valueOf(initial);
                case LINEAR:
                    return BigInteger.valueOf(initial).add(BigInteger.valueOf(n - 1L).multiply(BigInteger.valueOf(increment))).min(cap);
                default:
                    if (initial == 0 || n == 1 || multiplier == 1.0) {
                        return BigInteger.valueOf(initial);
                    }
                    // Clearly past max (by more than 1%)? Then no need for the exact power.
                    if (Math.log(initial) + (n - 1) * Math.log(multiplier) > Math.log(max) + 0.01) {
                        return cap;
                    }
                    BigDecimal grown = new BigDecimal(initial).multiply(new BigDecimal(multiplier).pow(n - 1, new MathContext(60)));
                    return grown.setScale(0, RoundingMode.FLOOR).toBigInteger().min(cap);
            }
        }

        /** The documented bounds of retry {@code n}'s delay after {@code previous}, from the jitter table. */
        Bounds bounds(int n, long previous) {
            BigInteger base = base(n);
            BigDecimal b = new BigDecimal(base);
            BigDecimal cap = BigDecimal.valueOf(maxNanos());
            BigDecimal low;
            BigDecimal high;
            switch (kind) {
                case FULL:
                    low = BigDecimal.ZERO;
                    high = b;
                    break;
                case EQUAL:
                    low = b.subtract(new BigDecimal(base.shiftRight(1))); // b - b/2, b/2 rounding down
                    high = b;
                    break;
                case DECORRELATED:
                    // The first retry's previous is initial.
                    low = BigDecimal.valueOf(initial);
                    high = BigDecimal.valueOf(n == 1 ? initial : previous).multiply(BigDecimal.valueOf(3)).min(cap);
                    break;
                case PROPORTIONAL:
                    BigDecimal spread = b.multiply(new BigDecimal(factor));
                    low = b.subtract(spread);
                    high = b.add(spread).min(cap);
                    break;
                default:
                    low = b;
                    high = b;
            }
            // How far the code's double arithmetic may stray from the exact formula: none when it needs no doubles.
            BigDecimal tolerance = exact() ? BigDecimal.ZERO : b.multiply(BigDecimal.valueOf(Math.scalb(1.0, -45))).add(BigDecimal.ONE);
            return new Bounds(this, n, previous, base, low, high, tolerance);
        }
    }

    /** Retry {@code n}'s documented bounds, inclusive, and the tolerance for double arithmetic. */
    record Bounds(Model model, int n, long previous, BigInteger base, BigDecimal low, BigDecimal high, BigDecimal tolerance) {

        /** Asserts that {@code delay} is a valid delay for this retry: strictly within [0, max], and within the documented bounds. */
        void assertContains(String what, long delay) {
            assertTrue(delay >= 0, what + " is negative: " + delay + " for retry " + n + " of " + model);
            assertTrue(delay <= model.maxNanos(), what + " " + delay + " exceeds max " + model.maxNanos() + " for retry " + n + " of " + model);
            BigDecimal value = BigDecimal.valueOf(delay);
            assertTrue(value.compareTo(low.subtract(tolerance)) >= 0 && value.compareTo(high.add(tolerance)) <= 0,
                    what + " " + delay + " outside the documented [" + low + ", " + high + "] (tolerance " + tolerance
                            + ") for retry " + n + " after " + previous + " of " + model);
        }

        /** The greatest wait the documented bounds allow, rounded up to a whole nanosecond. */
        long highCeil() {
            return high.add(tolerance).setScale(0, RoundingMode.CEILING).longValueExact();
        }
    }

    // ------------------------------------------------------------------ generators

    /** Durations in nanoseconds: mostly small, ms-scale and s-scale, up to {@code limit}. */
    static Arbitrary<Long> nanos(long limit) {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.longs().between(0, Math.min(limit, 1_000))),
                Tuple.of(4, Arbitraries.longs().between(0, Math.min(limit, 10_000_000_000L))),
                Tuple.of(3, Arbitraries.longs().between(0, limit)));
    }

    static Arbitrary<Double> multipliers() {
        return Arbitraries.oneOf(Arbitraries.of(1.0, 1.5, 2.0, 1000.0), Arbitraries.doubles().between(1.0, 3.0),
                Arbitraries.doubles().between(1.0, 1000.0));
    }

    static Arbitrary<Double> factors() {
        return Arbitraries.oneOf(Arbitraries.of(1.0, 0.5, 0.1), Arbitraries.doubles().between(0.0, false, 1.0, true));
    }

    /** Back-off models whose durations lie in [{@code from}, {@code to}]. */
    static Arbitrary<Model> models(long from, long to) {
        Arbitrary<Long> a = nanos(to - from).map(n -> n + from);
        Arbitrary<Long> b = nanos(to - from).map(n -> n + from);
        Arbitrary<Long> increment = nanos(to);
        return Combinators.combine(Arbitraries.of(Shape.class), a, b, increment, multipliers(), Arbitraries.of(Kind.class), factors())
                .as((shape, x, y, inc, multiplier, kind, factor) -> {
                    long initial = Math.min(x, y);
                    long max = Math.max(x, y);
                    if (kind == Kind.DECORRELATED && initial == 0) {
                        initial = 1; // decorrelated jitter needs a positive initial delay (a separate property checks the refusal)
                        max = Math.max(max, 1);
                    }
                    if (shape == Shape.FIXED) {
                        max = initial;
                    }
                    return new Model(shape, initial, shape == Shape.LINEAR ? inc : 0, shape == Shape.EXPONENTIAL ? multiplier : 1.0,
                            max, kind, kind == Kind.PROPORTIONAL ? factor : 0.0);
                });
    }

    @Provide
    Arbitrary<Model> backoffs() {
        return models(0, TWO_TO_53);
    }

    @Provide
    Arbitrary<Model> hugeBackoffs() {
        return models(TWO_TO_53, MAX_NANOS);
    }

    @Provide
    Arbitrary<List<Integer>> retries() {
        return Arbitraries.oneOf(Arbitraries.integers().between(1, 12), Arbitraries.integers().between(1, 100_000)).list().ofMinSize(1).ofMaxSize(30);
    }

    // ------------------------------------------------------------------ properties

    @Property(seed = "7310001", tries = 400)
    void everyDelayIsWithinTheDocumentedBounds(@ForAll("backoffs") Model model, @ForAll("retries") List<Integer> retries,
                                               @ForAll long seed, @ForAll("previousChoice") long previousChoice) {
        checkEveryDelay(model, retries, seed, previousChoice);
    }

    /**
     * The same as {@link #everyDelayIsWithinTheDocumentedBounds} for durations from 2^53 ns up to the
     * largest accepted (2^61 ns): above 2^53 a {@code double} no longer holds every nanosecond count,
     * but a delay must still never be negative nor above max.
     *
     * <p>Regression guard: up to commit 2096860, {@code Backoff.minDelayNanos} computed the
     * proportional lower bound as {@code base - (long) (base * factor)}; with {@code factor == 1.0} and a
     * base above 2^53 that a {@code double} rounds up (2^53 + 3 ns, say), {@code (long) (base * 1.0) > base}
     * and the lower bound, hence possibly the delay, was negative (-1), against the documented
     * {@code [b - f*b, ...] = [0, ...]}; this property failed there with exactly that case. Fixed in
     * 31e705d (the bound clamped at zero).
     */
    @Property(seed = "7310002", tries = 300)
    void hugeDelaysAreNeverNegativeNorAboveMax(@ForAll("hugeBackoffs") Model model, @ForAll("retries") List<Integer> retries,
                                               @ForAll long seed, @ForAll("previousChoice") long previousChoice) {
        checkEveryDelay(model, retries, seed, previousChoice);
    }

    @Provide
    Arbitrary<Long> previousChoice() {
        return Arbitraries.longs();
    }

    private static void checkEveryDelay(Model model, List<Integer> retries, long seed, long previousChoice) {
        Backoff backoff = model.build(seed);
        assertEquals(Duration.ofNanos(model.maxNanos()), backoff.max());
        SplittableRandom previousSource = new SplittableRandom(previousChoice);
        for (int n : retries) {
            // A previous delay the back-off could have returned: decorrelated delays are in [initial, max].
            // For the other kinds it is ignored, so any value will do.
            long previous = model.kind() == Kind.DECORRELATED
                    ? previousSource.nextLong(model.initial(), model.maxNanos() + 1)
                    : previousSource.nextLong(-1, MAX_NANOS);
            Bounds bounds = model.bounds(n, previous);
            long base = backoff.baseNanos(n);
            assertTrue(base >= 0 && base <= model.maxNanos(), "baseNanos(" + n + ") = " + base + " of " + model);
            assertTrue(new BigDecimal(base).subtract(new BigDecimal(bounds.base())).abs().compareTo(bounds.tolerance()) <= 0,
                    "baseNanos(" + n + ") = " + base + ", the formula gives " + bounds.base() + " for " + model);
            long min = backoff.minDelayNanos(n, previous);
            long max = backoff.maxDelayNanos(n, previous);
            bounds.assertContains("minDelayNanos", min);
            bounds.assertContains("maxDelayNanos", max);
            assertTrue(min <= max, "min " + min + " > max " + max);
            for (int draw = 0; draw < 4; draw++) {
                long delay = backoff.delayNanos(n, previous);
                bounds.assertContains("delayNanos", delay);
                assertTrue(delay >= min && delay <= max, "delay " + delay + " outside [minDelayNanos, maxDelayNanos] = [" + min + ", " + max + "]");
            }
        }
    }

    @Property(seed = "7310003", tries = 300)
    void decorrelatedChainsStayWithinInitialAndThreeTimesThePrevious(
            @ForAll("backoffs") Model shape, @ForAll long seed, @ForAll @IntRange(min = 1, max = 60) int length) {
        Model model = new Model(shape.shape(), Math.max(1, shape.initial()), shape.increment(), shape.multiplier(),
                shape.shape() == Shape.FIXED ? Math.max(1, shape.initial()) : Math.max(1, shape.max()), Kind.DECORRELATED, 0.0);
        Backoff backoff = model.build(seed);
        long previous = model.initial(); // the first retry's previous is initial
        long previousFedBack = 0L; // what a caller passes for the first retry: ignored
        for (int n = 1; n <= length; n++) {
            long delay = backoff.delayNanos(n, previousFedBack);
            long upper = Math.min(model.maxNanos(), 3 * previous); // previous <= 2^53 here, so 3 * previous fits
            assertTrue(delay >= model.initial() && delay <= upper,
                    "retry " + n + ": delay " + delay + " outside [" + model.initial() + ", " + upper + "] after " + previous + " for " + model);
            previous = delay;
            previousFedBack = delay;
        }
    }

    // ------------------------------------------------------------------ bad input

    /** A call with one bad argument, and the parameter its exception must name. */
    record BadInput(String parameter, String description, Runnable action) {
        @Override
        public String toString() {
            return description + " -> " + parameter;
        }
    }

    @Provide
    Arbitrary<BadInput> badInputs() {
        Arbitrary<Duration> valid = Arbitraries.longs().between(0, 1_000_000_000L).map(Duration::ofNanos);
        Arbitrary<Duration> bad = Arbitraries.oneOf(
                Arbitraries.longs().between(Long.MIN_VALUE, -1).map(Duration::ofNanos),
                Arbitraries.longs().between(MAX_NANOS + 1, Long.MAX_VALUE).map(Duration::ofNanos),
                Arbitraries.longs().between(MAX_NANOS / 1_000_000_000L + 1, Long.MAX_VALUE / 4).map(Duration::ofSeconds),
                Arbitraries.just((Duration) null));
        Arbitrary<Double> badMultiplier = Arbitraries.oneOf(
                Arbitraries.doubles().between(-1e6, true, 1.0, false),
                Arbitraries.doubles().between(1000.0, false, 1e12, true),
                Arbitraries.of(Double.NaN, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, 0.0, Math.nextDown(1.0), Math.nextUp(1000.0)));
        Arbitrary<Double> badFactor = Arbitraries.oneOf(
                Arbitraries.doubles().between(-10.0, 0.0),
                Arbitraries.doubles().between(1.0, false, 1e6, true),
                Arbitraries.of(Double.NaN, 0.0, -0.0, Math.nextUp(1.0), Double.POSITIVE_INFINITY));
        Arbitrary<Integer> badRetry = Arbitraries.oneOf(Arbitraries.integers().between(Integer.MIN_VALUE, 0), Arbitraries.of(0, -1));
        Arbitrary<Backoff> anyBackoff = Combinators.combine(valid, valid, multipliers()).as((x, y, m) -> {
            Duration low = x.compareTo(y) <= 0 ? x : y;
            Duration high = x.compareTo(y) <= 0 ? y : x;
            return Backoff.exponential(low, m, high).withJitter(Jitter.full());
        });

        return Arbitraries.oneOf(
                bad.map(d -> new BadInput("delay", "fixed(" + d + ")", () -> Backoff.fixed(d))),
                Combinators.combine(bad, valid, valid).as((d, inc, max) ->
                        new BadInput("initial", "linear(" + d + ", " + inc + ", " + max + ")", () -> Backoff.linear(d, inc, max))),
                Combinators.combine(valid, bad, valid).as((init, d, max) ->
                        new BadInput("increment", "linear(" + init + ", " + d + ", " + max + ")", () -> Backoff.linear(init, d, max))),
                Combinators.combine(valid, valid, bad).as((init, inc, d) ->
                        new BadInput("max", "linear(" + init + ", " + inc + ", " + d + ")", () -> Backoff.linear(init, inc, d))),
                Combinators.combine(valid, valid, valid).as((x, inc, y) -> {
                    Duration initial = x.plusNanos(1).plus(y);
                    return new BadInput("max", "linear(" + initial + ", " + inc + ", " + y + "): max < initial", () -> Backoff.linear(initial, inc, y));
                }),
                Combinators.combine(bad, multipliers(), valid).as((d, m, max) ->
                        new BadInput("initial", "exponential(" + d + ", " + m + ", " + max + ")", () -> Backoff.exponential(d, m, max))),
                Combinators.combine(valid, multipliers(), bad).as((init, m, d) ->
                        new BadInput("max", "exponential(" + init + ", " + m + ", " + d + ")", () -> Backoff.exponential(init, m, d))),
                Combinators.combine(valid, valid).as((x, y) -> {
                    Duration initial = x.plusNanos(1).plus(y);
                    return new BadInput("max", "exponential(" + initial + ", " + y + "): max < initial", () -> Backoff.exponential(initial, y));
                }),
                Combinators.combine(valid, badMultiplier).as((x, m) ->
                        new BadInput("multiplier", "exponential(" + x + ", " + m + ", 2x)", () -> Backoff.exponential(x, m, x.multipliedBy(2)))),
                badFactor.map(f -> new BadInput("factor", "proportional(" + f + ")", () -> Jitter.proportional(f))),
                Combinators.combine(valid, multipliers()).as((max, m) ->
                        new BadInput("initial", "exponential(0, " + m + ", " + max + ").withJitter(decorrelated)",
                                () -> Backoff.exponential(Duration.ZERO, m, max).withJitter(Jitter.decorrelated()))),
                valid.map(inc -> new BadInput("initial", "linear(0, " + inc + ", 1s).withJitter(decorrelated)",
                        () -> Backoff.linear(Duration.ZERO, inc, Duration.ofSeconds(1)).withJitter(Jitter.decorrelated()))),
                Arbitraries.just(new BadInput("initial", "fixed(0).withJitter(decorrelated)",
                        () -> Backoff.fixed(Duration.ZERO).withJitter(Jitter.decorrelated()))),
                Combinators.combine(anyBackoff, badRetry, Arbitraries.integers().between(0, 3)).as((backoff, retry, method) -> {
                    String[] names = {"delayNanos", "minDelayNanos", "maxDelayNanos", "baseNanos"};
                    Runnable call = () -> {
                        switch (method) {
                            case 0: backoff.delayNanos(retry, 0L); break;
                            case 1: backoff.minDelayNanos(retry, 0L); break;
                            case 2: backoff.maxDelayNanos(retry, 0L); break;
                            default: backoff.baseNanos(retry);
                        }
                    };
                    return new BadInput("retry", names[method] + "(" + retry + ")", call);
                }),
                Arbitraries.just(new BadInput("jitter", "withJitter(null)", () -> Backoff.fixed(Duration.ofMillis(1)).withJitter(null))),
                Arbitraries.just(new BadInput("random", "withRandom(null)", () -> Backoff.fixed(Duration.ofMillis(1)).withRandom(null))));
    }

    @Property(seed = "7310004", tries = 300)
    void badInputThrowsIllegalArgumentExceptionNamingTheParameter(@ForAll("badInputs") BadInput input) {
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, input.action()::run, input.description());
        String message = thrown.getMessage();
        if (message == null || !message.startsWith(input.parameter() + " ")) {
            fail(input.description() + ": the message should name '" + input.parameter() + "', was: " + message);
        }
    }

    /** Valid edge values are accepted: the bad-input property does not just reject everything. */
    @Property(seed = "7310005", tries = 100)
    void validEdgeValuesAreAccepted(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE >> 2) long nanos) {
        Duration d = Duration.ofNanos(nanos);
        Backoff.fixed(d);
        Backoff.linear(d, d, d);
        Backoff.exponential(d, 1.0, d);
        Backoff.exponential(d, 1000.0, Duration.ofNanos(MAX_NANOS));
        Jitter.proportional(1.0);
        Jitter.proportional(Double.MIN_VALUE);
        if (nanos > 0) {
            Backoff.fixed(d).withJitter(Jitter.decorrelated());
        }
    }
}
