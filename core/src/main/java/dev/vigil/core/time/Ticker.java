package dev.vigil.core.time;

/**
 * A source of monotonic time in nanoseconds, with an arbitrary origin. Every Vigil policy reads
 * time only through its {@code Ticker}, so tests can substitute a {@link ManualTicker}.
 *
 * <p>Implementations must be thread-safe and should be cheap: policies read the ticker at most
 * once at admission and once at completion. Only differences between two readings of the same
 * ticker are meaningful.
 */
@FunctionalInterface
public interface Ticker {

    /**
     * Returns the current reading in nanoseconds. Never throws.
     *
     * @return nanoseconds since an arbitrary, fixed origin
     */
    long read();

    /**
     * Returns the ticker backed by {@link System#nanoTime()}: the only place in Vigil that reads
     * the system clock.
     *
     * @return the shared system ticker
     */
    static Ticker system() {
        return SystemTicker.INSTANCE;
    }
}
