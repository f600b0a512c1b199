package dev.vigil.core.time;

/** {@link Ticker} over {@link System#nanoTime()}; stateless and thread-safe. */
enum SystemTicker implements Ticker {
    INSTANCE;

    @Override
    public long read() {
        return System.nanoTime();
    }
}
