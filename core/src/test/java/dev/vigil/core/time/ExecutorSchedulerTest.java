package dev.vigil.core.time;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ExecutorSchedulerTest {
    @Test
    void schedulesOnTheExecutorAndCancels() throws InterruptedException {
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
        try {
            Scheduler scheduler = Scheduler.of(executor);
            CountDownLatch ran = new CountDownLatch(1);
            scheduler.schedule(ran::countDown, Duration.ZERO);
            assertTrue(ran.await(10, TimeUnit.SECONDS));
            Scheduler.Task never = scheduler.schedule(() -> {
                throw new AssertionError("cancelled task ran");
            }, Duration.ofHours(1));
            assertTrue(never.cancel());
            assertFalse(never.cancel());
            assertThrows(IllegalArgumentException.class, () -> Scheduler.of(null));
            assertThrows(IllegalArgumentException.class, () -> scheduler.schedule(null, 1L));
            assertThrows(IllegalArgumentException.class, () -> scheduler.schedule(() -> {}, (Duration) null));
        } finally {
            executor.shutdownNow();
        }
    }
}
