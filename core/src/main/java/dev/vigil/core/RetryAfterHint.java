package dev.vigil.core;

/**
 * Reads how long the other side asked us to wait from a failed attempt: a {@link RejectedException}'s
 * {@link RejectedException#retryAfterNanos() retry-after}, an HTTP 429 or 503 response's
 * {@code Retry-After} header, a gRPC pushback. A {@link Retry} never retries sooner than the hint, and
 * gives up when the hint is longer than the time it has left.
 *
 * <pre>{@code
 * RetryAfterHint fromResponse = (result, failure) -> {
 *     if (!(result instanceof HttpResponse<?> response) || response.statusCode() != 429) {
 *         return -1;
 *     }
 *     String value = response.headers().firstValue("Retry-After").orElse("");
 *     return value.matches("\d{1,9}") ? Long.parseLong(value) * 1_000_000_000L : -1; // delay-seconds form only
 * };
 * Retry retry = Retry.builder()
 *     .retryOn(Classifier.builder().failOnResult(HttpResponse.class, r -> r.statusCode() == 429).build()) // read only for retried outcomes
 *     .retryAfter(RetryAfterHint.rejections().or(fromResponse))
 *     .build();
 * }</pre>
 *
 * <p>A hint is read only for outcomes the retry would retry. Implementations must be thread-safe,
 * should not allocate on the common path (they run for every failed attempt) and should not throw: an
 * exception from a reader ends the call with it, the attempt's failure attached as suppressed.
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
