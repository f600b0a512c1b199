package dev.vigil.core;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test fixture: admits calls (or rejects every {@code n}-th one) and counts how permits end, with
 * atomic counters only, so it is cheap enough for stress and Lincheck runs. Thread-safe.
 */
class CountingAdmission extends NoOpAdmission {
    final AtomicInteger admitted = new AtomicInteger();
    final AtomicInteger completed = new AtomicInteger();
    final AtomicInteger released = new AtomicInteger();
    private final AtomicInteger attempts = new AtomicInteger();
    private final int rejectEvery;

    /** Admits every call. */
    CountingAdmission(String name) {
        this(name, Integer.MAX_VALUE);
    }

    /** Rejects every {@code rejectEvery}-th call. */
    CountingAdmission(String name, int rejectEvery) {
        super(name);
        this.rejectEvery = rejectEvery;
    }

    @Override
    public long tryAcquirePermit() {
        if (attempts.incrementAndGet() % rejectEvery == 0) {
            return REJECTED;
        }
        admitted.incrementAndGet();
        return 0L;
    }

    @Override
    public void complete(long permit, Outcome outcome, long elapsedNanos) {
        completed.incrementAndGet();
    }

    @Override
    public void release(long permit) {
        released.incrementAndGet();
    }

    /** Permits admitted and not yet ended (a snapshot). */
    int inFlight() {
        return admitted.get() - completed.get() - released.get();
    }
}
