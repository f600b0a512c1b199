package dev.vigil.core;

/**
 * Reads how long the other side asked us to wait from a failed attempt: a {@link RejectedException}'s
 * {@link RejectedException#retryAfterNanos() retry-after}, an HTTP 429 or 503 response's
 * {@code Retry-After} header, a gRPC pushback. A {@link Retry} never retries sooner than the hint, and
 * gives up when the hint is longer than the time it has left.
 *
 * <pre>{@code
 * RetryAfterHint fromResponse = (result, failure) ->
 *     result instanceof HttpResponse<?> response && response.statusCode() == 429
 *         ? response.headers().firstValueAsLong("Retry-After").orElse(-1) * 1_000_000_000L : -1;
 * Retry retry = Retry.builder().retryAfter(RetryAfterHint.rejections().or(fromResponse)).build();
 * }</pre>
 *
 * <p>Implementations must be thread-safe and should not allocate on the common path (they run for
 * every failed attempt).
 */
@FunctionalInterface
public interface RetryAfterHint {

    /**
     * Returns the wait the failed attempt asks for.
     *
     * @param result  the attempt's result, or null if it threw
     * @param failure what the attempt threw, or null if it returned a result classified as a failure
     * @return the wait in nanoseconds, or a negative value if the attempt carries no hint
     */
    long retryAfterNanos(Object result, Throwable failure);

    /**
     * Returns the hint of {@link RejectedException}s: the retry-after of the failure or of the first of
     * its causes that is a {@code RejectedException} with a known retry-after. The default of
     * {@link Retry}.
     *
     * @return the hint reader for rejections
     */
    static RetryAfterHint rejections() {
        return RetryAfterHints.REJECTIONS;
    }

    /** @return a hint reader that never finds a hint */
    static RetryAfterHint none() {
        return RetryAfterHints.NONE;
    }

    /**
     * Combines two hint readers: the longer of their hints applies.
     *
     * @param other another reader
     * @return the combined reader
     * @throws IllegalArgumentException if {@code other} is null
     */
    default RetryAfterHint or(RetryAfterHint other) {
        dev.vigil.core.internal.Checks.notNull(other, "other");
        return (result, failure) -> Math.max(retryAfterNanos(result, failure), other.retryAfterNanos(result, failure));
    }
}

/** The built-in hint readers. */
final class RetryAfterHints {
    static final RetryAfterHint NONE = (result, failure) -> -1L;

    static final RetryAfterHint REJECTIONS = (result, failure) -> {
        int depth = 0;
        // Bounded walk: a cause chain can be cyclic.
        for (Throwable current = failure; current != null && depth < 16; current = current.getCause(), depth++) {
            if (current instanceof RejectedException) {
                long hint = ((RejectedException) current).retryAfterNanos();
                if (hint >= 0) {
                    return hint;
                }
            }
        }
        return -1L;
    };

    private RetryAfterHints() {}
}
