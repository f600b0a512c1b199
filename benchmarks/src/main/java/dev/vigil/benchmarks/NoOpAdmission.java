package dev.vigil.benchmarks;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Outcome;
import dev.vigil.core.Permits;
import dev.vigil.core.RejectedException;

/**
 * An {@link AdmissionPolicy} that admits every call and keeps no state: the permit protocol with
 * nothing behind it. Benchmarks use it to measure what {@link dev.vigil.core.Pipeline} and the
 * {@link dev.vigil.core.Policy} conveniences cost on their own, apart from any real policy's
 * bookkeeping.
 *
 * <p>{@link #complete} and {@link #release} write nothing shared, so several benchmark threads calling
 * one instance do not contend on it; {@link #measuresLatency()} is false, so drivers skip the clock.
 * Immutable and thread-safe.
 */
final class NoOpAdmission implements AdmissionPolicy {
    private static final long PERMIT = Permits.of(0, 0);

    private final String name;

    NoOpAdmission(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "noop";
    }

    @Override
    public long tryAcquirePermit() {
        return PERMIT;
    }

    @Override
    public RejectedException rejection() {
        return new RejectedException(name, "never rejects", -1L);
    }

    @Override
    public void complete(long permit, Outcome outcome, long elapsedNanos) {
        // nothing to count
    }

    @Override
    public void release(long permit) {
        // nothing to free
    }

    @Override
    public boolean measuresLatency() {
        return false;
    }

    @Override
    public String toString() {
        return "NoOpAdmission[" + name + "]";
    }
}
