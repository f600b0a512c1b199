package dev.vigil.core.time;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/** {@link Scheduler} over a {@link ScheduledExecutorService}; as thread-safe as the executor. */
final class ExecutorScheduler implements Scheduler {
    private final ScheduledExecutorService executor;

    ExecutorScheduler(ScheduledExecutorService executor) {
        this.executor = executor;
    }

    @Override
    public Task schedule(Runnable task, long delayNanos) {
        if (task == null) {
            throw new IllegalArgumentException("task must not be null");
        }
        ScheduledFuture<?> future = executor.schedule(new Guarded(task), Math.max(0L, delayNanos), TimeUnit.NANOSECONDS);
        return () -> future.cancel(false);
    }

    @Override
    public java.util.concurrent.Executor executor() {
        return executor;
    }

    @Override
    public String toString() {
        return "Scheduler.of(" + executor + ")";
    }

    /** Logs and swallows a task's exception, as {@link Scheduler} promises. */
    private static final class Guarded implements Runnable {
        private final Runnable task;

        Guarded(Runnable task) {
            this.task = task;
        }

        @Override
        public void run() {
            TaskFailures.runGuarded(task);
        }
    }
}
