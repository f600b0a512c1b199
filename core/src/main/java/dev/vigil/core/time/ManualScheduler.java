package dev.vigil.core.time;

import dev.vigil.core.internal.Checks;
import java.time.Duration;
import java.util.PriorityQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link Scheduler} in virtual time: nothing runs until the test says so. {@link #advance(Duration)}
 * moves its {@link ManualTicker} forward and runs every task that falls due, in deadline order (ties
 * in the order they were scheduled), with the ticker set to each task's deadline while it runs, so a
 * task that reads the time sees its own deadline. Tasks that running tasks schedule are run too when
 * they fall due within the same advance.
 *
 * <p>Thread-safe: tasks may be scheduled and cancelled from any thread. Tasks run on the thread that
 * calls {@link #advance} or {@link #runDueTasks}, outside the queue's lock, so a task may schedule
 * further tasks; concurrent advances are serialised, so tasks always run in order. Its
 * {@link #executor()} runs work at once on the calling thread, keeping follow-up work (a timed-out
 * future's completion, say) inside the advance that caused it. Exceptions from tasks are logged and
 * ignored, as with any {@link Scheduler}; an {@link Error} (a failed assertion in a task, say)
 * propagates out of {@link #advance}, so the test sees it. This is a test tool: its locks are not on
 * any production path.
 */
public final class ManualScheduler implements Scheduler {
    private final ManualTicker ticker;
    // Locks are fine here: this is a test tool, never on a production path, and virtual time has to
    // be a total order that a lock gives simply. `lock` guards the queue and the sequence counter
    // (tasks run outside it, so they may schedule more).
    private final ReentrantLock lock = new ReentrantLock();
    /** Serialises advances, so tasks run in deadline order; reentrant, because a task may advance time itself. */
    private final ReentrantLock advancing = new ReentrantLock();
    private final PriorityQueue<Entry> queue = new PriorityQueue<>();
    private long sequence;

    /** Creates a scheduler with its own {@link ManualTicker} reading zero. */
    public ManualScheduler() {
        this(new ManualTicker());
    }

    /**
     * Creates a scheduler that drives the given ticker.
     *
     * @param ticker the virtual clock, not null
     * @throws IllegalArgumentException if {@code ticker} is null
     */
    public ManualScheduler(ManualTicker ticker) {
        this.ticker = Checks.notNull(ticker, "ticker");
    }

    /**
     * Returns the virtual clock this scheduler advances. Policies built with this scheduler use it
     * by default.
     *
     * @return the ticker
     */
    @Override
    public ManualTicker ticker() {
        return ticker;
    }

    @Override
    public Task schedule(Runnable task, long delayNanos) {
        Checks.notNull(task, "task");
        long due = ticker.read() + Math.min(Math.max(delayNanos, 0L), Checks.MAX_NANOS);
        lock.lock();
        try {
            Entry entry = new Entry(task, due, sequence++);
            queue.add(entry);
            return entry;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Advances virtual time by {@code amount}, running every task that falls due on the way.
     *
     * @param amount how far, zero or more
     * @return the number of tasks run
     * @throws IllegalArgumentException if {@code amount} is null or negative
     * @throws Error whatever {@link Error} a task threw (time then stays at that task's deadline)
     */
    public int advance(Duration amount) {
        Checks.nonNegative(amount, "amount");
        advancing.lock();
        try {
            long target = ticker.read() + Math.min(Checks.toNanosSaturated(amount), Checks.MAX_NANOS);
            int ran = 0;
            for (Entry next = pollDue(target); next != null; next = pollDue(target)) {
                ticker.advanceTo(next.due);
                if (next.claim()) {
                    TaskFailures.runReportingErrors(next.task);
                    ran++;
                }
            }
            ticker.advanceTo(target);
            return ran;
        } finally {
            advancing.unlock();
        }
    }

    /**
     * Advances virtual time by {@code nanos} (running what falls due) instead of waiting, so a
     * synchronous retry's back-off takes no real time. An interrupt pending on the calling thread is
     * honoured as a real sleep would: it is cleared and {@link InterruptedException} thrown.
     *
     * @param nanos how long; zero or negative only checks for an interrupt
     * @throws InterruptedException if the calling thread was interrupted
     */
    @Override
    public void sleep(long nanos) throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        if (nanos > 0) {
            advance(Duration.ofNanos(nanos));
        }
    }

    /** Runs follow-up work at once, on the calling thread (inside the advance that caused it). */
    @Override
    public Executor executor() {
        return Runnable::run;
    }

    /**
     * Runs the tasks that are due now (zero delay, or deadlines already passed) without moving time.
     *
     * @return the number of tasks run
     */
    public int runDueTasks() {
        return advance(Duration.ZERO);
    }

    /**
     * Returns how many tasks are scheduled and neither run nor cancelled.
     *
     * @return the pending task count
     */
    public int pendingTasks() {
        lock.lock();
        try {
            int pending = 0;
            for (Entry entry : queue) {
                if (entry.state.get() == Entry.PENDING) {
                    pending++;
                }
            }
            return pending;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns the delay until the earliest pending task, or -1 if none is pending.
     *
     * @return nanoseconds until the next task falls due (0 if overdue), or -1
     */
    public long nanosUntilNextTask() {
        lock.lock();
        try {
            queue.removeIf(entry -> entry.state.get() != Entry.PENDING);
            Entry head = queue.peek();
            return head == null ? -1L : Math.max(0L, head.due - ticker.read());
        } finally {
            lock.unlock();
        }
    }

    private Entry pollDue(long target) {
        lock.lock();
        try {
            for (;;) {
                Entry head = queue.peek();
                if (head == null || head.due - target > 0) {
                    return null;
                }
                queue.poll();
                if (head.state.get() == Entry.PENDING) {
                    return head;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "ManualScheduler[" + ticker + ", pending=" + pendingTasks() + "]";
    }

    private static final class Entry implements Task, Comparable<Entry> {
        static final int PENDING = 0;
        static final int STARTED = 1;
        static final int CANCELLED = 2;

        final Runnable task;
        final long due;
        final long sequence;
        final AtomicInteger state = new AtomicInteger(PENDING);

        Entry(Runnable task, long due, long sequence) {
            this.task = task;
            this.due = due;
            this.sequence = sequence;
        }

        boolean claim() {
            return state.compareAndSet(PENDING, STARTED);
        }

        @Override
        public boolean cancel() {
            return state.compareAndSet(PENDING, CANCELLED);
        }

        @Override
        public int compareTo(Entry other) {
            // By difference, not by value: deadlines on either side of a Long.MAX_VALUE wrap stay in order
            // (they are always less than 2^63 ns apart: delays are capped at MAX_NANOS).
            int byDue = Long.compare(due - other.due, 0L);
            return byDue != 0 ? byDue : Long.compare(sequence, other.sequence);
        }
    }
}
