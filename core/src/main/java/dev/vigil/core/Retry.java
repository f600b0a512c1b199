package dev.vigil.core;

import dev.vigil.core.event.EventPublisher;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.event.PolicyEventListener;
import dev.vigil.core.internal.Checks;
import dev.vigil.core.metrics.MetricsSink;
import dev.vigil.core.time.Scheduler;
import dev.vigil.core.time.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Runs a call again when it fails, after a {@link Backoff} delay, within limits: a number of attempts,
 * optionally a total duration, and optionally a shared {@link RetryBudget} that stops retries from
 * multiplying the load on a dependency that is already failing.
 *
 * <pre>{@code
 * RetryBudget budget = RetryBudget.tokenBucket().maxTokens(10).tokenRatio(0.1).build(); // share it
 * Retry retry = Retry.builder()
 *     .maxAttempts(4)
 *     .maxDuration(Duration.ofSeconds(2))
 *     .backoff(Backoff.exponential(Duration.ofMillis(50), Duration.ofSeconds(1)).withJitter(Jitter.full()))
 *     .retryOn(Classifier.builder().failOn(IOException.class).failOnResult(HttpResponse.class, r -> r.statusCode() >= 500).build())
 *     .budget(budget)
 *     .build();
 * HttpResponse<String> response = retry.call(() -> client.send(request, BodyHandlers.ofString()));
 * }</pre>
 *
 * <p><b>What is retried.</b> An attempt is retried when the {@code retryOn} classifier (default: every
 * exception) calls its outcome a {@link Outcome#FAILURE} and the {@code abortOn} classifier (default:
 * none) does not. Anything else is returned or thrown at once. Errors, {@link InterruptedException} and
 * {@link CancellationException} are never retried. When the retries run out, the caller gets the last
 * attempt's outcome: its exception, or its result if a result was classified as a failure (an HTTP 503,
 * say).
 *
 * <p><b>How long between attempts.</b> The back-off's delay for that retry, or longer if the failure
 * carries a retry-after hint ({@link RetryAfterHint}; by default a {@link RejectedException}'s): a
 * retry never starts sooner than the other side asked. If the wait would end at or after the deadline
 * (this retry's {@code maxDuration}, or an enclosing {@link Timeout}'s deadline), the retry gives up at
 * once instead of waiting in vain.
 *
 * <p><b>Total duration.</b> With {@code maxDuration}, the whole call, all attempts and waits included,
 * has a {@link Deadline}: the code inside reads it with {@link Deadline#current()}, and a
 * {@link Timeout} inside the retry is cut to it, so the last attempt cannot overrun it either.
 *
 * <p><b>Budget.</b> A retry starts only if the {@link RetryBudget} allows it; if not, the caller gets
 * the last failure with a {@link RetryBudgetExhaustedException} attached as suppressed (the real cause
 * stays the exception; attached once per exception instance), or the last result if a result was the
 * failure (the {@link PolicyEvent.RetriesExhausted} event and {@link RetryBudget#deniedCount()} tell).
 *
 * <p><b>Inside the call</b>, {@link Attempt#current()} tells which attempt is running and what the
 * previous one did.
 *
 * <p><b>Synchronous calls</b> wait on the calling thread through {@link Scheduler#sleep} (a real sleep,
 * which parks virtual threads; virtual time with a {@link dev.vigil.core.time.ManualScheduler}). An
 * interrupt while waiting ends the call with {@link InterruptedException}, the last failure attached
 * as suppressed. <b>Asynchronous calls</b> never block: the next attempt starts from the scheduler,
 * on its {@link Scheduler#executor() executor}; cancelling the returned future cancels the running
 * attempt and any pending retry.
 *
 * <p>Cost: the success path of a synchronous call allocates nothing (measured with JMH
 * {@code -prof gc}); with {@code maxDuration} it reads the clock once and allocates the call's
 * {@link Deadline} (24 bytes). A retry allocates its {@link Attempt}. Immutable and thread-safe.
 */
public final class Retry implements Policy {
    /** {@link #decide} verdicts; any value >= 0 is the wait before the next attempt. */
    private static final long COMPLETE = -1L;
    /**
     * Tells {@link #decide} to read the calling thread's current deadline, and only if it needs one (a
     * synchronous call runs under it, so the success path need not look it up).
     */
    private static final Deadline THIS_THREADS_DEADLINE = new Deadline(Ticker.system(), 0L);

    private final String name;
    private final int maxAttempts;
    private final long maxDurationNanos;
    private final Backoff backoff;
    private final Classifier retryOn;
    private final Classifier abortOn;
    private final RetryAfterHint retryAfter;
    private final RetryBudget budget;
    private final Scheduler scheduler;
    private final Ticker ticker;
    private final EventPublisher events;
    /** Every first attempt's context: immutable, so one instance serves every call. */
    private final Attempt firstAttempt;
    private final LongAdder successes = new LongAdder();
    private final LongAdder successesAfterRetry = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder exhausted = new LongAdder();
    private final LongAdder retries = new LongAdder();

    private Retry(Builder builder) {
        this.name = builder.name;
        this.maxAttempts = builder.maxAttempts;
        this.maxDurationNanos = builder.maxDuration == null ? 0L : Checks.toNanosSaturated(builder.maxDuration);
        this.backoff = builder.backoff;
        this.retryOn = builder.retryOn;
        this.abortOn = builder.abortOn;
        this.retryAfter = builder.retryAfter;
        this.budget = builder.budget;
        this.scheduler = builder.scheduler;
        this.ticker = builder.scheduler.ticker();
        this.events = EventPublisher.of(builder.listeners);
        this.firstAttempt = new Attempt(name, 1, false, null, budget);
    }

    /** @return a new builder with the defaults described on its methods */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns a retry named {@code "retry"} with up to {@code maxAttempts} attempts and the default
     * back-off (exponential from 100 ms, doubling, at most 10 s, full jitter).
     *
     * @param maxAttempts the most attempts, first included, at least 1
     * @return the retry
     * @throws IllegalArgumentException if {@code maxAttempts < 1}
     */
    public static Retry of(int maxAttempts) {
        return builder().maxAttempts(maxAttempts).build();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "retry";
    }

    /** @return the most attempts per call, the first included */
    public int maxAttempts() {
        return maxAttempts;
    }

    @Override
    public <A, T> T execute(CheckedFunction<? super A, ? extends T> action, A argument) throws Exception {
        Checks.notNull(action, "action");
        if (maxDurationNanos == 0L) {
            return attempts(action, argument);
        }
        Deadline previous = Deadline.enter(ownDeadline(ticker.read()));
        try {
            return attempts(action, argument);
        } finally {
            Deadline.exit(previous);
        }
    }

    /** The attempts of a synchronous call; the current deadline, if any, bounds the waits. */
    private <A, T> T attempts(CheckedFunction<? super A, ? extends T> action, A argument) throws Exception {
        Attempt attempt = firstAttempt;
        long previousWait = 0L;
        RetryBudget reporting = null;
        for (;;) {
            T result = null;
            Throwable failure = null;
            Attempt outer = Attempt.enter(attempt);
            if (attempt == firstAttempt) {
                reporting = Budgets.reporting(budget, outer); // reuses the thread-local read that enter made
            }
            try {
                result = action.apply(argument);
            } catch (Throwable thrown) {
                failure = thrown;
            } finally {
                Attempt.exit(outer);
            }
            long verdict = decide(attempt.number(), previousWait, result, failure, THIS_THREADS_DEADLINE, reporting);
            if (verdict == COMPLETE) {
                if (failure != null) {
                    throw Invokers.<Exception>sneakyThrow(failure);
                }
                return result;
            }
            try {
                scheduler.sleep(verdict);
            } catch (InterruptedException interrupted) {
                if (failure != null) {
                    interrupted.addSuppressed(failure);
                }
                throw interrupted;
            }
            previousWait = verdict;
            attempt = new Attempt(name, attempt.number() + 1, false, new Failure(result, failure), budget);
        }
    }

    @Override
    public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> call) {
        Checks.notNull(call, "call");
        RetryBudget reporting = Budgets.reporting(budget);
        // Later attempts start on other threads: capture the deadline that bounds them now.
        Deadline deadline = maxDurationNanos == 0L ? Deadline.currentOrNull() : ownDeadline(ticker.read());
        AsyncRetry<T> future = new AsyncRetry<>(call, deadline, reporting);
        future.start(firstAttempt);
        return future;
    }

    /** This retry's deadline from {@code now}, cut to the enclosing deadline if that is earlier. */
    private Deadline ownDeadline(long now) {
        Deadline outer = Deadline.currentOrNull();
        long limit = outer == null ? maxDurationNanos : Math.min(maxDurationNanos, outer.remainingNanos());
        return new Deadline(ticker, now + limit);
    }

    /**
     * Judges an attempt's outcome, written once for the synchronous and asynchronous paths: counts it,
     * tells the budget, publishes events, and returns either {@link #COMPLETE} (hand the outcome to the
     * caller as it is; a budget refusal has been attached to the failure) or the wait before the next
     * attempt.
     *
     * @param failure  the attempt's exception, unwrapped, or null
     * @param deadline  what bounds the waits: a captured deadline, null for none, or
     *                  {@link #THIS_THREADS_DEADLINE}
     * @param reporting the budget to count outcomes in, or null (see {@link Budgets#reporting})
     */
    private long decide(int attempt, long previousWait, Object result, Throwable failure, Deadline deadline,
                        RetryBudget reporting) {
        if (failure instanceof Error || failure instanceof InterruptedException || failure instanceof CancellationException) {
            failures.increment();
            return COMPLETE;
        }
        if (!retryable(result, failure)) {
            if (failure == null) {
                (attempt == 1 ? successes : successesAfterRetry).increment();
                if (reporting != null) {
                    reporting.onSuccess();
                }
            } else {
                failures.increment();
            }
            return COMPLETE;
        }
        if (reporting != null) {
            reporting.onFailure();
        }
        if (attempt >= maxAttempts) {
            return giveUp(attempt, GaveUp.ATTEMPTS, 0L, 0L);
        }
        long wait = backoff.delayNanos(attempt, previousWait);
        long hint = hintOf(result, failure);
        if (hint > wait) {
            wait = hint; // never sooner than the other side asked
        }
        Deadline bound = deadline == THIS_THREADS_DEADLINE ? Deadline.currentOrNull() : deadline;
        long remaining = bound == null ? Long.MAX_VALUE : bound.remainingNanos();
        if (wait >= remaining) {
            return giveUp(attempt, wait == hint ? GaveUp.HINT : GaveUp.DEADLINE, wait, remaining);
        }
        if (budget != null && !budget.tryAcquireRetry()) {
            Budgets.attachRefusal(failure, budget);
            return giveUp(attempt, GaveUp.BUDGET, 0L, 0L);
        }
        retries.increment();
        if (events.isEnabled()) {
            events.publish(new PolicyEvent.RetryScheduled(name, kind(), ticker.read(), attempt + 1, Duration.ofNanos(wait),
                    failure, failure == null ? result : null));
        }
        return wait;
    }

    /** The attempt's retry-after hint; a hint reader that throws propagates with the failure attached. */
    private long hintOf(Object result, Throwable failure) {
        try {
            return retryAfter.retryAfterNanos(result, failure);
        } catch (Throwable readerFailure) {
            throw Invokers.sneakyThrow(Callbacks.withCallFailure(readerFailure, failure));
        }
    }

    /** True if the outcome is a failure to retry; a classifier that throws propagates with the outcome attached. */
    private boolean retryable(Object result, Throwable failure) {
        if (abortOn != null && Callbacks.classify(abortOn, result, failure, name) == Outcome.FAILURE) {
            return false;
        }
        return Callbacks.classify(retryOn, result, failure, name) == Outcome.FAILURE;
    }

    /** Why a retryable failure was not retried. */
    private enum GaveUp { ATTEMPTS, DEADLINE, HINT, BUDGET }

    /** Counts and reports a retryable failure that will not be retried; the reason is built only for listeners. */
    private long giveUp(int attempts, GaveUp why, long wait, long remaining) {
        exhausted.increment();
        if (events.isEnabled()) {
            String reason;
            switch (why) {
                case ATTEMPTS:
                    reason = "all " + maxAttempts + " attempts made";
                    break;
                case HINT:
                    reason = "the retry-after hint (" + Duration.ofNanos(wait) + ") exceeds the time left (" + Duration.ofNanos(remaining) + ")";
                    break;
                case DEADLINE:
                    reason = "the next retry (in " + Duration.ofNanos(wait) + ") would start after the deadline (time left "
                            + Duration.ofNanos(remaining) + ")";
                    break;
                default:
                    reason = "retry budget '" + budget.name() + "' is exhausted";
            }
            events.publish(new PolicyEvent.RetriesExhausted(name, kind(), ticker.read(), attempts, reason));
        }
        return COMPLETE;
    }

    @Override
    public void describeMetrics(MetricsSink sink) {
        sink.counter(MetricsSink.CALLS, "Calls that succeeded at the first attempt", "success", successes::sum);
        sink.counter(MetricsSink.CALLS, "Calls that succeeded after one or more retries", "success_after_retry", successesAfterRetry::sum);
        sink.counter(MetricsSink.CALLS, "Calls that failed in a way not to retry", "failure", failures::sum);
        sink.counter(MetricsSink.CALLS, "Calls that failed after retries ran out (attempts, time or budget)", "exhausted", exhausted::sum);
        sink.counter("vigil.retries", "Retries started", "retry", retries::sum);
        Budgets.describeMetrics(budget, sink);
    }

    /** @return calls that succeeded at the first attempt */
    public long successCount() {
        return successes.sum();
    }

    /** @return calls that succeeded after at least one retry */
    public long successAfterRetryCount() {
        return successesAfterRetry.sum();
    }

    /** @return calls that failed in a way not to retry (not retryable, aborted, interrupted, an error) */
    public long failureCount() {
        return failures.sum();
    }

    /** @return calls whose failure was retryable but whose retries ran out: attempts, time or budget */
    public long exhaustedCount() {
        return exhausted.sum();
    }

    /** @return retries started (attempts after the first) */
    public long retryCount() {
        return retries.sum();
    }

    @Override
    public String toString() {
        return "Retry[" + name + ", maxAttempts=" + maxAttempts
                + (maxDurationNanos == 0L ? "" : ", maxDuration=" + Duration.ofNanos(maxDurationNanos))
                + ", " + backoff + (budget == null ? "" : ", " + budget) + "]";
    }

    /**
     * The future {@link #callAsync} returns. Attempts run one after another: each starts (on the
     * caller's thread for the first, on the scheduler's executor for the others) and is linked as the
     * source; when it completes, {@link #decide} either completes this future or schedules the next.
     * Cancellation of this future cancels the running attempt (through {@link LinkedFuture}) and the
     * pending timer; an attempt that starts after a cancellation is cancelled at once.
     */
    private final class AsyncRetry<T> extends LinkedFuture<T> {
        private final Supplier<? extends CompletionStage<T>> call;
        private final Deadline deadline;
        private final RetryBudget reporting;
        /** Written before the attempt is linked; read when it completes (whenComplete orders the two). */
        private Attempt attempt;
        private long previousWait;
        /** The pending timer between attempts; volatile, as {@link #onCancelled} reads it on any thread. */
        private volatile Scheduler.Task timer;

        AsyncRetry(Supplier<? extends CompletionStage<T>> call, Deadline deadline, RetryBudget reporting) {
            this.call = call;
            this.deadline = deadline;
            this.reporting = reporting;
        }

        void start(Attempt next) {
            if (isDone()) {
                return; // cancelled while waiting
            }
            attempt = next;
            CompletionStage<T> stage = startAttempt(call, next, deadline);
            link(stage);
            // link wrote source (volatile), then we read done; cancel completes, then reads source. One
            // of the two sees the other, so an attempt started during a cancellation is always cancelled.
            if (isCancelled()) {
                cancelQuietly(stage, true);
            }
        }

        @Override
        void onSourceCompleted(T value, Throwable failure) {
            if (isDone()) {
                return; // cancelled by the caller: the attempt's outcome no longer matters
            }
            Throwable cause = failure == null ? null : unwrap(failure);
            long verdict = decide(attempt.number(), previousWait, value, cause, deadline, reporting);
            if (verdict == COMPLETE) {
                if (failure == null) {
                    complete(value);
                } else {
                    completeExceptionally(failure);
                }
                return;
            }
            previousWait = verdict;
            Attempt next = new Attempt(name, attempt.number() + 1, false, new Failure(value, cause), budget);
            Runnable startNext = () -> start(next);
            try {
                if (verdict == 0L) {
                    scheduler.executor().execute(startNext);
                } else {
                    // The timer thread only hands the attempt to the executor: user code never runs on it.
                    timer = scheduler.schedule(() -> scheduler.executor().execute(startNext), verdict);
                    if (isDone()) {
                        timer.cancel(); // cancelled while scheduling (see onCancelled)
                    }
                }
            } catch (RejectedExecutionException shutDown) {
                if (cause != null) {
                    cause.addSuppressed(shutDown);
                    completeExceptionally(failure);
                } else {
                    completeExceptionally(shutDown);
                }
            }
        }

        @Override
        void onCancelled() {
            // Completed (cancelled) first, then read timer; the scheduling side writes timer, then
            // reads done: whichever runs second cancels the timer.
            Scheduler.Task pending = timer;
            if (pending != null) {
                pending.cancel();
            }
        }
    }

    /** Configures a {@link Retry}. Not thread-safe; {@link #build()} copies. */
    public static final class Builder {
        private String name = "retry";
        private int maxAttempts = 3;
        private Duration maxDuration;
        private Backoff backoff = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(10)).withJitter(Jitter.full());
        private Classifier retryOn = Classifier.defaults();
        private Classifier abortOn;
        private RetryAfterHint retryAfter = RetryAfterHint.rejections();
        private RetryBudget budget;
        private Scheduler scheduler = Scheduler.shared();
        private final List<PolicyEventListener> listeners = new ArrayList<>();

        private Builder() {}

        /**
         * @param name the retry's name, not blank (default {@code "retry"})
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public Builder name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * @param maxAttempts the most attempts per call, the first included, at least 1 (default 3)
         * @return this builder
         * @throws IllegalArgumentException if {@code maxAttempts < 1}
         */
        public Builder maxAttempts(int maxAttempts) {
            this.maxAttempts = Checks.atLeastOne(maxAttempts, "maxAttempts");
            return this;
        }

        /**
         * @param maxDuration the longest a call may take, all attempts and waits included, positive and at
         *                    most about 73 years (default: no limit but the attempts)
         * @return this builder
         * @throws IllegalArgumentException if {@code maxDuration} is null, zero, negative or too long
         */
        public Builder maxDuration(Duration maxDuration) {
            this.maxDuration = Checks.positiveUpToMax(maxDuration, "maxDuration");
            return this;
        }

        /**
         * @param backoff the delays between attempts (default exponential from 100 ms, doubling, at most
         *                10 s, full jitter)
         * @return this builder
         * @throws IllegalArgumentException if {@code backoff} is null
         */
        public Builder backoff(Backoff backoff) {
            this.backoff = Checks.notNull(backoff, "backoff");
            return this;
        }

        /**
         * @param retryOn decides which outcomes are retried: those it calls {@link Outcome#FAILURE}
         *                (default {@link Classifier#defaults()}: every exception, no result)
         * @return this builder
         * @throws IllegalArgumentException if {@code retryOn} is null
         */
        public Builder retryOn(Classifier retryOn) {
            this.retryOn = Checks.notNull(retryOn, "retryOn");
            return this;
        }

        /**
         * @param abortOn outcomes it calls {@link Outcome#FAILURE} end the call at once, without a retry,
         *                even if {@code retryOn} would retry them (default: none)
         * @return this builder
         * @throws IllegalArgumentException if {@code abortOn} is null
         */
        public Builder abortOn(Classifier abortOn) {
            this.abortOn = Checks.notNull(abortOn, "abortOn");
            return this;
        }

        /**
         * Ends the call at once, without a retry, when an attempt throws one of these types (or has one
         * in its causes).
         *
         * @param types the exception types, at least one
         * @return this builder
         * @throws IllegalArgumentException if {@code types} is empty or holds null
         */
        @SafeVarargs
        public final Builder abortOn(Class<? extends Throwable>... types) {
            return abortOn(Classifier.builder().failOn(types).build());
        }

        /**
         * @param retryAfter reads the wait a failed attempt asks for (default
         *                   {@link RetryAfterHint#rejections()}; {@link RetryAfterHint#none()} to ignore hints)
         * @return this builder
         * @throws IllegalArgumentException if {@code retryAfter} is null
         */
        public Builder retryAfter(RetryAfterHint retryAfter) {
            this.retryAfter = Checks.notNull(retryAfter, "retryAfter");
            return this;
        }

        /**
         * @param budget the budget retries draw from, usually shared by every retry to one dependency
         *               (default: none)
         * @return this builder
         * @throws IllegalArgumentException if {@code budget} is null
         */
        public Builder budget(RetryBudget budget) {
            this.budget = Checks.notNull(budget, "budget");
            return this;
        }

        /**
         * @param scheduler where waits happen and what clock they use (default {@link Scheduler#shared()});
         *                  a {@link dev.vigil.core.time.ManualScheduler} runs them in virtual time
         * @return this builder
         * @throws IllegalArgumentException if {@code scheduler} is null
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Checks.notNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Registers a listener for {@link PolicyEvent.RetryScheduled} and {@link PolicyEvent.RetriesExhausted}.
         *
         * @param listener the listener, not null
         * @return this builder
         * @throws IllegalArgumentException if {@code listener} is null
         */
        public Builder listener(PolicyEventListener listener) {
            listeners.add(Checks.notNull(listener, "listener"));
            return this;
        }

        /** @return a new, immutable retry */
        public Retry build() {
            return new Retry(this);
        }
    }
}
