package dev.vigil.core;

/**
 * Encodes and decodes the {@code long} permits of the {@linkplain AdmissionPolicy admission protocol}.
 * A permit carries the <em>epoch</em> (generation) in which its call was admitted, in bits 32-62, and a
 * policy-specific 32-bit <em>slot</em> in bits 0-31 (a probe index, a partition, a priority). A
 * policy bumps its epoch on every state transition and ignores outcomes whose permit carries an older
 * epoch, so an outcome from before a transition never counts after it.
 *
 * <p>Valid permits are never negative, so {@link AdmissionPolicy#REJECTED} ({@code -1}) never collides
 * with one. Stateless and thread-safe.
 */
public final class Permits {
    /** The largest epoch; epochs wrap to 0 after it (see {@link #nextEpoch}). */
    public static final int MAX_EPOCH = Integer.MAX_VALUE;

    private Permits() {}

    /**
     * Builds a permit.
     *
     * @param epoch the admitting epoch, 0 to {@link #MAX_EPOCH}
     * @param slot  any policy-specific value
     * @return the permit, never negative
     * @throws IllegalArgumentException if {@code epoch} is negative
     */
    public static long of(int epoch, int slot) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be in [0, " + MAX_EPOCH + "], was " + epoch);
        }
        return ((long) epoch << 32) | (slot & 0xFFFF_FFFFL);
    }

    /**
     * @param permit a permit built by {@link #of}
     * @return its epoch
     */
    public static int epoch(long permit) {
        return (int) (permit >>> 32);
    }

    /**
     * @param permit a permit built by {@link #of}
     * @return its slot
     */
    public static int slot(long permit) {
        return (int) permit;
    }

    /**
     * @param epoch an epoch
     * @return the epoch after it, wrapping from {@link #MAX_EPOCH} to 0
     */
    public static int nextEpoch(int epoch) {
        return (epoch + 1) & MAX_EPOCH;
    }
}
