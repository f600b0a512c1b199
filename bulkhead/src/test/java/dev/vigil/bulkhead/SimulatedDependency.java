package dev.vigil.bulkhead;

import dev.vigil.core.time.ManualScheduler;
import java.util.PriorityQueue;

/**
 * A dependency with a fixed service rate, in virtual time: {@code servers} servers, each serving one
 * call at a time for exactly {@code serviceNanos}, fed from one FIFO queue. Its capacity is
 * {@code servers / serviceNanos} calls per unit of time and its no-load latency is {@code serviceNanos};
 * a call's latency is its wait in the queue plus {@code serviceNanos}, so latency grows with the number
 * of calls sent to it at once beyond {@code servers} (Little's law: {@code n} calls in it take
 * {@code n x serviceNanos / servers} each).
 *
 * <p>With deterministic service times and FIFO order, when a call starts is known as it arrives (the
 * earliest time a server is free, not before the arrival), so the queue is a heap of the servers'
 * free times and each call is one completion task on the {@link ManualScheduler}. Single-threaded, as
 * the simulation that drives it.
 */
final class SimulatedDependency {
    private final ManualScheduler scheduler;
    private final long serviceNanos;
    /** When each server is next free; a server free in the past serves an arriving call at once. */
    private final PriorityQueue<Long> freeAt = new PriorityQueue<>();
    private int inside;

    SimulatedDependency(ManualScheduler scheduler, int servers, long serviceNanos) {
        this.scheduler = scheduler;
        this.serviceNanos = serviceNanos;
        for (int server = 0; server < servers; server++) {
            freeAt.add(Long.MIN_VALUE);
        }
    }

    /**
     * Sends a call now; {@code done} runs (on the scheduler, the ticker reading the completion time)
     * when it completes.
     *
     * @return the virtual time at which it will complete
     */
    long submit(Runnable done) {
        long now = scheduler.ticker().read();
        long start = Math.max(now, freeAt.poll());
        long end = start + serviceNanos;
        freeAt.add(end);
        inside++;
        scheduler.scheduleAt(() -> {
            inside--;
            done.run();
        }, end);
        return end;
    }

    /** @return the calls queued or in service now */
    int inside() {
        return inside;
    }
}
