package dev.vigil.bulkhead;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Classifier;
import dev.vigil.core.Outcome;
import dev.vigil.core.RejectedException;
import dev.vigil.core.health.Health;
import dev.vigil.core.time.Ticker;

/**
 * An {@link AdaptiveLimiter} seen with one criticality and partition: admission goes to the limiter
 * with them, everything else is the limiter's. Immutable; created once per combination by the limiter.
 */
final class LimiterView implements AdmissionPolicy {
    private final AdaptiveLimiter limiter;
    private final Criticality criticality;
    private final int partition;

    LimiterView(AdaptiveLimiter limiter, Criticality criticality, int partition) {
        this.limiter = limiter;
        this.criticality = criticality;
        this.partition = partition;
    }

    @Override
    public String name() {
        return limiter.name();
    }

    @Override
    public String kind() {
        return limiter.kind();
    }

    @Override
    public long tryAcquirePermit() {
        return limiter.admit(criticality.ordinal(), partition);
    }

    @Override
    public long acquirePermit() throws InterruptedException {
        return limiter.admitWaiting(criticality.ordinal(), partition);
    }

    @Override
    public RejectedException rejection() {
        return limiter.rejection(criticality.ordinal());
    }

    @Override
    public void complete(long permit, Outcome outcome, long elapsedNanos) {
        limiter.complete(permit, outcome, elapsedNanos);
    }

    @Override
    public void release(long permit) {
        limiter.release(permit);
    }

    @Override
    public Classifier classifier() {
        return limiter.classifier();
    }

    @Override
    public Ticker ticker() {
        return limiter.ticker();
    }

    @Override
    public boolean measuresLatency() {
        return limiter.measuresLatency();
    }

    @Override
    public Health health() {
        return limiter.health();
    }

    @Override
    public String toString() {
        return "AdaptiveLimiter[" + limiter.name() + " as " + criticality + (partition == 0 ? "" : ", partition #" + partition) + "]";
    }
}
