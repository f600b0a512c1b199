package dev.vigil.core;

import java.lang.reflect.UndeclaredThrowableException;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * The shared, non-capturing adapters through which {@link Policy}'s conveniences reach
 * {@link Policy#execute}, and exception plumbing. Because the adapters are singletons, a convenience
 * call allocates nothing, and a {@link Pipeline} can recognise them and pre-build its chain for them.
 * Stateless and thread-safe.
 */
final class Invokers {
    static final CheckedFunction<Callable<?>, Object> CALLABLE = Callable::call;
    static final CheckedFunction<Supplier<?>, Object> SUPPLIER = Supplier::get;
    static final CheckedFunction<Runnable, Object> RUNNABLE = runnable -> {
        runnable.run();
        return null;
    };

    private Invokers() {}

    @SuppressWarnings({"unchecked", "rawtypes"})
    static <T> CheckedFunction<Callable<? extends T>, T> callable() {
        return (CheckedFunction) CALLABLE;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static <T> CheckedFunction<Supplier<? extends T>, T> supplier() {
        return (CheckedFunction) SUPPLIER;
    }

    /**
     * Converts what {@link Policy#execute} threw into an unchecked exception for the unchecked
     * conveniences: runtime exceptions and errors pass through as they are; a checked exception (only
     * possible when a policy or a sneaky call throws one) is wrapped in an
     * {@link UndeclaredThrowableException}, re-asserting the interrupt flag for an
     * {@link InterruptedException}.
     */
    static RuntimeException unchecked(Throwable failure) {
        if (failure instanceof RuntimeException) {
            return (RuntimeException) failure;
        }
        if (failure instanceof Error) {
            throw (Error) failure;
        }
        if (failure instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        return new UndeclaredThrowableException(failure, "checked exception from a guarded call: " + failure);
    }

    /** Throws {@code failure} as it is, checked or not, without wrapping. */
    @SuppressWarnings("unchecked")
    static <E extends Throwable> RuntimeException sneakyThrow(Throwable failure) throws E {
        throw (E) failure;
    }
}
