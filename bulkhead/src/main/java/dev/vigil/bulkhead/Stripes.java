package dev.vigil.bulkhead;

/**
 * Where a thread works in a striped structure ({@link PermitPool}, {@link SampleWindow}): its
 * <em>home</em> stripe, from its thread id. Thread ids are handed out in sequence, so a pool's
 * threads (or a burst of virtual threads) created together land on different stripes up to the
 * stripe count; a thread always returns to the same stripe, so a call that acquires and releases on
 * one thread touches one cache line. Stateless and thread-safe.
 */
final class Stripes {
    /** Longs between two stripes' words: 128 bytes, two cache lines, so adjacent-line prefetch does not couple them. */
    static final int PAD = 16;
    private static final int MAX_STRIPES = 64;

    private Stripes() {}

    /**
     * @param capacity how many units will be spread over the stripes (at least 1)
     * @return a power of two: twice the processors, at most {@code capacity}'s highest one-bit and 64
     */
    static int count(int capacity) {
        int byCpus = Integer.highestOneBit(Math.max(1, Runtime.getRuntime().availableProcessors()) * 2 - 1) << 1;
        return Math.max(1, Math.min(Math.min(byCpus, MAX_STRIPES), Integer.highestOneBit(capacity)));
    }

    /** @return the calling thread's home stripe for a power-of-two stripe count {@code mask + 1} */
    @SuppressWarnings("deprecation") // Thread.getId: threadId() is Java 19+, and this library targets 17
    static int home(int mask) {
        return (int) Thread.currentThread().getId() & mask;
    }

    /** @return the array index of stripe {@code stripe}'s word, with a pad before the first and after the last */
    static int slot(int stripe) {
        return (stripe + 1) * PAD;
    }

    /** @return the array length for {@code stripes} padded words */
    static int length(int stripes) {
        return (stripes + 2) * PAD;
    }
}
