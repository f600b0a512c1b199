package dev.vigil.bulkhead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Outcome;
import dev.vigil.core.testing.VirtualThreads;
import dev.vigil.core.time.Scheduler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;

/**
 * Many threads hammer one small {@link Bulkhead} whose waiters time out on the real shared scheduler
 * ({@link Scheduler#shared()}, a timing wheel with a 1 ms tick) after a max wait of 2 ms: 8 platform
 * threads, and on JDK 21+ 5,000 virtual threads. Each thread runs a fixed, seeded mix of
 * {@code tryAcquirePermit}, waiting {@code acquirePermit} (granted, timed out, refused because
 * {@code maxWaiters} wait, or interrupted by another worker, before or while it waits), holds an
 * admitted permit across a {@link Thread#yield()}, and ends it by {@code complete} (each outcome) or
 * {@code release}. Checked: a count of the threads holding a permit (raised after admission, lowered
 * before the end) never exceeds the cap; every attempt ended exactly once (admitted, refused or
 * interrupted, and every admitted permit ended); the bulkhead counted exactly the refusals the threads
 * saw; at rest every permit is free and nobody waits. This is where timeouts on a real scheduler and
 * interrupts at any moment race with grants, which the Lincheck test leaves out.
 *
 * <p><b>Pinning.</b> During the virtual-thread run a JFR recording takes every
 * {@code jdk.VirtualThreadPinned} event (threshold 0, with stack traces), and the test fails if a
 * pinned stack has a {@code dev.vigil} frame: a waiter must park, unmounting its virtual thread, not
 * block its carrier. What that can catch depends on the JDK: on 21 to 23 a virtual thread pins when it
 * parks inside {@code synchronized} (or {@code Object.wait}), so a lock added to the wait path fails
 * the test; since JDK 24 (JEP 491) monitors no longer pin, and the remaining pins are parking with a
 * native or VM frame on the stack, such as a wait started inside a class initializer or under a native
 * (JNI or foreign-function) upcall. On JDK 25 the check was seen to fail by making a worker wait for a
 * permit inside a static initializer ("VM call to ...{@code <clinit>} on stack"); a {@code synchronized}
 * around the wait no longer produces an event there.
 *
 * <p>Bounded in count (every thread runs a fixed number of attempts), with generous bounds on the
 * futures that only guard against a hang; no sleeps, and no timing assertions.
 */
class BulkheadStressTest {
    private static final int CAP = 3;
    private static final Duration MAX_WAIT = Duration.ofMillis(2);
    private static final int PLATFORM_THREADS = 8;
    private static final int PLATFORM_ATTEMPTS = 3_000;
    private static final int VIRTUAL_THREADS = 5_000;
    private static final int VIRTUAL_ATTEMPTS = 10;

    @Test
    void platformThreadsNeverExceedTheCapAndLoseNoPermit() throws Exception {
        ExecutorService executor = Executors.newFixedThreadPool(PLATFORM_THREADS);
        try {
            hammer(executor, PLATFORM_THREADS, PLATFORM_ATTEMPTS, 16);
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void virtualThreadsNeverExceedTheCapLoseNoPermitAndNeverPinInVigil() throws Exception {
        ExecutorService executor = VirtualThreads.executor(); // skips below JDK 21
        Path file = Files.createTempFile("bulkhead-pinning", ".jfr");
        try (Recording recording = new Recording()) {
            recording.enable("jdk.VirtualThreadPinned").withThreshold(Duration.ZERO).withStackTrace();
            recording.start();
            try {
                hammer(executor, VIRTUAL_THREADS, VIRTUAL_ATTEMPTS, 512);
            } finally {
                executor.shutdownNow();
                recording.stop();
            }
            recording.dump(file);
            List<String> pinnedInVigil = new ArrayList<>();
            int pinned = 0;
            for (RecordedEvent event : RecordingFile.readAllEvents(file)) {
                if (!event.getEventType().getName().equals("jdk.VirtualThreadPinned")) {
                    continue;
                }
                pinned++;
                if (event.getStackTrace() != null && hasVigilFrame(event.getStackTrace().getFrames())
                        && !inTheJdksInterruptClearing(event.getStackTrace().getFrames()) && !waitingForAJdkClassInitializer(event)) {
                    pinnedInVigil.add(describe(event));
                }
            }
            assertTrue(pinnedInVigil.isEmpty(), pinnedInVigil.size() + " of " + pinned
                    + " pinned virtual threads had a dev.vigil frame on the stack:\n" + String.join("\n", pinnedInVigil));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /**
     * On JDK 24+, {@code Thread.interrupted()} on an interrupted virtual thread clears the flag inside the
     * JDK's own {@code synchronized (interruptLock)} with preemption disabled, the lock
     * {@code Thread.interrupt()} holds while setting it; racing with the interrupter (this test
     * interrupts waiters), the clearing thread can block there pinned. The monitor is the JDK's, and
     * every caller that honours interrupts (j.u.c. locks included) clears them this way, so such an
     * event, whose top frame is that JDK method, is not a pin in Vigil's code. Any other pinned stack
     * with a Vigil frame still fails the test.
     */
    private static boolean inTheJdksInterruptClearing(List<RecordedFrame> frames) {
        if (frames.isEmpty() || frames.get(0).getMethod() == null) {
            return false;
        }
        return frames.get(0).getMethod().getType().getName().equals("java.lang.VirtualThread")
                && frames.get(0).getMethod().getName().equals("getAndClearInterrupt");
    }

    /**
     * A virtual thread that needs a JDK class another thread is initializing waits for it pinned: seen on
     * JDK 25 when the first {@code InterruptedException} of the run is built while JFR records
     * ("Waited for initialization of jdk.internal.event.ThrowableTracer by another thread"), with
     * Vigil's wait path further down the stack. The initializer is the JDK's; a wait for the initializer
     * of a Vigil class still fails the test, as does a wait inside one (a different reason).
     */
    private static boolean waitingForAJdkClassInitializer(RecordedEvent event) {
        if (!event.hasField("pinnedReason")) {
            return false;
        }
        String reason = event.getString("pinnedReason");
        String prefix = "Waited for initialization of ";
        return reason != null && reason.startsWith(prefix) && !reason.startsWith(prefix + "dev.vigil");
    }

    private static boolean hasVigilFrame(List<RecordedFrame> frames) {
        for (RecordedFrame frame : frames) {
            if (frame.getMethod() != null && frame.getMethod().getType().getName().startsWith("dev.vigil")) {
                return true;
            }
        }
        return false;
    }

    private static String describe(RecordedEvent event) {
        StringBuilder text = new StringBuilder("pinned");
        if (event.hasField("pinnedReason")) {
            text.append(" (").append(event.getString("pinnedReason")).append(')');
        }
        for (RecordedFrame frame : event.getStackTrace().getFrames()) {
            text.append("\n    at ").append(frame.getMethod().getType().getName()).append('.').append(frame.getMethod().getName());
        }
        return text.toString();
    }

    /** What the threads saw, summed. */
    static final class Tally {
        final AtomicLong attempts = new AtomicLong();
        final AtomicLong admitted = new AtomicLong();
        final AtomicLong refused = new AtomicLong();
        final AtomicLong interrupted = new AtomicLong();
        final AtomicLong ended = new AtomicLong();
        final AtomicLong admittedByAcquire = new AtomicLong();
        final AtomicInteger holders = new AtomicInteger();
        final AtomicInteger mostHolders = new AtomicInteger();

        @Override
        public String toString() {
            return "attempts " + attempts + ", admitted " + admitted + " (by acquirePermit " + admittedByAcquire + "), refused " + refused
                    + ", interrupted " + interrupted + ", ended " + ended + ", most holders " + mostHolders;
        }
    }

    private static void hammer(ExecutorService executor, int workers, int attemptsPerWorker, int maxWaiters) throws Exception {
        Bulkhead bulkhead = Bulkhead.builder().name("stress").maxConcurrentCalls(CAP).maxWait(MAX_WAIT).maxWaiters(maxWaiters)
                .scheduler(Scheduler.shared()).build();
        Tally tally = new Tally();
        AtomicReferenceArray<Thread> threads = new AtomicReferenceArray<>(workers);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            int worker = w;
            futures.add(executor.submit(() -> {
                threads.set(worker, Thread.currentThread());
                awaitStart(start); // other workers may interrupt this one before it starts
                work(bulkhead, tally, threads, new SplittableRandom(31L * worker + 7), attemptsPerWorker);
                Thread.interrupted(); // an interrupt that arrived after the last wait is not this task's business
                return null;
            }));
        }
        start.countDown();
        for (Future<?> future : futures) {
            future.get(60, TimeUnit.SECONDS);
        }

        String summary = tally.toString();
        assertTrue(tally.mostHolders.get() <= CAP, "at one moment " + tally.mostHolders + " threads held a permit, cap " + CAP + ": " + summary);
        assertEquals((long) workers * attemptsPerWorker, tally.attempts.get(), summary);
        assertEquals(tally.attempts.get(), tally.admitted.get() + tally.refused.get() + tally.interrupted.get(),
                "every attempt ended exactly once: " + summary);
        assertEquals(tally.admitted.get(), tally.ended.get(), "every admitted permit was ended: " + summary);
        assertEquals(tally.refused.get(), bulkhead.rejectedCount(), "the bulkhead counted the refusals the threads saw: " + summary);
        assertEquals(0, tally.holders.get());
        assertEquals(CAP, bulkhead.availablePermits(), "at rest every permit is free: " + summary);
        assertEquals(0, bulkhead.concurrentCalls());
        assertEquals(0, bulkhead.waitingCalls(), "at rest nobody waits: " + summary);
        assertTrue(tally.admitted.get() > 0 && tally.refused.get() > 0, "both admissions and refusals happened: " + summary);
        // A sanity check that the bulkhead still works: nothing holds a permit back.
        long permit = bulkhead.tryAcquirePermit();
        assertTrue(permit != AdmissionPolicy.REJECTED);
        bulkhead.release(permit);
        System.out.println("[BulkheadStressTest] " + summary);
    }

    /** Waits for the start; an interrupt meanwhile is kept for the first wait in the bulkhead. */
    private static void awaitStart(CountDownLatch start) {
        boolean interrupted = false;
        for (;;) {
            try {
                start.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void work(Bulkhead bulkhead, Tally tally, AtomicReferenceArray<Thread> threads, SplittableRandom random, int attempts) {
        for (int i = 0; i < attempts; i++) {
            tally.attempts.incrementAndGet();
            int choice = random.nextInt(100);
            long permit;
            boolean waiting = false;
            if (choice < 30) {
                permit = bulkhead.tryAcquirePermit();
            } else {
                if (choice >= 95) {
                    Thread.currentThread().interrupt(); // interrupted before it would wait
                }
                try {
                    permit = bulkhead.acquirePermit();
                    waiting = true;
                } catch (InterruptedException e) {
                    tally.interrupted.incrementAndGet();
                    continue;
                }
            }
            if (permit == AdmissionPolicy.REJECTED) {
                tally.refused.incrementAndGet();
                continue;
            }
            tally.admitted.incrementAndGet();
            if (waiting) {
                tally.admittedByAcquire.incrementAndGet();
            }
            // Raised after admission and lowered before the end: never above the bulkhead's own count.
            int now = tally.holders.incrementAndGet();
            tally.mostHolders.accumulateAndGet(now, Math::max);
            if (random.nextInt(10) == 0) {
                // Interrupt another worker: it may be waiting (it then leaves the queue, or, if granted at
                // that moment, hands the permit on) or running (its next wait then throws at once).
                Thread other = threads.get(random.nextInt(threads.length()));
                if (other != null && other != Thread.currentThread()) {
                    other.interrupt();
                }
            }
            Thread.yield(); // hold the permit while others try
            tally.holders.decrementAndGet();
            switch (random.nextInt(5)) {
                case 0:
                    bulkhead.complete(permit, Outcome.SUCCESS, 0L);
                    break;
                case 1:
                    bulkhead.complete(permit, Outcome.FAILURE, 0L);
                    break;
                case 2:
                    bulkhead.complete(permit, Outcome.IGNORED, 0L);
                    break;
                default:
                    bulkhead.release(permit);
            }
            tally.ended.incrementAndGet();
        }
    }
}
