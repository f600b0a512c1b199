package dev.vigil.core;

/**
 * A function that may throw a checked exception: the general form of a guarded call
 * ({@link Policy#execute}), which lets every convenience ({@code call}, {@code get}, {@code run},
 * {@code decorate...}) reach a policy without allocating an adapter per call.
 *
 * @param <A> the argument type
 * @param <R> the result type
 */
@FunctionalInterface
public interface CheckedFunction<A, R> {

    /**
     * Applies the function.
     *
     * @param argument the argument
     * @return the result
     * @throws Exception whatever the function throws
     */
    R apply(A argument) throws Exception;
}
