package dev.vigil.core.internal;

import java.time.Duration;

/**
 * Argument checks shared by every Vigil builder. Each failure is an {@link IllegalArgumentException}
 * whose message names the parameter and the allowed range, so bad configuration fails at build time
 * with a message a user can act on, never with a silent clamp.
 *
 * <p>Stateless and thread-safe.
 */
public final class Checks {
    /**
     * The longest duration a policy accepts, in nanoseconds: 2^61 - 1 (about 73 years), so that adding
     * it to any clock reading never overflows.
     */
    public static final long MAX_NANOS = Long.MAX_VALUE >> 2;
    /** {@link #MAX_NANOS} as a duration. */
    public static final Duration MAX_DURATION = Duration.ofNanos(MAX_NANOS);

    private Checks() {}

    /** Returns {@code value}; throws if it is null. */
    public static <T> T notNull(T value, String parameter) {
        if (value == null) {
            throw new IllegalArgumentException(parameter + " must not be null");
        }
        return value;
    }

    /** Returns {@code value}; throws if it is null or blank. */
    public static String notBlank(String value, String parameter) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(parameter + " must not be null or blank, was " + quote(value));
        }
        return value;
    }

    /** Returns {@code value}; throws unless it is strictly positive. */
    public static Duration positive(Duration value, String parameter) {
        notNull(value, parameter);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(parameter + " must be > 0, was " + value);
        }
        return value;
    }

    /** Returns {@code value}; throws if it is negative. */
    public static Duration nonNegative(Duration value, String parameter) {
        notNull(value, parameter);
        if (value.isNegative()) {
            throw new IllegalArgumentException(parameter + " must be >= 0, was " + value);
        }
        return value;
    }

    /** Returns {@code value}; throws unless {@code 0 < value <= MAX_DURATION}. */
    public static Duration positiveUpToMax(Duration value, String parameter) {
        positive(value, parameter);
        if (value.compareTo(MAX_DURATION) > 0) {
            throw new IllegalArgumentException(parameter + " must be <= " + MAX_DURATION + " (about 73 years), was " + value);
        }
        return value;
    }

    /** Returns {@code value} in nanoseconds; throws unless {@code 0 <= value <= MAX_DURATION}. */
    public static long nonNegativeUpToMaxNanos(Duration value, String parameter) {
        return inRange(value, Duration.ZERO, MAX_DURATION, parameter).toNanos();
    }

    /** Returns the duration in nanoseconds, saturating at {@link Long#MAX_VALUE} for huge durations. */
    public static long toNanosSaturated(Duration value) {
        try {
            return value.toNanos();
        } catch (ArithmeticException overflow) {
            return value.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }

    /** Returns {@code value}; throws unless {@code min <= value <= max}. */
    public static int inRange(int value, int min, int max, String parameter) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(parameter + " must be in [" + min + ", " + max + "], was " + value);
        }
        return value;
    }

    /** Returns {@code value}; throws unless {@code min <= value <= max} (NaN is out of range). */
    public static double inRange(double value, double min, double max, String parameter) {
        if (!(value >= min && value <= max)) {
            throw new IllegalArgumentException(parameter + " must be in [" + min + ", " + max + "], was " + value);
        }
        return value;
    }

    /** Returns {@code value}; throws unless {@code min < value < max} (NaN is out of range). */
    public static double inOpenRange(double value, double min, double max, String parameter) {
        if (!(value > min && value < max)) {
            throw new IllegalArgumentException(parameter + " must be in (" + min + ", " + max + "), was " + value);
        }
        return value;
    }

    /** Returns {@code value}; throws unless {@code min < value <= max} (NaN is out of range). */
    public static double inLeftOpenRange(double value, double min, double max, String parameter) {
        if (!(value > min && value <= max)) {
            throw new IllegalArgumentException(parameter + " must be in (" + min + ", " + max + "], was " + value);
        }
        return value;
    }

    /** Returns {@code value}; throws unless {@code min <= value <= max}. */
    public static Duration inRange(Duration value, Duration min, Duration max, String parameter) {
        notNull(value, parameter);
        if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            throw new IllegalArgumentException(parameter + " must be in [" + min + ", " + max + "], was " + value);
        }
        return value;
    }

    /** Returns {@code value}; throws unless {@code value >= 1}. */
    public static int atLeastOne(int value, String parameter) {
        if (value < 1) {
            throw new IllegalArgumentException(parameter + " must be >= 1, was " + value);
        }
        return value;
    }

    /** Returns {@code values}; throws if the array is null or any element is null. */
    public static <T> T[] noNullElements(T[] values, String parameter) {
        notNull(values, parameter);
        for (int i = 0; i < values.length; i++) {
            if (values[i] == null) {
                throw new IllegalArgumentException(parameter + "[" + i + "] must not be null");
            }
        }
        return values;
    }

    private static String quote(String value) {
        return value == null ? "null" : '"' + value + '"';
    }
}
