package dev.vigil.core;

import dev.vigil.core.time.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Drives the admission protocol for one {@link AdmissionPolicy}, around either the call itself or the
 * rest of a {@link Pipeline}. A pipeline of several admission policies nests these calls (one stage
 * per policy), so each policy's permit lives in a local variable of its own stack frame: the
 * synchronous path allocates nothing, whatever the number of policies.
 *
 * <p>Every permit is ended exactly once: {@link AdmissionPolicy#onResult} after the call (which
 * releases instead of completing for interrupts and classifier failures), or
 * {@link AdmissionPolicy#release} when an inner stage rejected the call or, asynchronously, when the
 * consumer cancelled the future first. Stateless and thread-safe.
 */
final class Admissions {
    private Admissions() {}

    static <A, T> T execute(AdmissionPolicy policy, Stage next, CheckedFunction<? super A, ? extends T> action, A argument)
            throws Exception {
        long permit = policy.acquirePermit();
        if (permit == AdmissionPolicy.REJECTED) {
            throw rejection(policy);
        }
        Ticker ticker = policy.measuresLatency() ? policy.ticker() : null;
        long start = ticker == null ? 0L : ticker.read();
        T result;
        try {
            result = next == null ? action.apply(argument) : next.run(action, argument);
        } catch (RejectedException innerRejection) {
            // An inner policy of this pipeline refused the call before it started: that says nothing
            // about the dependency, so this permit is released rather than counted. A rejection the
            // call itself threw (from some other service's policy) is an ordinary failure.
            if (next != null && next.rejectedBelow(innerRejection)) {
                policy.release(permit);
            } else {
                policy.onResult(permit, null, innerRejection, elapsed(ticker, start));
            }
            throw innerRejection;
        } catch (Throwable failure) {
            policy.onResult(permit, null, failure, elapsed(ticker, start));
            throw failure;
        }
        policy.onResult(permit, result, null, elapsed(ticker, start));
        return result;
    }

    static <T> CompletionStage<T> callAsync(AdmissionPolicy policy, Stage next, Supplier<? extends CompletionStage<T>> call) {
        if (call == null) {
            throw new IllegalArgumentException("call must not be null");
        }
        // Asynchronous callers (event loops among them) are never parked: no waiting for a permit.
        long permit = policy.tryAcquirePermit();
        if (permit == AdmissionPolicy.REJECTED) {
            return LinkedFuture.failed(rejection(policy));
        }
        Ticker ticker = policy.measuresLatency() ? policy.ticker() : null;
        long start = ticker == null ? 0L : ticker.read();
        CompletionStage<T> stage;
        try {
            stage = next == null ? call.get() : next.runAsync(call);
            if (stage == null) {
                throw new IllegalStateException("the asynchronous call returned a null stage");
            }
        } catch (Throwable failure) {
            try {
                policy.onResult(permit, null, failure, elapsed(ticker, start));
            } catch (Throwable classifierFailure) {
                return LinkedFuture.failed(classifierFailure);
            }
            return LinkedFuture.failed(failure);
        }
        PermitFuture<T> future = new PermitFuture<>(policy, permit, ticker, start, next);
        future.link(stage);
        return future;
    }

    private static RejectedException rejection(AdmissionPolicy policy) {
        RejectedException rejection = policy.rejection();
        if (rejection == null) {
            rejection = new RejectedException(policy.name(), policy.kind() + " '" + policy.name() + "' rejected the call", -1L);
        }
        rejection.rejectedBy = policy; // plain write: read by outer stages on this thread, or after the future's completion
        return rejection;
    }

    private static long elapsed(Ticker ticker, long start) {
        return ticker == null ? 0L : ticker.read() - start;
    }

    /**
     * Holds one asynchronous call's permit until the call completes or the consumer cancels,
     * whichever comes first: {@code ended} flips 0 to 1 by CAS exactly once, and only the winner ends
     * the permit.
     */
    static final class PermitFuture<T> extends LinkedFuture<T> {
        private static final VarHandle ENDED;

        static {
            try {
                ENDED = MethodHandles.lookup().findVarHandle(PermitFuture.class, "ended", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final AdmissionPolicy policy;
        private final long permit;
        private final Ticker ticker;
        private final long start;
        private final Stage next;
        @SuppressWarnings("unused")
        private volatile int ended;

        PermitFuture(AdmissionPolicy policy, long permit, Ticker ticker, long start, Stage next) {
            this.policy = policy;
            this.permit = permit;
            this.ticker = ticker;
            this.start = start;
            this.next = next;
        }

        private boolean claim() {
            return ENDED.compareAndSet(this, 0, 1);
        }

        @Override
        void onSourceCompleted(T value, Throwable failure) {
            if (claim()) {
                Throwable cause = failure == null ? null : unwrap(failure);
                try {
                    if (next != null && cause instanceof RejectedException
                            && next.rejectedBelow((RejectedException) cause)) {
                        policy.release(permit);
                    } else {
                        policy.onResult(permit, value, cause, elapsed(ticker, start));
                    }
                } catch (Throwable classifierFailure) {
                    completeExceptionally(classifierFailure);
                    return;
                }
            }
            if (failure == null) {
                complete(value);
            } else {
                completeExceptionally(failure);
            }
        }

        @Override
        void onCancelled() {
            if (claim()) {
                policy.release(permit);
            }
        }
    }
}
