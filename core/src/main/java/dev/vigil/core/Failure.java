package dev.vigil.core;

/**
 * A call that a {@link Classifier} classified as a {@link Outcome#FAILURE}: either it threw
 * ({@link #exception()} non-null) or it returned a result that counts as a failure
 * ({@link #exception()} null, {@link #result()} the result, e.g. an HTTP 503 response). Given to
 * fallback functions. Immutable; as thread-safe as the result it holds.
 *
 * @param result    the failed result, or null when the call threw
 * @param exception the exception the call threw, or null when a result was classified as a failure
 */
public record Failure(Object result, Throwable exception) {

    /** @return true if the call threw an exception */
    public boolean isException() {
        return exception != null;
    }
}
