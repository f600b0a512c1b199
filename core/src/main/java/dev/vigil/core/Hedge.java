package dev.vigil.core;

import dev.vigil.core.event.EventPublisher;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.event.PolicyEventListener;
import dev.vigil.core.internal.Checks;
import dev.vigil.core.metrics.MetricsSink;
import dev.vigil.core.time.Scheduler;
import dev.vigil.core.time.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Cuts tail latency by racing: if an asynchronous call has not answered after a delay, start another
 * attempt beside it (up to {@code maxHedges} extra attempts, one per delay); the first acceptable
 * outcome wins and the others are cancelled.
 *
 * <pre>{@code
 * Hedge hedge = Hedge.builder()
 *     .idempotent(true)                                 // required: the call may run several times at once
 *     .adaptiveDelay(0.95, Duration.ofMillis(50))       // hedge at the p95 of recent latencies
 *     .maxHedges(1)
 *     .budget(budget)                                   // the RetryBudget the retries to this service share
 *     .build();
 * CompletionStage<String> body = hedge.callAsync(() -> client.sendAsync(request, ofString()).thenApply(HttpResponse::body));
 * }</pre>
 *
 * <p><b>Only for idempotent calls.</b> A hedge runs the same call more than once at the same time, so
 * the builder refuses to build one until the calls are declared idempotent with {@code idempotent(true)}
 * (a GET, a read, a write with an idempotency key).
 *
 * <p><b>When hedges start.</b> After the delay, which is fixed or adaptive: the given percentile of the
 * latencies of the last 256 acceptable attempts (the initial delay until 32 have been seen). An attempt
 * that fails (as the classifier judges it) starts the next hedge at once instead of waiting, so against
 * a dependency that fails fast a hedge behaves like an immediate retry: give it a budget. Each hedge
 * draws from the {@link RetryBudget} ({@link RetryBudget#tryAcquireHedge()}), if one is set; once it
 * refuses, no more hedges start for that call.
 *
 * <p><b>Which outcome wins.</b> The first attempt whose outcome the classifier does not call a
 * {@link Outcome#FAILURE} (default: any result; an exception is a failure): its result, or its exception
 * if the classifier does not count that as a failure. If every attempt fails, the last failure is the
 * outcome (with a {@link RetryBudgetExhaustedException} attached as suppressed if the budget stopped a
 * hedge). The losers are cancelled (with interruption), as is every attempt when the returned future is
 * cancelled. Inside the call, {@link Attempt#current()} tells the attempt's number and whether it is a
 * hedge.
 *
 * <p><b>Synchronous calls</b> cannot be hedged (the caller's thread is busy with the first attempt):
 * {@link #execute} throws {@link UnsupportedOperationException}. Use {@link #callAsync}, also through a
 * {@link Pipeline}.
 *
 * <p>Immutable and thread-safe. Each call allocates its bookkeeping (a future and two small arrays).
 */
public final class Hedge implements Policy {
    private final String name;
    private final int maxHedges;
    private final long fixedDelayNanos;
    private final LatencyWindow latencies;
    private final Classifier classifier;
    private final RetryBudget budget;
    private final Scheduler scheduler;
    private final Ticker ticker;
    private final EventPublisher events;
    private final LongAdder calls = new LongAdder();
    private final LongAdder hedges = new LongAdder();
    private final LongAdder hedgeWins = new LongAdder();
    private final LongAdder failures = new LongAdder();

    private Hedge(Builder builder) {
        this.name = builder.name;
        this.maxHedges = builder.maxHedges;
        this.fixedDelayNanos = Checks.toNanosSaturated(builder.delay);
        this.latencies = builder.percentile > 0 ? new LatencyWindow(builder.percentile, 32, fixedDelayNanos) : null;
        this.classifier = builder.classifier;
        this.budget = builder.budget;
        this.scheduler = builder.scheduler;
        this.ticker = builder.scheduler.ticker();
        this.events = EventPublisher.of(builder.listeners);
    }

    /** @return a new builder; {@code idempotent(true)} and a delay are required */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "hedge";
    }

    /** @return the most extra attempts per call */
    public int maxHedges() {
        return maxHedges;
    }

    /**
     * Returns the delay after which the next call would start its first hedge: the fixed delay, or the
     * adaptive estimate now.
     *
     * @return the current hedge delay
     */
    public Duration currentDelay() {
        return Duration.ofNanos(delayNanos());
    }

    private long delayNanos() {
        return latencies == null ? fixedDelayNanos : latencies.currentNanos();
    }

    /**
     * Not supported: a synchronous call cannot be hedged.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public <A, T> T execute(CheckedFunction<? super A, ? extends T> action, A argument) {
        throw new UnsupportedOperationException("hedge '" + name + "' works on asynchronous calls only: use callAsync "
                + "(the first attempt occupies the calling thread, so a synchronous caller could not take a hedge's result)");
    }

    @Override
    public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> call) {
        Checks.notNull(call, "call");
        calls.increment();
        // Nested in a policy with the same budget (a retry around this hedge), only draw: the outer one
        // counts the call and its outcome.
        RetryBudget reporting = Budgets.reporting(budget);
        HedgedCall<T> hedged = new HedgedCall<>(call, Deadline.currentOrNull(), reporting);
        hedged.startAttempt(false);
        hedged.scheduleNextHedge();
        return hedged;
    }

    @Override
    public void describeMetrics(MetricsSink sink) {
        sink.counter(MetricsSink.CALLS, "Calls whose every attempt failed", "failure", failures::sum);
        sink.counter(MetricsSink.CALLS, "Calls a hedge (not the first attempt) won", "hedge_won", hedgeWins::sum);
        sink.counter("vigil.hedges", "Hedged attempts started", "hedge", hedges::sum);
        sink.gauge("vigil.hedge.delay", "The current hedge delay", "seconds", () -> delayNanos() / 1e9);
        Budgets.describeMetrics(budget, sink);
    }

    /** @return calls made through this hedge */
    public long callCount() {
        return calls.sum();
    }

    /** @return extra attempts started */
    public long hedgeCount() {
        return hedges.sum();
    }

    /** @return calls won by a hedge rather than the first attempt */
    public long hedgeWinCount() {
        return hedgeWins.sum();
    }

    /** @return calls whose every attempt failed */
    public long failureCount() {
        return failures.sum();
    }

    @Override
    public String toString() {
        return "Hedge[" + name + ", maxHedges=" + maxHedges + ", delay="
                + (latencies == null ? Duration.ofNanos(fixedDelayNanos) : "adaptive, now " + currentDelay()) + "]";
    }

    /**
     * One hedged call: the future handed out, and the attempts racing to complete it.
     *
     * <p>Concurrency: {@code counts} packs the attempts started (bits 0-7), the attempts finished
     * without winning (bits 8-15) and a CLOSED flag (no more hedges: the budget refused) in one int,
     * updated by CAS. A starter reserves its slot by CAS before asking the budget; a refused slot counts
     * as finished at once. So "every started attempt has failed and no other can start" is seen by
     * exactly one CAS, whatever the interleaving of timers, completions and refusals, and the call then
     * fails exactly once. The winner is decided by this future's own completion CAS. Attempt stages are
     * published in an {@link AtomicReferenceArray}: a starter stores its stage, then reads done; the
     * completer completes, then reads the stages; one of the two sees the other, so every loser is
     * cancelled.
     */
    private final class HedgedCall<T> extends CompletableFuture<T> {
        private static final int COUNT_MASK = 0xFF;
        private static final int ONE_FINISHED = 1 << 8;
        private static final int CLOSED = 1 << 16;

        private final Supplier<? extends CompletionStage<T>> call;
        private final Deadline deadline;
        private final RetryBudget reporting;
        private final AtomicReferenceArray<CompletionStage<T>> attempts = new AtomicReferenceArray<>(maxHedges + 1);
        /** Each attempt's start, written before the attempt starts, read when it completes (after whenComplete). */
        private final long[] startedAt = new long[maxHedges + 1];
        @SuppressWarnings("unused") // accessed through COUNTS
        private volatile int counts;
        private volatile Scheduler.Task timer;
        /** The latest failed attempt's outcome; written before that attempt's finished count is CAS-ed in. */
        private volatile Failure lastFailure;
        /** Written before the CLOSED flag is CAS-ed in. */
        private volatile boolean deniedByBudget;

        HedgedCall(Supplier<? extends CompletionStage<T>> call, Deadline deadline, RetryBudget reporting) {
            this.call = call;
            this.deadline = deadline;
            this.reporting = reporting;
        }

        private int counts() {
            return (int) COUNTS.getVolatile(this);
        }

        /** Adds {@code delta} to the packed counts and returns the new value. */
        private int addCounts(int delta) {
            return (int) COUNTS.getAndAdd(this, delta) + delta;
        }

        /**
         * Counts a reserved slot as finished and sets CLOSED, by CAS rather than by adding: two refusals
         * may race, and adding the flag twice would carry into the next bit.
         */
        private int finishReservedAndClose() {
            for (int seen = counts(); ; ) {
                int next = (seen + ONE_FINISHED) | CLOSED;
                int witness = (int) COUNTS.compareAndExchange(this, seen, next);
                if (witness == seen) {
                    return next;
                }
                seen = witness;
            }
        }

        private boolean canStartMore(int packed) {
            return (packed & CLOSED) == 0 && (packed & COUNT_MASK) <= maxHedges;
        }

        private boolean allFinished(int packed) {
            return ((packed >>> 8) & COUNT_MASK) == (packed & COUNT_MASK);
        }

        /** Starts the next attempt unless all have started, the call is over, or the budget closed hedging. */
        void startAttempt(boolean hedge) {
            int index;
            for (int seen = counts(); ; ) {
                if (isDone() || !canStartMore(seen)) {
                    return;
                }
                int witness = (int) COUNTS.compareAndExchange(this, seen, seen + 1);
                if (witness == seen) {
                    index = seen & COUNT_MASK; // slot reserved
                    break;
                }
                seen = witness;
            }
            if (hedge && budget != null && !budget.tryAcquireHedge()) {
                deniedByBudget = true;
                int now = finishReservedAndClose(); // the reserved slot never runs; no more hedges
                if (allFinished(now)) {
                    failAll();
                }
                return;
            }
            long now = ticker.read();
            startedAt[index] = now;
            if (hedge) {
                hedges.increment();
                if (events.isEnabled()) {
                    events.publish(new PolicyEvent.HedgeStarted(name, kind(), now, index + 1));
                }
            }
            CompletionStage<T> stage = LinkedFuture.startAttempt(call, new Attempt(name, index + 1, hedge, null, budget), deadline);
            attempts.set(index, stage);
            if (isDone()) {
                LinkedFuture.cancelQuietly(stage, true); // the call ended while this attempt started
            }
            stage.whenComplete((value, failure) -> onAttemptCompleted(index, value, failure));
        }

        void scheduleNextHedge() {
            if (isDone() || !canStartMore(counts())) {
                return;
            }
            Scheduler.Task task;
            try {
                // The timer thread only hands the hedge to the executor: user code never runs on it.
                task = scheduler.schedule(() -> scheduler.executor().execute(this::hedgeNow), delayNanos());
            } catch (RejectedExecutionException shutDown) {
                return; // no timer, no hedges: the attempts already running decide the call
            }
            timer = task;
            if (isDone()) {
                task.cancel(); // completed while scheduling: the completer may have read the old timer
            }
        }

        private void hedgeNow() {
            startAttempt(true);
            scheduleNextHedge();
        }

        private void onAttemptCompleted(int index, T value, Throwable failure) {
            if (isDone()) {
                return; // a loser, cancelled by the winner: neither a success nor a failure of the service
            }
            Throwable cause = failure == null ? null : LinkedFuture.unwrap(failure);
            boolean cancelled = cause instanceof CancellationException; // by someone else: a failed attempt
            Outcome outcome;
            try {
                outcome = cancelled ? Outcome.FAILURE : Callbacks.classify(classifier, value, cause, name);
            } catch (Throwable classifierFailure) { // the attempt's failure is attached already
                if (completeExceptionally(classifierFailure)) {
                    cancelOthers(index);
                }
                return;
            }
            if (outcome != Outcome.FAILURE) {
                if (reporting != null) {
                    reporting.onSuccess();
                }
                if (latencies != null && failure == null) {
                    latencies.record(ticker.read() - startedAt[index]);
                }
                boolean won = failure == null ? complete(value) : completeExceptionally(failure);
                if (won) {
                    if (index > 0) {
                        hedgeWins.increment();
                    }
                    cancelOthers(index);
                }
                return;
            }
            if (reporting != null && !cancelled) {
                reporting.onFailure();
            }
            lastFailure = new Failure(value, failure);
            int now = addCounts(ONE_FINISHED);
            if (allFinished(now) && !canStartMore(now)) {
                failAll();
                return;
            }
            if (canStartMore(now)) {
                // A failed attempt starts the next hedge at once rather than after the delay. If it cannot
                // start after all (the budget refuses, or the others started meanwhile), the refusal or
                // the last attempt to finish decides the call.
                try {
                    scheduler.executor().execute(() -> startAttempt(true));
                } catch (RejectedExecutionException shutDown) {
                    if (allFinished(now)) {
                        completeExceptionally(shutDown);
                    }
                }
            }
        }

        /** Every attempt failed: the call takes the last failure. */
        private void failAll() {
            Failure last = lastFailure;
            boolean completed;
            if (last.exception() == null) {
                @SuppressWarnings("unchecked")
                T value = (T) last.result();
                completed = complete(value);
            } else {
                if (deniedByBudget) {
                    Budgets.attachRefusal(LinkedFuture.unwrap(last.exception()), budget);
                }
                completed = completeExceptionally(last.exception());
            }
            if (completed) {
                failures.increment();
                cancelOthers(-1);
            }
        }

        /** The call is over: stop the timer and every attempt but {@code keep}. */
        private void cancelOthers(int keep) {
            Scheduler.Task pending = timer;
            if (pending != null) {
                pending.cancel();
            }
            for (int i = 0; i < attempts.length(); i++) {
                CompletionStage<T> stage = attempts.get(i);
                if (i != keep && stage != null) {
                    LinkedFuture.cancelQuietly(stage, true);
                }
            }
        }

        /**
         * As {@link LinkedFuture#cancel}, whose single-source linking a hedge cannot use (it races
         * several attempts): completing with a {@link CancellationException} says whether this call won.
         */
        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean won = completeExceptionally(new CancellationException());
            if (won) {
                cancelOthers(-1);
            }
            return won || isCancelled();
        }
    }

    private static final VarHandle COUNTS;

    static {
        try {
            COUNTS = MethodHandles.lookup().findVarHandle(HedgedCall.class, "counts", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Configures a {@link Hedge}. Not thread-safe; {@link #build()} copies. */
    public static final class Builder {
        private String name = "hedge";
        private boolean idempotent;
        private int maxHedges = 1;
        private Duration delay;
        private double percentile;
        private Classifier classifier = Classifier.defaults();
        private RetryBudget budget;
        private Scheduler scheduler = Scheduler.shared();
        private final List<PolicyEventListener> listeners = new ArrayList<>();

        private Builder() {}

        /**
         * @param name the hedge's name, not blank (default {@code "hedge"})
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public Builder name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * Declares that the calls this hedge runs are idempotent: running one twice, concurrently, has
         * the same effect as running it once. Required.
         *
         * @param idempotent true to declare it
         * @return this builder
         */
        public Builder idempotent(boolean idempotent) {
            this.idempotent = idempotent;
            return this;
        }

        /**
         * @param maxHedges the most extra attempts per call, in [1, 100] (default 1)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder maxHedges(int maxHedges) {
            this.maxHedges = Checks.inRange(maxHedges, 1, 100, "maxHedges");
            return this;
        }

        /**
         * Hedges after a fixed delay (and after each further delay, for more than one hedge).
         *
         * @param delay the delay, zero or more
         * @return this builder
         * @throws IllegalArgumentException if {@code delay} is null, negative or over about 73 years
         */
        public Builder delay(Duration delay) {
            Checks.nonNegativeUpToMaxNanos(delay, "delay");
            this.delay = delay;
            this.percentile = 0;
            return this;
        }

        /**
         * Hedges after an adaptive delay: the given percentile of the latencies of recent acceptable
         * attempts (the last 256), or {@code initial} until 32 have been seen.
         *
         * @param percentile the percentile, as a fraction in (0, 1), e.g. 0.95
         * @param initial    the delay until enough latencies were seen, zero or more
         * @return this builder
         * @throws IllegalArgumentException if {@code percentile} is out of range or {@code initial} is
         *                                  null, negative or too long
         */
        public Builder adaptiveDelay(double percentile, Duration initial) {
            this.percentile = Checks.inOpenRange(percentile, 0.0, 1.0, "percentile");
            Checks.nonNegativeUpToMaxNanos(initial, "initial");
            this.delay = initial;
            return this;
        }

        /**
         * @param classifier decides which outcomes are acceptable: those it does not call
         *                   {@link Outcome#FAILURE} (default {@link Classifier#defaults()}: any result)
         * @return this builder
         * @throws IllegalArgumentException if {@code classifier} is null
         */
        public Builder classifier(Classifier classifier) {
            this.classifier = Checks.notNull(classifier, "classifier");
            return this;
        }

        /**
         * @param budget the retry budget hedges draw from (default: none)
         * @return this builder
         * @throws IllegalArgumentException if {@code budget} is null
         */
        public Builder budget(RetryBudget budget) {
            this.budget = Checks.notNull(budget, "budget");
            return this;
        }

        /**
         * @param scheduler runs the hedge timers (default {@link Scheduler#shared()})
         * @return this builder
         * @throws IllegalArgumentException if {@code scheduler} is null
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Checks.notNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Registers a listener for {@link PolicyEvent.HedgeStarted} events.
         *
         * @param listener the listener, not null
         * @return this builder
         * @throws IllegalArgumentException if {@code listener} is null
         */
        public Builder listener(PolicyEventListener listener) {
            listeners.add(Checks.notNull(listener, "listener"));
            return this;
        }

        /**
         * @return a new, immutable hedge
         * @throws IllegalArgumentException if the calls were not declared idempotent, or no delay was given
         */
        public Hedge build() {
            if (!idempotent) {
                throw new IllegalArgumentException("idempotent must be true: a hedge runs the same call several times at once, "
                        + "which is safe only for idempotent calls; declare them with idempotent(true)");
            }
            if (delay == null) {
                throw new IllegalArgumentException("delay must not be null: give delay(..) or adaptiveDelay(..)");
            }
            return new Hedge(this);
        }
    }
}
