package dev.vigil.core;

import dev.vigil.core.internal.Checks;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * How long a {@link Retry} waits before each retry: a fixed, linear or exponential delay, capped at a
 * maximum, randomised by a {@link Jitter}.
 *
 * <pre>{@code
 * Backoff backoff = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(5)) // 100, 200, 400 ms ...
 *     .withJitter(Jitter.full());
 * }</pre>
 *
 * <p>Retry {@code n} (1 for the first retry) has the un-jittered delay {@link #baseNanos(int) b(n)}:
 * {@code initial} (fixed), {@code initial + (n-1) * increment} (linear) or
 * {@code initial * multiplier^(n-1)} (exponential), never more than {@code max}. The jitter then draws
 * the actual delay within the bounds that {@link #minDelayNanos} and {@link #maxDelayNanos} return
 * (see {@link Jitter} for each kind's formula).
 *
 * <p>Randomness comes from a {@link RandomGenerator}: by default the calling thread's
 * {@link ThreadLocalRandom}; {@link #withRandom} injects another, for example a seeded
 * {@link java.util.SplittableRandom} in a single-threaded test. The back-off calls the generator from
 * whichever thread retries, so a generator shared by threads must be thread-safe.
 *
 * <p>Immutable and thread-safe (given a thread-safe generator); the {@code with...} methods return
 * new instances. Computing a delay allocates nothing.
 */
public final class Backoff {
    /** Draws from the calling thread's own generator, so the default needs no synchronisation. */
    private static final RandomGenerator THREAD_LOCAL_RANDOM = () -> ThreadLocalRandom.current().nextLong();

    private enum Shape { FIXED, LINEAR, EXPONENTIAL }

    private static final Backoff NONE = new Backoff(Shape.FIXED, 0, 0, 1.0, 0, Jitter.none(), THREAD_LOCAL_RANDOM);

    private final Shape shape;
    private final long initialNanos;
    private final long incrementNanos;
    private final double multiplier;
    private final long maxNanos;
    private final Jitter jitter;
    private final RandomGenerator random;

    private Backoff(Shape shape, long initialNanos, long incrementNanos, double multiplier, long maxNanos,
                    Jitter jitter, RandomGenerator random) {
        this.shape = shape;
        this.initialNanos = initialNanos;
        this.incrementNanos = incrementNanos;
        this.multiplier = multiplier;
        this.maxNanos = maxNanos;
        this.jitter = jitter;
        this.random = random;
    }

    /** @return no delay at all: retries follow at once */
    public static Backoff none() {
        return NONE;
    }

    /**
     * @param delay the delay before every retry, zero or more
     * @return a fixed back-off
     * @throws IllegalArgumentException if {@code delay} is null, negative or over about 73 years
     */
    public static Backoff fixed(Duration delay) {
        long nanos = nanos(delay, "delay");
        return new Backoff(Shape.FIXED, nanos, 0, 1.0, nanos, Jitter.none(), THREAD_LOCAL_RANDOM);
    }

    /**
     * @param initial   the delay before the first retry, zero or more
     * @param increment added for each further retry, zero or more
     * @param max       the longest delay, at least {@code initial}
     * @return a linear back-off
     * @throws IllegalArgumentException if a duration is null or negative, or {@code max < initial}
     */
    public static Backoff linear(Duration initial, Duration increment, Duration max) {
        long initialNanos = nanos(initial, "initial");
        long incrementNanos = nanos(increment, "increment");
        return new Backoff(Shape.LINEAR, initialNanos, incrementNanos, 1.0, maxAtLeast(max, initial), Jitter.none(), THREAD_LOCAL_RANDOM);
    }

    /**
     * Returns an exponential back-off that doubles the delay for each retry.
     *
     * @param initial the delay before the first retry, zero or more
     * @param max     the longest delay, at least {@code initial}
     * @return an exponential back-off
     * @throws IllegalArgumentException if a duration is null or negative, or {@code max < initial}
     */
    public static Backoff exponential(Duration initial, Duration max) {
        return exponential(initial, 2.0, max);
    }

    /**
     * @param initial    the delay before the first retry, zero or more
     * @param multiplier the factor between consecutive delays, in [1, 1000]
     * @param max        the longest delay, at least {@code initial}
     * @return an exponential back-off
     * @throws IllegalArgumentException if a duration is null or negative, {@code max < initial}, or the
     *                                  multiplier is out of range
     */
    public static Backoff exponential(Duration initial, double multiplier, Duration max) {
        long initialNanos = nanos(initial, "initial");
        Checks.inRange(multiplier, 1.0, 1000.0, "multiplier");
        return new Backoff(Shape.EXPONENTIAL, initialNanos, 0, multiplier, maxAtLeast(max, initial), Jitter.none(), THREAD_LOCAL_RANDOM);
    }

    /**
     * @param jitter how to randomise the delays
     * @return a back-off like this one with the given jitter
     * @throws IllegalArgumentException if {@code jitter} is null, or decorrelated with a zero initial delay
     */
    public Backoff withJitter(Jitter jitter) {
        Checks.notNull(jitter, "jitter");
        if (jitter.kind == Jitter.Kind.DECORRELATED && initialNanos == 0) {
            throw new IllegalArgumentException("initial must be > 0 for decorrelated jitter (it is the lower bound of every delay), was 0");
        }
        return new Backoff(shape, initialNanos, incrementNanos, multiplier, maxNanos, jitter, random);
    }

    /**
     * @param random the random source for jitter, e.g. {@code new SplittableRandom(seed)} for a
     *               reproducible single-threaded test; must be thread-safe if retries run on several threads
     * @return a back-off like this one drawing from {@code random}
     * @throws IllegalArgumentException if {@code random} is null
     */
    public Backoff withRandom(RandomGenerator random) {
        return new Backoff(shape, initialNanos, incrementNanos, multiplier, maxNanos, jitter, Checks.notNull(random, "random"));
    }

    /** @return the jitter */
    public Jitter jitter() {
        return jitter;
    }

    /** @return the longest delay this back-off produces */
    public Duration max() {
        return Duration.ofNanos(maxNanos);
    }

    /**
     * Returns the un-jittered delay of a retry.
     *
     * @param retry the retry's number, 1 for the first retry
     * @return the delay in nanoseconds, at most {@link #max()}
     * @throws IllegalArgumentException if {@code retry < 1}
     */
    public long baseNanos(int retry) {
        Checks.atLeastOne(retry, "retry");
        switch (shape) {
            case LINEAR:
                long steps = retry - 1L;
                // Saturating: (n-1) * increment may overflow; anything past max is max anyway.
                if (incrementNanos != 0 && steps > (maxNanos - initialNanos) / incrementNanos) {
                    return maxNanos;
                }
                return initialNanos + steps * incrementNanos;
            case EXPONENTIAL:
                double grown = initialNanos * Math.pow(multiplier, retry - 1);
                return grown >= maxNanos ? maxNanos : (long) grown;
            default:
                return initialNanos;
        }
    }

    /**
     * Returns the delay before a retry, drawn according to the jitter. Allocation-free.
     *
     * @param retry               the retry's number, 1 for the first retry
     * @param previousDelayNanos  the previous retry's wait (only decorrelated jitter uses it; ignored for
     *                            the first retry); {@link Retry} passes the wait it actually made, which
     *                            is longer than this back-off's delay when a retry-after hint applied
     * @return the delay in nanoseconds, within [{@link #minDelayNanos}, {@link #maxDelayNanos}]
     * @throws IllegalArgumentException if {@code retry < 1}
     */
    public long delayNanos(int retry, long previousDelayNanos) {
        long low = minDelayNanos(retry, previousDelayNanos);
        long high = maxDelayNanos(retry, previousDelayNanos);
        return low == high ? low : random.nextLong(low, high + 1); // high <= 2^61, so high + 1 cannot overflow
    }

    /**
     * Returns the least delay {@link #delayNanos} can return for these arguments (the documented
     * lower bound of the jitter; see {@link Jitter}).
     *
     * @param retry              the retry's number, 1 for the first retry
     * @param previousDelayNanos the previous retry's delay (decorrelated jitter only)
     * @return the lower bound in nanoseconds
     * @throws IllegalArgumentException if {@code retry < 1}
     */
    public long minDelayNanos(int retry, long previousDelayNanos) {
        long base = baseNanos(retry);
        switch (jitter.kind) {
            case FULL:
                return 0L;
            case EQUAL:
                return base - base / 2;
            case DECORRELATED:
                return initialNanos;
            case PROPORTIONAL:
                return Math.max(0L, base - (long) (base * jitter.factor)); // base * 1.0 may round up above 2^53
            default:
                return base;
        }
    }

    /**
     * Returns the greatest delay {@link #delayNanos} can return for these arguments (the documented
     * upper bound of the jitter; see {@link Jitter}).
     *
     * @param retry              the retry's number, 1 for the first retry
     * @param previousDelayNanos the previous retry's delay (decorrelated jitter only)
     * @return the upper bound in nanoseconds
     * @throws IllegalArgumentException if {@code retry < 1}
     */
    public long maxDelayNanos(int retry, long previousDelayNanos) {
        long base = baseNanos(retry);
        switch (jitter.kind) {
            case DECORRELATED:
                long previous = retry == 1 ? initialNanos : Math.max(initialNanos, previousDelayNanos);
                // 3 * previous saturates at max (previous <= 2^61, so 3 * previous cannot overflow).
                return Math.max(initialNanos, Math.min(maxNanos, 3 * Math.min(previous, Checks.MAX_NANOS)));
            case PROPORTIONAL:
                return Math.min(maxNanos, base + (long) (base * jitter.factor));
            default:
                return base;
        }
    }

    private static long nanos(Duration value, String parameter) {
        return Checks.nonNegativeUpToMaxNanos(value, parameter);
    }

    private static long maxAtLeast(Duration max, Duration initial) {
        long maxNanos = nanos(max, "max");
        if (max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("max must be >= initial (" + initial + "), was " + max);
        }
        return maxNanos;
    }

    @Override
    public String toString() {
        String form;
        switch (shape) {
            case LINEAR:
                form = "linear " + Duration.ofNanos(initialNanos) + " + " + Duration.ofNanos(incrementNanos) + " per retry";
                break;
            case EXPONENTIAL:
                form = "exponential " + Duration.ofNanos(initialNanos) + " x" + multiplier;
                break;
            default:
                form = "fixed " + Duration.ofNanos(initialNanos);
        }
        return "Backoff[" + form + ", max " + Duration.ofNanos(maxNanos) + ", " + jitter + "]";
    }
}
