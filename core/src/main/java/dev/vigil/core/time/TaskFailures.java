package dev.vigil.core.time;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs scheduled tasks so that one failing task never stops a scheduler: every {@link Throwable} is
 * logged and swallowed, errors included (a {@code StackOverflowError} in one task must not kill the
 * only timer thread and with it every timeout in the JVM). Stateless.
 */
final class TaskFailures {
    private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);

    private TaskFailures() {}

    /**
     * Runs a task of a test scheduler: exceptions are logged and ignored as with any scheduler, but an
     * {@link Error} (a failed assertion inside a task, say) propagates to the thread advancing virtual
     * time, so the test sees it.
     */
    static void runReportingErrors(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException failure) {
            LOG.warn("Scheduled task {} failed; ignored", task, failure);
        }
    }

    static void runGuarded(Runnable task) {
        try {
            task.run();
        } catch (Throwable failure) {
            try {
                LOG.warn("Scheduled task {} failed; ignored", task, failure);
            } catch (Throwable loggingFailure) {
                // Nothing more can be done (e.g. out of memory while logging); keep the scheduler alive.
            }
        }
    }
}
