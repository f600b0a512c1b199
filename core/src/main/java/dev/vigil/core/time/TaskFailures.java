package dev.vigil.core.time;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs scheduled tasks so that one failing task never stops a scheduler. Stateless. */
final class TaskFailures {
    private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);

    private TaskFailures() {}

    static void runGuarded(Runnable task) {
        try {
            task.run();
        } catch (VirtualMachineError fatal) {
            throw fatal;
        } catch (Throwable failure) {
            LOG.warn("Scheduled task {} failed; ignored", task, failure);
        }
    }
}
