package dev.vigil.core;

import dev.vigil.core.health.Health;
import dev.vigil.core.internal.Checks;
import dev.vigil.core.metrics.MetricsSink;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A resilience policy: something that guards a call to something that can fail. Timeouts,
 * retries, fallbacks, circuit breakers, bulkheads and limiters are all policies, and
 * {@link Pipeline#of(Policy...)} composes any of them into one.
 *
 * <p>An implementation provides {@link #execute} (synchronous, on the caller's thread) and
 * {@link #callAsync} (asynchronous, over {@link CompletionStage}); every other way of calling is a
 * default method here, written once. The synchronous forms ({@code execute}, {@code call},
 * {@code get}, {@code run} and the {@code decorate...} wrappers) allocate nothing per call on their
 * own: they pass shared, non-capturing adapters to {@code execute}.
 *
 * <p>Policies are immutable and thread-safe: build one, share it across threads, call it
 * concurrently. Exceptions a policy raises itself are {@link VigilException}s (unchecked):
 * {@link RejectedException} when it refuses a call, {@link TimeoutExceededException} when a call
 * runs too long. The guarded call's own exceptions propagate unchanged.
 */
public interface Policy {

    /** @return the policy's name, used in exceptions, events, health reports and metric tags */
    String name();

    /** @return the kind of policy ({@code "timeout"}, {@code "fallback"}, {@code "circuitbreaker"}, ...) */
    String kind();

    /**
     * Runs {@code action.apply(argument)} under this policy on the calling thread. The general form:
     * {@link #call}, {@link #get}, {@link #run} and the {@code decorate...} methods all come here.
     *
     * @param action   the guarded call
     * @param argument its argument
     * @param <A>      the argument type
     * @param <T>      the result type
     * @return the call's result, or the policy's replacement for it (a fallback's, say)
     * @throws RejectedException         if the policy refused to run the call
     * @throws TimeoutExceededException  if a timeout fired
     * @throws Exception                 whatever the call threw
     */
    <A, T> T execute(CheckedFunction<? super A, ? extends T> action, A argument) throws Exception;

    /**
     * Runs an asynchronous call under this policy. The supplier is invoked on the calling thread
     * (so it sees the current {@link Deadline}); the policy observes the stage it returns.
     * Cancelling the returned future cancels the underlying one and releases whatever the call held.
     * Rejections and timeouts complete the returned future exceptionally; this method itself does not
     * throw for them.
     *
     * @param call starts the call and returns its stage; not null
     * @param <T>  the result type
     * @return a stage completed with the call's outcome, or the policy's replacement for it
     * @throws IllegalArgumentException if {@code call} is null
     */
    <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> call);

    /**
     * Returns the policy's health now. The default is always UP; stateful policies override it (an
     * open circuit is DOWN, a saturated limiter DEGRADED). Thread-safe and lock-free.
     *
     * @return the current health
     */
    default Health health() {
        return Health.up();
    }

    /**
     * Describes this policy's counters and gauges to {@code sink} (called once, when metrics are
     * bound). The default describes nothing.
     *
     * @param sink where to describe meters
     */
    default void describeMetrics(MetricsSink sink) {}

    /**
     * Runs {@code callable} under this policy. Allocation-free on its own.
     *
     * @param callable the guarded call, not null
     * @param <T>      the result type
     * @return the call's result (or its replacement)
     * @throws Exception as {@link #execute}
     */
    default <T> T call(Callable<? extends T> callable) throws Exception {
        Checks.notNull(callable, "callable");
        return execute(Invokers.callable(), callable);
    }

    /**
     * Runs {@code supplier} under this policy, for calls that throw no checked exception.
     * Allocation-free on its own.
     *
     * @param supplier the guarded call, not null
     * @param <T>      the result type
     * @return the call's result (or its replacement)
     * @throws RejectedException        if the policy refused to run the call
     * @throws TimeoutExceededException if a timeout fired
     * @throws java.lang.reflect.UndeclaredThrowableException if a checked exception surfaced anyway
     *     (e.g. an interrupted wait; the interrupt flag is then set again)
     */
    default <T> T get(Supplier<? extends T> supplier) {
        Checks.notNull(supplier, "supplier");
        try {
            return execute(Invokers.supplier(), supplier);
        } catch (Exception failure) {
            throw Invokers.unchecked(failure);
        }
    }

    /**
     * Runs {@code runnable} under this policy. Allocation-free on its own.
     *
     * @param runnable the guarded call, not null
     * @throws RejectedException        if the policy refused to run the call
     * @throws TimeoutExceededException if a timeout fired
     * @throws java.lang.reflect.UndeclaredThrowableException as {@link #get}
     */
    default void run(Runnable runnable) {
        Checks.notNull(runnable, "runnable");
        try {
            execute(Invokers.RUNNABLE, runnable);
        } catch (Exception failure) {
            throw Invokers.unchecked(failure);
        }
    }

    /**
     * Returns a {@link Callable} that runs {@code callable} under this policy each time it is called.
     *
     * @param callable the call to guard, not null
     * @param <T>      the result type
     * @return the guarded callable
     */
    default <T> Callable<T> decorateCallable(Callable<? extends T> callable) {
        Checks.notNull(callable, "callable");
        return () -> call(callable);
    }

    /**
     * Returns a {@link Supplier} that runs {@code supplier} under this policy each time it is called.
     *
     * @param supplier the call to guard, not null
     * @param <T>      the result type
     * @return the guarded supplier
     */
    default <T> Supplier<T> decorateSupplier(Supplier<? extends T> supplier) {
        Checks.notNull(supplier, "supplier");
        return () -> get(supplier);
    }

    /**
     * Returns a {@link Runnable} that runs {@code runnable} under this policy each time it is run.
     *
     * @param runnable the call to guard, not null
     * @return the guarded runnable
     */
    default Runnable decorateRunnable(Runnable runnable) {
        Checks.notNull(runnable, "runnable");
        return () -> run(runnable);
    }

    /**
     * Returns a {@link Function} that applies {@code function} under this policy each time it is
     * applied. The adapter is created once, here, so applying allocates nothing on its own.
     *
     * @param function the call to guard, not null
     * @param <A>      the argument type
     * @param <T>      the result type
     * @return the guarded function
     */
    default <A, T> Function<A, T> decorateFunction(Function<? super A, ? extends T> function) {
        Checks.notNull(function, "function");
        CheckedFunction<A, T> action = function::apply;
        return argument -> {
            try {
                return execute(action, argument);
            } catch (Exception failure) {
                throw Invokers.unchecked(failure);
            }
        };
    }

    /**
     * Returns a supplier of stages that runs {@code call} under this policy each time it is called.
     *
     * @param call the asynchronous call to guard, not null
     * @param <T>  the result type
     * @return the guarded asynchronous call
     */
    default <T> Supplier<CompletionStage<T>> decorateAsync(Supplier<? extends CompletionStage<T>> call) {
        Checks.notNull(call, "call");
        return () -> callAsync(call);
    }
}
