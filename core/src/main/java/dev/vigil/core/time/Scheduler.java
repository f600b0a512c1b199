package dev.vigil.core.time;

import dev.vigil.core.internal.Checks;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Runs a task once after a delay. Timeouts, asynchronous retries, hedges and scheduled state
 * transitions all go through a {@code Scheduler}, so tests can substitute a {@link ManualScheduler}
 * and run in virtual time.
 *
 * <p>Tasks must be short and must not block: they may run on the scheduler's own thread (the shared
 * scheduler has exactly one timer thread). Work that runs user code, such as completing a future
 * whose dependents are the user's, goes to {@link #executor()} instead. Implementations are
 * thread-safe: {@link #schedule} may be called from any thread, concurrently.
 */
public interface Scheduler {

    /**
     * Schedules {@code task} to run once, no earlier than {@code delayNanos} from now.
     *
     * @param task       the task; exceptions it throws are logged and ignored
     * @param delayNanos the delay in nanoseconds; zero or negative runs the task as soon as possible
     * @return a handle that cancels the task if it has not started
     * @throws IllegalArgumentException if {@code task} is null
     * @throws java.util.concurrent.RejectedExecutionException if the scheduler was shut down
     */
    Task schedule(Runnable task, long delayNanos);

    /**
     * Schedules {@code task} to run once, no earlier than the moment {@link #ticker()} reads
     * {@code deadlineNanos}. Lets a caller that already read the scheduler's clock avoid a second
     * read; the default converts to a delay.
     *
     * @param task          the task; exceptions it throws are logged and ignored
     * @param deadlineNanos a reading of {@link #ticker()}; one in the past runs the task as soon as possible
     * @return a handle that cancels the task if it has not started
     * @throws IllegalArgumentException if {@code task} is null
     * @throws java.util.concurrent.RejectedExecutionException if the scheduler was shut down
     */
    default Task scheduleAt(Runnable task, long deadlineNanos) {
        return schedule(task, deadlineNanos - ticker().read());
    }

    /**
     * Returns where follow-up work of a fired task runs when it may run user code (completing a
     * future, publishing events), so that such code never holds up the scheduler's timer thread. The
     * default is {@link ForkJoinPool#commonPool()}; the shared scheduler uses a small daemon pool of
     * its own, and a {@link ManualScheduler} runs the work at once on the thread that advances time.
     *
     * @return the executor for follow-up work
     */
    default Executor executor() {
        return ForkJoinPool.commonPool();
    }

    /**
     * Returns the clock this scheduler measures delays by. Policies built with this scheduler and no
     * explicit ticker use this one, so virtual time stays consistent.
     *
     * @return the scheduler's ticker
     */
    default Ticker ticker() {
        return Ticker.system();
    }

    /**
     * Blocks the calling thread for {@code nanos} of this scheduler's time: what a synchronous retry
     * does between attempts. The default sleeps for real ({@link java.util.concurrent.TimeUnit#sleep},
     * which parks rather than pins a virtual thread); a {@link ManualScheduler} instead advances its
     * virtual clock by {@code nanos}, running what falls due, so synchronous code under test never
     * waits.
     *
     * @param nanos how long; zero or negative returns at once
     * @throws InterruptedException if the thread is interrupted while waiting (the interrupt status is
     *                              then cleared, as usual for methods that throw it)
     */
    default void sleep(long nanos) throws InterruptedException {
        if (nanos > 0) {
            java.util.concurrent.TimeUnit.NANOSECONDS.sleep(nanos);
        } else if (Thread.interrupted()) {
            throw new InterruptedException();
        }
    }

    /**
     * Schedules {@code task} to run once after {@code delay}.
     *
     * @param task  the task
     * @param delay the delay, not null
     * @return a handle that cancels the task if it has not started
     * @throws IllegalArgumentException if an argument is null
     */
    default Task schedule(Runnable task, Duration delay) {
        Checks.notNull(delay, "delay");
        return schedule(task, Checks.toNanosSaturated(delay));
    }

    /**
     * The scheduler Vigil's policies use by default: one daemon thread for the whole JVM (never a
     * thread per policy), started on first use, driving a hashed timing wheel with a one-millisecond
     * tick. Scheduling and cancelling take no lock: a task is published with a single CAS and a
     * cancellation is a single CAS; the timer thread does all the bookkeeping. Its
     * {@link #executor()} is a daemon pool of {@code max(2, cores)} threads, created on first use.
     *
     * @return the shared scheduler
     */
    static Scheduler shared() {
        return WheelScheduler.Holder.SHARED;
    }

    /**
     * Adapts a {@link ScheduledExecutorService}. Its tasks then run on the executor's threads, and
     * scheduling takes the executor's internal lock.
     *
     * @param executor the executor, not null
     * @return a scheduler that schedules on {@code executor}
     * @throws IllegalArgumentException if {@code executor} is null
     */
    static Scheduler of(ScheduledExecutorService executor) {
        return new ExecutorScheduler(Checks.notNull(executor, "executor"));
    }

    /**
     * A scheduled task. Thread-safe.
     */
    interface Task {
        /**
         * Cancels the task if it has not started yet.
         *
         * @return true if this call cancelled it; false if it already ran, is running or was
         *     cancelled before
         */
        boolean cancel();
    }
}
