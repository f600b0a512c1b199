package dev.vigil.core.time;

import dev.vigil.core.internal.Checks;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link Ticker} that moves only when told to: virtual time for deterministic tests.
 *
 * <p>Thread-safe: readings and advances are atomic, and time never goes backwards. Usually driven
 * through a {@link ManualScheduler}, which advances this ticker and runs the tasks that fall due.
 */
public final class ManualTicker implements Ticker {
    private final AtomicLong nanos;

    /** Creates a ticker reading zero. */
    public ManualTicker() {
        this(0L);
    }

    /**
     * Creates a ticker with the given first reading.
     *
     * @param startNanos the first reading, any value
     */
    public ManualTicker(long startNanos) {
        this.nanos = new AtomicLong(startNanos);
    }

    @Override
    public long read() {
        return nanos.get();
    }

    /**
     * Moves time forward.
     *
     * @param amount how far, zero or more
     * @return the new reading
     * @throws IllegalArgumentException if {@code amount} is null or negative
     */
    public long advance(Duration amount) {
        Checks.nonNegative(amount, "amount");
        return advanceNanos(Checks.toNanosSaturated(amount));
    }

    /**
     * Moves time forward.
     *
     * @param amountNanos how far in nanoseconds, zero or more
     * @return the new reading
     * @throws IllegalArgumentException if {@code amountNanos} is negative
     */
    public long advanceNanos(long amountNanos) {
        if (amountNanos < 0) {
            throw new IllegalArgumentException("amountNanos must be >= 0, was " + amountNanos);
        }
        return nanos.addAndGet(amountNanos);
    }

    /**
     * Moves time forward to {@code targetNanos}, or leaves it if already there or later.
     *
     * @param targetNanos the reading to reach
     * @return the new reading
     */
    public long advanceTo(long targetNanos) {
        return nanos.accumulateAndGet(targetNanos, (current, target) -> target - current > 0 ? target : current);
    }

    @Override
    public String toString() {
        return "ManualTicker[" + nanos.get() + "ns]";
    }
}
