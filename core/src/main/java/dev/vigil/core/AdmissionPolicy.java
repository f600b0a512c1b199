package dev.vigil.core;

import dev.vigil.core.time.Ticker;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * A policy that admits or rejects calls (circuit breaker, bulkhead, adaptive limiter, rate limiter,
 * throttle), with an allocation-free protocol that {@link Pipeline} drives directly and that users
 * can drive by hand, around an event-loop handler or an HTTP interceptor, without lambdas:
 *
 * <pre>{@code
 * long permit = breaker.tryAcquirePermit();
 * if (permit == AdmissionPolicy.REJECTED) {
 *     throw breaker.rejection();                 // or answer 503 with rejection().retryAfter()
 * }
 * long start = ticker.read();
 * Response response;
 * try {
 *     response = send(request);
 * } catch (Throwable failure) {                 // every exit ends the permit, exactly once
 *     breaker.onResult(permit, null, failure, ticker.read() - start);
 *     throw failure;
 * }
 * breaker.onResult(permit, response, null, ticker.read() - start);
 * return response;
 * // and if the call is abandoned before it completes: breaker.release(permit);
 * }</pre>
 *
 * <p><b>Contract.</b> Every permit obtained must end exactly once, by {@link #complete} (the call ran to
 * an outcome) or {@link #release} (it was cancelled or interrupted, or an inner policy rejected it,
 * so it says nothing about the dependency). A permit carries the epoch in which it was admitted (see
 * {@link Permits}); an implementation must ignore outcomes of permits from an earlier epoch for its
 * statistics while still freeing whatever capacity they held.
 *
 * <p>Implementations are thread-safe, and their {@code tryAcquirePermit}, {@code complete} and
 * {@code release} are lock-free and allocation-free.
 */
public interface AdmissionPolicy extends Policy {

    /** Returned by the acquire methods when the call is not admitted. Never a valid permit. */
    long REJECTED = -1L;

    /**
     * Tries to admit a call without waiting.
     *
     * @return a permit ({@code >= 0}), or {@link #REJECTED}
     */
    long tryAcquirePermit();

    /**
     * Admits a call, waiting as long as the policy is configured to (a bulkhead's max wait, a rate
     * limiter's timeout); most policies never wait and return {@link #tryAcquirePermit()}. Waiting
     * parks the thread without pinning a virtual thread.
     *
     * @return a permit ({@code >= 0}), or {@link #REJECTED}
     * @throws InterruptedException if interrupted while waiting; no permit is then held
     */
    default long acquirePermit() throws InterruptedException {
        return tryAcquirePermit();
    }

    /**
     * Describes the current reason for rejecting calls as an exception, with a retry-after hint when
     * the policy knows one. Called after an acquire returned {@link #REJECTED}; allocates.
     *
     * @return a new rejection, never null
     */
    RejectedException rejection();

    /**
     * Ends a permit whose call ran to an outcome.
     *
     * @param permit       a permit from an acquire method, not yet ended
     * @param outcome      how the call counts, not null
     * @param elapsedNanos the call's duration by {@link #ticker()}, or 0 if
     *                     {@link #measuresLatency()} is false and no one measured it
     */
    void complete(long permit, Outcome outcome, long elapsedNanos);

    /**
     * Ends a permit whose call did not run to an outcome (cancelled, interrupted, rejected by an
     * inner policy): frees its capacity without counting it.
     *
     * @param permit a permit from an acquire method, not yet ended
     */
    void release(long permit);

    /** @return the classifier that turns this policy's call results into outcomes; {@link Classifier#defaults()} unless overridden */
    default Classifier classifier() {
        return Classifier.defaults();
    }

    /** @return the ticker this policy measures time with; {@link Ticker#system()} unless overridden */
    default Ticker ticker() {
        return Ticker.system();
    }

    /**
     * Whether {@link #complete} needs a real {@code elapsedNanos} (a breaker's slow-call rate, a
     * limiter's latency samples). When false, drivers skip reading the clock and pass 0.
     *
     * @return true if elapsed time is used; the default
     */
    default boolean measuresLatency() {
        return true;
    }

    /**
     * Classifies a call's result with {@link #classifier()} and ends its permit: {@link #complete}
     * with the outcome, or {@link #release} when the call was interrupted
     * ({@code failure instanceof InterruptedException}). If the classifier throws, the permit is
     * released and the classifier's exception propagates, with {@code failure} added to it as
     * suppressed. Either way the permit is ended exactly once.
     *
     * @param permit       a permit from an acquire method, not yet ended
     * @param result       the call's result, if it returned
     * @param failure      the call's exception, or null if it returned
     * @param elapsedNanos the call's duration, as for {@link #complete}
     */
    default void onResult(long permit, Object result, Throwable failure, long elapsedNanos) {
        if (failure instanceof InterruptedException) {
            release(permit);
            return;
        }
        Outcome outcome;
        try {
            outcome = Callbacks.classify(classifier(), result, failure, name());
        } catch (Throwable classifierFailure) { // the call's failure is attached already
            release(permit);
            throw Invokers.sneakyThrow(classifierFailure);
        }
        complete(permit, outcome, elapsedNanos);
    }

    /**
     * Runs the call under this policy alone: acquire, run, {@link #onResult}, or throw
     * {@link #rejection()}. Allocation-free on the success path.
     */
    @Override
    default <A, T> T execute(CheckedFunction<? super A, ? extends T> action, A argument) throws Exception {
        return Admissions.execute(this, null, action, argument);
    }

    /**
     * Runs the asynchronous call under this policy alone: acquire without waiting
     * ({@link #tryAcquirePermit()}: an asynchronous caller is never parked), start, end the permit when
     * the stage completes, or release it when the returned future is cancelled first.
     */
    @Override
    default <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> call) {
        return Admissions.callAsync(this, null, call);
    }
}
