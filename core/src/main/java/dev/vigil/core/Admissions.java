package dev.vigil.core;

import dev.vigil.core.time.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
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
        } catch (Throwable failure) {
            end(policy, permit, next, null, failure, ticker, start);
            throw failure;
        }
        end(policy, permit, next, result, null, ticker, start);
        return result;
    }

    static <T> CompletionStage<T> callAsync(AdmissionPolicy policy, Stage next, Supplier<? extends CompletionStage<T>> call) {
        if (call == null) {
            throw new IllegalArgumentException("call must not be null");
        }
        // Asynchronous callers (event loops among them) are never parked: no waiting for a permit.
        long permit = policy.tryAcquirePermit();
        if (permit == AdmissionPolicy.REJECTED) {
            return CompletableFuture.failedFuture(rejection(policy));
        }
        Ticker ticker = policy.measuresLatency() ? policy.ticker() : null;
        long start = ticker == null ? 0L : ticker.read();
        // A call that could not start arrives as a failed stage and ends the permit like any failure.
        CompletionStage<T> stage = next == null ? LinkedFuture.start(call) : next.runAsync(call);
        PermitFuture<T> future = new PermitFuture<>(policy, permit, ticker, start, next);
        future.link(stage);
        return future;
    }

    /**
     * Ends a permit after its call, sync or async. If an inner policy of this pipeline refused the
     * call before it started, that says nothing about the dependency, so the permit is released
     * rather than counted; a rejection the call itself threw (from some other service's policy) is an
     * ordinary failure. Everything else is classified by {@link AdmissionPolicy#onResult}.
     */
    private static void end(AdmissionPolicy policy, long permit, Stage next, Object result, Throwable failure,
            Ticker ticker, long start) {
        if (next != null && failure instanceof RejectedException && next.rejectedBelow((RejectedException) failure)) {
            policy.release(permit);
        } else {
            policy.onResult(permit, result, failure, elapsed(ticker, start));
        }
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

        /** A classifier that throws in {@code end} completes this future with its exception (see LinkedFuture). */
        @Override
        void onSourceCompleted(T value, Throwable failure) {
            if (claim()) {
                end(policy, permit, next, value, failure == null ? null : unwrap(failure), ticker, start);
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
