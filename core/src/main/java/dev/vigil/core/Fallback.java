package dev.vigil.core;

import dev.vigil.core.event.EventPublisher;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.event.PolicyEventListener;
import dev.vigil.core.internal.Checks;
import dev.vigil.core.metrics.MetricsSink;
import dev.vigil.core.time.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Replaces a failed call's outcome with an alternative: a fixed value, a function of the
 * {@link Failure}, or another call. A {@link Classifier} decides what counts as failed: by default
 * every exception (including rejections and timeouts, so an open circuit falls back); with a
 * classifier, also results such as an HTTP 503.
 *
 * <p>What is never replaced: {@link Error}s, and {@link InterruptedException} (swallowing an interrupt
 * would hide a cancellation; it propagates with the interrupt intact). If the fallback itself throws,
 * its exception propagates with the original failure attached as suppressed.
 *
 * <p>Typed by the result it supplies: use a {@code Fallback<T>} only on calls whose result type is
 * {@code T} or a supertype of it. The compiler cannot check this through {@link Policy}'s generic
 * methods, so a mismatch surfaces as a {@link ClassCastException} at the call site.
 *
 * <p>Works synchronously and asynchronously (the fallback function then runs on the thread that
 * completes the failed stage). Immutable and thread-safe if the fallback function is.
 *
 * <pre>{@code
 * Fallback<String> cached = Fallback.ofFunction(failure -> cache.lastKnown());
 * String value = Pipeline.of(cached, timeout).call(() -> fetch());
 * }</pre>
 *
 * @param <T> the type of the replacement result
 */
public final class Fallback<T> implements Policy {
    private final String name;
    private final Classifier classifier;
    private final CheckedFunction<? super Failure, ? extends T> function;
    private final Ticker ticker;
    private final EventPublisher events;
    // Only the rare paths are counted: a counter on the success path would cost more than the
    // fallback's own work there (a classification and a return).
    private final LongAdder fallbacks = new LongAdder();
    private final LongAdder failures = new LongAdder();

    private Fallback(Builder<T> builder) {
        this.name = builder.name;
        this.classifier = builder.classifier;
        this.function = builder.function;
        this.ticker = builder.ticker;
        this.events = EventPublisher.of(builder.listeners);
    }

    /**
     * Returns a fallback named {@code "fallback"} that replaces any failed call's outcome with {@code value}.
     *
     * @param value the replacement (may be null)
     * @param <T>   the result type
     * @return the fallback
     */
    public static <T> Fallback<T> ofValue(T value) {
        return Fallback.<T>builder().value(value).build();
    }

    /**
     * Returns a fallback named {@code "fallback"} that computes the replacement from the failure.
     *
     * @param function computes the replacement; not null
     * @param <T>      the result type
     * @return the fallback
     * @throws IllegalArgumentException if {@code function} is null
     */
    public static <T> Fallback<T> ofFunction(CheckedFunction<? super Failure, ? extends T> function) {
        return Fallback.<T>builder().function(function).build();
    }

    /**
     * Starts a builder; one of {@code value}, {@code function} or {@code call} must be given.
     *
     * @param <T> the result type
     * @return a new builder
     */
    public static <T> Builder<T> builder() {
        return new Builder<>();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "fallback";
    }

    /** @return the classifier deciding which outcomes are replaced */
    public Classifier classifier() {
        return classifier;
    }

    @Override
    public <A, R> R execute(CheckedFunction<? super A, ? extends R> action, A argument) throws Exception {
        Checks.notNull(action, "action");
        R result;
        try {
            result = action.apply(argument);
        } catch (Exception failure) {
            if (failure instanceof InterruptedException || classify(null, failure) != Outcome.FAILURE) {
                failures.increment();
                throw failure;
            }
            return replace(null, failure);
        }
        if (classify(result, null) == Outcome.FAILURE) {
            return replace(result, null);
        }
        return result;
    }

    /** Classifies; a classifier that throws propagates with the call's own exception suppressed in it. */
    private Outcome classify(Object result, Throwable failure) {
        return Callbacks.classify(classifier, result, failure, name);
    }

    @SuppressWarnings("unchecked")
    private <R> R replace(Object failedResult, Exception failure) throws Exception {
        fallbacks.increment();
        if (events.isEnabled()) {
            events.publish(new PolicyEvent.FallbackUsed(name, kind(), ticker.read(), failure, failedResult));
        }
        try {
            return (R) function.apply(new Failure(failedResult, failure));
        } catch (Exception fallbackFailure) {
            if (failure != null && fallbackFailure != failure) {
                fallbackFailure.addSuppressed(failure);
            }
            throw fallbackFailure;
        }
    }

    @Override
    public <R> CompletionStage<R> callAsync(Supplier<? extends CompletionStage<R>> call) {
        Checks.notNull(call, "call");
        AsyncFallback<R> future = new AsyncFallback<>();
        future.link(LinkedFuture.start(call)); // a call that could not start is a failed stage, replaced like any
        return future;
    }

    @Override
    public void describeMetrics(MetricsSink sink) {
        sink.counter(MetricsSink.CALLS, "Failed calls whose outcome the fallback replaced", "fallback", fallbacks::sum);
        sink.counter(MetricsSink.CALLS, "Failed calls the fallback did not handle", "failure", failures::sum);
    }

    /** @return calls whose outcome the fallback replaced */
    public long fallbackCount() {
        return fallbacks.sum();
    }

    /** @return failed calls that the fallback did not handle */
    public long failureCount() {
        return failures.sum();
    }

    @Override
    public String toString() {
        return "Fallback[" + name + "]";
    }

    /** Completes with the stage's result, or with the fallback's replacement of a failed outcome. */
    private final class AsyncFallback<R> extends LinkedFuture<R> {
        @Override
        void onSourceCompleted(R value, Throwable failure) {
            Throwable cause = failure == null ? null : unwrap(failure);
            if (cause == null) {
                if (classify(value, null) != Outcome.FAILURE) {
                    complete(value);
                    return;
                }
            } else if (!(cause instanceof Exception) || cause instanceof InterruptedException
                    || cause instanceof java.util.concurrent.CancellationException
                    || classify(null, cause) != Outcome.FAILURE) {
                failures.increment();
                completeExceptionally(failure);
                return;
            }
            try {
                complete(replace(value, (Exception) cause));
            } catch (Throwable fallbackFailure) {
                completeExceptionally(fallbackFailure);
            }
        }
    }

    /**
     * Configures a {@link Fallback}. Not thread-safe; {@link #build()} copies.
     *
     * @param <T> the result type
     */
    public static final class Builder<T> {
        private String name = "fallback";
        private Classifier classifier = Classifier.defaults();
        private CheckedFunction<? super Failure, ? extends T> function;
        private Ticker ticker = Ticker.system();
        private final List<PolicyEventListener> listeners = new ArrayList<>();

        private Builder() {}

        /**
         * @param name the fallback's name, not blank (default {@code "fallback"})
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public Builder<T> name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * @param classifier decides which outcomes are replaced: those it calls {@link Outcome#FAILURE}
         *                   (default {@link Classifier#defaults()}: every exception)
         * @return this builder
         * @throws IllegalArgumentException if {@code classifier} is null
         */
        public Builder<T> classifier(Classifier classifier) {
            this.classifier = Checks.notNull(classifier, "classifier");
            return this;
        }

        /**
         * @param value the replacement (may be null)
         * @return this builder
         */
        public Builder<T> value(T value) {
            this.function = failure -> value;
            return this;
        }

        /**
         * @param function computes the replacement from the failure; not null
         * @return this builder
         * @throws IllegalArgumentException if {@code function} is null
         */
        public Builder<T> function(CheckedFunction<? super Failure, ? extends T> function) {
            this.function = Checks.notNull(function, "function");
            return this;
        }

        /**
         * @param alternative another call whose result replaces the failed one; not null
         * @return this builder
         * @throws IllegalArgumentException if {@code alternative} is null
         */
        public Builder<T> call(Callable<? extends T> alternative) {
            Checks.notNull(alternative, "alternative");
            this.function = failure -> alternative.call();
            return this;
        }

        /**
         * @param ticker the clock for event timestamps (default {@link Ticker#system()})
         * @return this builder
         * @throws IllegalArgumentException if {@code ticker} is null
         */
        public Builder<T> ticker(Ticker ticker) {
            this.ticker = Checks.notNull(ticker, "ticker");
            return this;
        }

        /**
         * Registers a listener for {@link PolicyEvent.FallbackUsed} events.
         *
         * @param listener the listener, not null
         * @return this builder
         * @throws IllegalArgumentException if {@code listener} is null
         */
        public Builder<T> listener(PolicyEventListener listener) {
            listeners.add(Checks.notNull(listener, "listener"));
            return this;
        }

        /**
         * @return a new, immutable fallback
         * @throws IllegalArgumentException if no value, function or call was given
         */
        public Fallback<T> build() {
            if (function == null) {
                throw new IllegalArgumentException("function must not be null: give value(..), function(..) or call(..)");
            }
            return new Fallback<>(this);
        }
    }
}
