package dev.vigil.core;

import dev.vigil.core.event.EventPublisher;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.event.PolicyEventListener;
import dev.vigil.core.internal.Checks;
import dev.vigil.core.metrics.MetricsSink;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.Scheduler;
import dev.vigil.core.time.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Bounds how long a call may take.
 *
 * <p><b>Synchronous calls</b> run on the caller's thread. At the deadline the timeout interrupts that
 * thread (unless built with {@code interruptOnTimeout(false)}), and when the call returns or throws,
 * the caller gets a {@link TimeoutExceededException} stating the limit; the call's own exception, if
 * any (typically the {@link InterruptedException} the interrupt caused), is attached as suppressed. The
 * interrupt the timeout delivered is cleared before the exception is thrown, so it never leaks into
 * later code; an interrupt that was already pending is left alone. Code that ignores interrupts runs
 * to its end, and its result is then discarded.
 *
 * <p><b>Asynchronous calls</b> complete the returned future exceptionally with
 * {@link TimeoutExceededException} at the deadline, and cancel the underlying future (unless built
 * with {@code cancelOnTimeout(false)}). Cancelling the returned future cancels the underlying one.
 * Dependent stages of a timed-out future run on the scheduler's {@link Scheduler#executor() executor}
 * (for the shared scheduler, a small daemon pool), never on its timer thread; use the
 * {@code ...Async} variants with your own executor for blocking continuations.
 *
 * <p><b>Deadlines.</b> While the call runs, {@link Deadline#current()} returns its deadline, so code
 * inside can bound its own waits. If an enclosing deadline ends earlier than this timeout's own
 * limit, the earlier one applies (and the exception says so).
 *
 * <p>Cost per synchronous call: one clock read and three small objects (the deadline, the race
 * state between call and timer, and the scheduler's entry: 104 bytes in all, measured with JMH {@code -prof gc}); the shared
 * {@link Scheduler} schedules and cancels lock-free. Counting and events for a timeout happen on the
 * caller's thread (sync) or the scheduler's {@link Scheduler#executor() executor} (async), never on the
 * timer thread.
 *
 * <p>Immutable and thread-safe.
 *
 * <pre>{@code
 * Timeout timeout = Timeout.of(Duration.ofMillis(250));
 * String body = timeout.call(() -> fetch(uri));
 * }</pre>
 */
public final class Timeout implements Policy {
    private final String name;
    private final Duration limit;
    private final long limitNanos;
    private final boolean interruptOnTimeout;
    private final boolean cancelOnTimeout;
    private final Ticker ticker;
    private final Scheduler scheduler;
    private final EventPublisher events;
    private final LongAdder successes = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder timeouts = new LongAdder();

    private Timeout(Builder builder) {
        this.name = builder.name;
        this.limit = builder.limit;
        this.limitNanos = Checks.toNanosSaturated(builder.limit);
        this.interruptOnTimeout = builder.interruptOnTimeout;
        this.cancelOnTimeout = builder.cancelOnTimeout;
        this.scheduler = builder.scheduler;
        // Deadlines are readings of the scheduler's own clock, so a timer is scheduled at the reading
        // already taken (one clock read per call), and virtual time cannot be mixed up with real time.
        this.ticker = builder.scheduler.ticker();
        this.events = EventPublisher.of(builder.listeners);
    }

    /**
     * Returns a timeout named {@code "timeout"} with the given limit and default settings.
     *
     * @param limit the time limit, positive
     * @return the timeout
     * @throws IllegalArgumentException if {@code limit} is null, zero, negative or over about 73 years
     */
    public static Timeout of(Duration limit) {
        return builder(limit).build();
    }

    /**
     * Starts a builder.
     *
     * @param limit the time limit, positive
     * @return a new builder
     * @throws IllegalArgumentException if {@code limit} is null, zero, negative or over about 73 years
     */
    public static Builder builder(Duration limit) {
        return new Builder(limit);
    }

    /** @return the configured limit */
    public Duration limit() {
        return limit;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "timeout";
    }

    @Override
    public <A, T> T execute(CheckedFunction<? super A, ? extends T> action, A argument) throws Exception {
        Checks.notNull(action, "action");
        long now = ticker.read();
        long effective = effectiveLimitNanos();
        boolean inherited = effective < limitNanos;
        if (effective <= 0) {
            throw timedOut(0L, inherited, now);
        }
        SyncWatch watch = new SyncWatch(this, Thread.currentThread(), effective, inherited);
        Scheduler.Task task = scheduler.scheduleAt(watch, now + effective);
        Deadline previous = Deadline.enter(new Deadline(ticker, now + effective));
        T result;
        try {
            result = action.apply(argument);
        } catch (Throwable failure) {
            Deadline.exit(previous);
            if (watch.finish()) {
                task.cancel();
                failures.increment();
                throw failure;
            }
            throw watch.afterTimeout(failure);
        }
        Deadline.exit(previous);
        if (watch.finish()) {
            task.cancel();
            successes.increment();
            return result;
        }
        throw watch.afterTimeout(null);
    }

    @Override
    public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> call) {
        Checks.notNull(call, "call");
        long now = ticker.read();
        long effective = effectiveLimitNanos();
        boolean inherited = effective < limitNanos;
        if (effective <= 0) {
            return CompletableFuture.failedFuture(timedOut(0L, inherited, now));
        }
        CompletionStage<T> stage;
        Deadline previous = Deadline.enter(new Deadline(ticker, now + effective));
        try {
            stage = LinkedFuture.start(call);
        } finally {
            Deadline.exit(previous);
        }
        AsyncWatch<T> watch = new AsyncWatch<>(this, effective, inherited);
        watch.link(stage); // first, so a timer firing at once finds the source to cancel
        if (watch.isDone()) {
            return watch; // the stage had already completed (or could not start): no timer needed
        }
        Scheduler.Task task;
        try {
            task = scheduler.scheduleAt(watch, now + effective);
        } catch (RuntimeException cannotSchedule) {
            // No deadline can be enforced (a scheduler shut down): fail rather than run unbounded.
            if (watch.completeExceptionally(cannotSchedule)) {
                watch.cancelSource(true);
            }
            return watch;
        }
        // Write task, then read isDone; onSourceCompleted completes, then reads task. Both are
        // volatile accesses, so at least one side sees the other and the timer is always cancelled.
        watch.task = task;
        if (watch.isDone()) {
            task.cancel();
        }
        return watch;
    }

    /** This timeout's limit, or the time left before the enclosing deadline if that is less. */
    private long effectiveLimitNanos() {
        Deadline outer = Deadline.currentOrNull();
        return outer == null ? limitNanos : Math.min(limitNanos, outer.remainingNanos());
    }

    /**
     * Counts and reports a timeout and returns the exception for it. Runs on the caller's thread
     * (sync) or on the scheduler's executor (async), never on the timer thread, so listeners cannot
     * hold up other timers.
     */
    private TimeoutExceededException timedOut(long effectiveNanos, boolean inherited, long firedAtNanos) {
        TimeoutExceededException timedOut = new TimeoutExceededException(name, Duration.ofNanos(effectiveNanos), inherited);
        recordTimeout(timedOut.limit(), firedAtNanos);
        return timedOut;
    }

    /** Counts a timeout and publishes its event. */
    private void recordTimeout(Duration applied, long firedAtNanos) {
        timeouts.increment();
        if (events.isEnabled()) {
            events.publish(new PolicyEvent.TimedOut(name, kind(), firedAtNanos, applied));
        }
    }

    @Override
    public void describeMetrics(MetricsSink sink) {
        sink.counter(MetricsSink.CALLS, "Calls that completed within the limit with a result", "success", successes::sum);
        sink.counter(MetricsSink.CALLS, "Calls that failed within the limit", "failure", failures::sum);
        sink.counter(MetricsSink.CALLS, "Calls that exceeded the limit", "timeout", timeouts::sum);
    }

    /** @return calls that returned within the limit (a snapshot; the counter is striped) */
    public long successCount() {
        return successes.sum();
    }

    /** @return calls that threw within the limit */
    public long failureCount() {
        return failures.sum();
    }

    /** @return calls that exceeded the limit */
    public long timeoutCount() {
        return timeouts.sum();
    }

    @Override
    public String toString() {
        return "Timeout[" + name + ", limit=" + limit + "]";
    }

    /**
     * The race between a synchronous call finishing and its deadline firing.
     *
     * <p>{@code state} starts RUNNING. The caller CASes RUNNING to DONE when the call ends; the timer
     * CASes RUNNING to FIRING, interrupts the caller if configured, then writes TIMED_OUT with release
     * semantics. Exactly one CAS wins. A caller that loses waits until TIMED_OUT (the timer does nothing
     * between the two but the interrupt: no user code, so the wait is short), whose acquire read makes
     * {@code interruptedByTimer} and {@code firedAt} visible, and only then clears the interrupt: without
     * that handshake, the timer's interrupt could land after the caller cleared it and leak into
     * unrelated code. Counting and events happen afterwards on the caller's thread.
     *
     * <p>Known narrow window: if a third party interrupts the caller between the timer's
     * {@code isInterrupted()} check and its {@code interrupt()}, the caller clears that interrupt too.
     */
    private static final class SyncWatch implements Runnable {
        private static final int RUNNING = 0;
        private static final int DONE = 1;
        private static final int FIRING = 2;
        private static final int TIMED_OUT = 3;
        private static final VarHandle STATE;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(SyncWatch.class, "state", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final Timeout timeout;
        private final Thread caller;
        private final long effectiveNanos;
        private final boolean inherited;
        /** Written by the timer before its release-store of TIMED_OUT; read by the caller after acquiring it. */
        private boolean interruptedByTimer;
        /** The clock when the deadline fired; published like {@code interruptedByTimer}. */
        private long firedAt;
        @SuppressWarnings("unused")
        private volatile int state;

        SyncWatch(Timeout timeout, Thread caller, long effectiveNanos, boolean inherited) {
            this.timeout = timeout;
            this.caller = caller;
            this.effectiveNanos = effectiveNanos;
            this.inherited = inherited;
        }

        /** Timer side. */
        @Override
        public void run() {
            if (!STATE.compareAndSet(this, RUNNING, FIRING)) {
                return;
            }
            try {
                firedAt = timeout.ticker.read();
                if (timeout.interruptOnTimeout && !caller.isInterrupted()) {
                    caller.interrupt();
                    interruptedByTimer = true;
                }
            } finally {
                STATE.setRelease(this, TIMED_OUT);
            }
        }

        /** Caller side: true if the call finished before the deadline. */
        boolean finish() {
            return STATE.compareAndSet(this, RUNNING, DONE);
        }

        /** Caller side, after {@link #finish()} lost: waits for the timer, clears its interrupt. */
        TimeoutExceededException afterTimeout(Throwable failure) {
            while ((int) STATE.getAcquire(this) != TIMED_OUT) {
                Thread.onSpinWait();
            }
            if (interruptedByTimer) {
                Thread.interrupted(); // clear only the interrupt the timer delivered
            }
            TimeoutExceededException timedOut = timeout.timedOut(effectiveNanos, inherited, firedAt);
            if (failure != null) {
                if (failure instanceof Error) {
                    throw (Error) failure; // errors are never masked, not even by a timeout
                }
                timedOut.addSuppressed(failure);
            }
            return timedOut;
        }
    }

    /**
     * The future {@link #callAsync} returns: completed by the underlying stage or by the timer,
     * whichever comes first ({@code CompletableFuture}'s own completion CAS decides).
     */
    private static final class AsyncWatch<T> extends LinkedFuture<T> implements Runnable {
        private final Timeout timeout;
        private final long effectiveNanos;
        private final boolean inherited;
        /** The deadline task; null until scheduled (the stage may complete before that). */
        volatile Scheduler.Task task;

        AsyncWatch(Timeout timeout, long effectiveNanos, boolean inherited) {
            this.timeout = timeout;
            this.effectiveNanos = effectiveNanos;
            this.inherited = inherited;
        }

        /** The underlying stage completed: complete first, then read {@code task} (see callAsync). */
        @Override
        void onSourceCompleted(T value, Throwable failure) {
            if (failure == null) {
                if (complete(value)) {
                    timeout.successes.increment();
                }
            } else if (completeExceptionally(failure)) {
                timeout.failures.increment();
            }
            Scheduler.Task scheduled = task;
            if (scheduled != null) {
                scheduled.cancel();
            }
        }

        /**
         * The deadline passed (on the timer thread). Completing the future runs its dependents, which
         * are user code (an outer fallback, say), so the completion is handed to the scheduler's
         * executor rather than run on the timer thread.
         */
        @Override
        public void run() {
            if (isDone()) {
                return;
            }
            long firedAt = timeout.ticker.read();
            try {
                timeout.scheduler.executor().execute(() -> expire(firedAt));
            } catch (RuntimeException rejected) {
                expire(firedAt); // executor shut down: better late on this thread than never
            }
        }

        private void expire(long firedAt) {
            TimeoutExceededException timedOut = new TimeoutExceededException(timeout.name, Duration.ofNanos(effectiveNanos), inherited);
            if (completeExceptionally(timedOut)) {
                timeout.recordTimeout(timedOut.limit(), firedAt);
                if (timeout.cancelOnTimeout) {
                    cancelSource(true);
                }
            }
        }

        @Override
        void onCancelled() {
            Scheduler.Task scheduled = task;
            if (scheduled != null) {
                scheduled.cancel();
            }
        }
    }

    /**
     * Configures a {@link Timeout}. Not thread-safe; {@link #build()} copies, so a builder can be
     * reused.
     */
    public static final class Builder {
        private final Duration limit;
        private String name = "timeout";
        private boolean interruptOnTimeout = true;
        private boolean cancelOnTimeout = true;
        private Scheduler scheduler = Scheduler.shared();
        private final List<PolicyEventListener> listeners = new ArrayList<>();

        private Builder(Duration limit) {
            this.limit = Checks.positiveUpToMax(limit, "limit");
        }

        /**
         * @param name the timeout's name, not blank (default {@code "timeout"})
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public Builder name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * @param interrupt whether a synchronous call's thread is interrupted at the deadline (default true)
         * @return this builder
         */
        public Builder interruptOnTimeout(boolean interrupt) {
            this.interruptOnTimeout = interrupt;
            return this;
        }

        /**
         * @param cancel whether an asynchronous call's future is cancelled at the deadline (default true)
         * @return this builder
         */
        public Builder cancelOnTimeout(boolean cancel) {
            this.cancelOnTimeout = cancel;
            return this;
        }

        /**
         * @param scheduler where deadlines are scheduled, and whose {@link Scheduler#ticker()} they are
         *                  measured by (default {@link Scheduler#shared()}); a {@link ManualScheduler}
         *                  puts the timeout in virtual time
         * @return this builder
         * @throws IllegalArgumentException if {@code scheduler} is null
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Checks.notNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Registers a listener for {@link PolicyEvent.TimedOut} events.
         *
         * @param listener the listener, not null
         * @return this builder
         * @throws IllegalArgumentException if {@code listener} is null
         */
        public Builder listener(PolicyEventListener listener) {
            listeners.add(Checks.notNull(listener, "listener"));
            return this;
        }

        /** @return a new, immutable timeout */
        public Timeout build() {
            return new Timeout(this);
        }
    }
}
