package dev.vigil.bulkhead;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.time.Scheduler;
import dev.vigil.core.time.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.locks.LockSupport;

/**
 * A bounded queue of threads waiting for a permit, shared by {@link Bulkhead} (FIFO) and
 * {@link AdaptiveLimiter} (FIFO or LIFO, optionally with a CoDel-style queue timeout). No lock and no
 * {@code synchronized}: waiters park with {@link LockSupport}, so a waiting virtual thread unmounts
 * instead of pinning its carrier.
 *
 * <p><b>Hand-off.</b> A waiter is a node with a state word, WAITING until exactly one CAS moves it to
 * GRANTED (by a thread {@linkplain #drain draining} the queue, which has taken a permit for it and
 * stores it in the node before the CAS) or to CANCELLED (by its timeout task, or by the waiter itself
 * when interrupted). Whoever loses that CAS knows it at once: a drainer whose grant fails returns the
 * permit to the source and tries the next node; a waiter whose cancel fails was granted and owns the
 * permit (if it was interrupted, it releases the permit through the policy, which hands it on, and
 * throws). So a permit is never left with a node that gave up: the leak Failsafe's bulkhead has when a
 * timed-out waiter is handed a permit cannot happen.
 *
 * <p><b>No lost wake-up.</b> The two sides follow Dekker's pattern over volatile accesses: a waiter
 * adds its node to the deque and then drains (reads the source's capacity); a thread that frees
 * capacity writes it and then, if {@link #hasWaiters()}, drains (reads the deque). In the total order
 * of these accesses one of them sees the other's write, so a free permit and a waiting node never
 * both go unnoticed. A drain only stops when it read "no capacity" while the node it looked at was in
 * the deque, or the deque was empty.
 *
 * <p><b>Counting.</b> {@code waiting} counts nodes in state WAITING (plus a node between its count and
 * its insertion); it is incremented by a CAS below {@code maxWaiters} before the node is created and
 * decremented exactly once, by whoever wins the node's state CAS. Cancelled nodes are removed from the
 * deque by their own thread (O(waiters), bounded by {@code maxWaiters}), so the deque never grows
 * beyond the live waiters plus those about to leave.
 *
 * <p><b>CoDel timeout</b> (optional, {@code targetNanos > 0}): waiters report how long they waited
 * (their <em>sojourn</em>) when they leave. Per interval the smallest sojourn is kept; if even the
 * best-served waiter of an interval waited longer than the target, the queue is standing (not
 * absorbing a burst) and new waiters get the target as their timeout instead of the full max wait, until
 * an interval's minimum drops below the target again. The interval bookkeeping uses benign races
 * (plain CAS-free updates of a minimum and a deadline): a lost update only delays a mode switch by one
 * interval.
 */
final class WaitQueue {
    /** Where permits come from; implemented by the policy. */
    interface Source {
        /**
         * @param tag the waiter's tag (a policy-specific admission class)
         * @return a permit for a waiter with that tag, or {@link AdmissionPolicy#REJECTED} if there is no capacity
         */
        long tryTake(int tag);

        /** Returns a permit {@link #tryTake} produced that no waiter took. */
        void putBack(long permit);

        /** Ends a permit a waiter was granted but will not use (it was interrupted): the policy's release. */
        void release(long permit);
    }

    private static final VarHandle WAITING;

    static {
        try {
            WAITING = MethodHandles.lookup().findVarHandle(WaitQueue.class, "waiting", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ConcurrentLinkedDeque<Waiter> deque = new ConcurrentLinkedDeque<>();
    private final int maxWaiters;
    private final long maxWaitNanos;
    private final boolean lifo;
    private final long targetNanos;
    private final long intervalNanos;
    private final Scheduler scheduler;
    private final Ticker ticker;

    @SuppressWarnings("unused") // accessed through WAITING
    private volatile int waiting;
    /** CoDel: the end of the current interval, the least sojourn seen in it, and whether the queue is standing. Benign races. */
    private volatile long intervalEnd;
    private volatile long minSojourn = Long.MAX_VALUE;
    private volatile boolean standing;

    /**
     * @param maxWaiters    at least 1
     * @param maxWaitNanos  at least 1
     * @param lifo          serve the newest waiter first
     * @param targetNanos   CoDel target, or 0 for a fixed timeout
     * @param intervalNanos CoDel interval (ignored without a target)
     */
    WaitQueue(int maxWaiters, long maxWaitNanos, boolean lifo, long targetNanos, long intervalNanos, Scheduler scheduler) {
        this.maxWaiters = maxWaiters;
        this.maxWaitNanos = maxWaitNanos;
        this.lifo = lifo;
        this.targetNanos = targetNanos;
        this.intervalNanos = intervalNanos;
        this.scheduler = scheduler;
        this.ticker = scheduler.ticker();
        this.intervalEnd = ticker.read() + intervalNanos;
    }

    /** @return true if some thread waits (a volatile read: the second half of the releasing side's Dekker pair) */
    boolean hasWaiters() {
        return waiting() > 0;
    }

    /** @return the number of waiting threads now */
    int waiting() {
        return (int) WAITING.getVolatile(this);
    }

    /** @return the timeout a waiter arriving now gets: the max wait, or the CoDel target while the queue is standing */
    long timeoutNanos() {
        return targetNanos > 0 && standing ? targetNanos : maxWaitNanos;
    }

    /**
     * Takes a permit from {@code source} at once if nobody waits (waiters are served first), or else
     * waits for one in queue order until granted, timed out or interrupted: the synchronous acquire of
     * every policy with a queue.
     *
     * @return the permit, or {@link AdmissionPolicy#REJECTED} if the queue is full or the wait timed out
     * @throws InterruptedException if interrupted before or while waiting (as {@code Semaphore.acquire},
     *                              an interrupted caller gets no permit, even a free one); none is then held
     */
    long acquire(Source source, int tag) throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        if (!hasWaiters()) {
            long permit = source.tryTake(tag);
            if (permit != AdmissionPolicy.REJECTED) {
                return permit;
            }
        }
        if (!enter()) {
            return AdmissionPolicy.REJECTED;
        }
        long enqueuedAt = targetNanos > 0 ? ticker.read() : 0L; // only CoDel needs the sojourn
        Waiter node = new Waiter(this, Thread.currentThread(), tag);
        Scheduler.Task timeout;
        try {
            timeout = scheduler.schedule(node, timeoutNanos());
        } catch (RuntimeException | Error e) { // a scheduler that refuses work must not leave a phantom waiter
            leave();
            throw e;
        }
        if (lifo) {
            deque.offerFirst(node);
        } else {
            deque.offerLast(node);
        }
        drain(source); // first half of the waiter's Dekker pair: node published, now read capacity
        boolean interrupted = false;
        while (node.isWaiting()) {
            LockSupport.park(this);
            if (Thread.interrupted()) {
                interrupted = true;
                if (node.cancel()) {
                    leave();
                }
            }
        }
        timeout.cancel();
        if (targetNanos > 0) {
            reportSojourn(ticker.read() - enqueuedAt);
        }
        if (node.isGranted()) {
            long permit = node.permit; // written before the granting CAS, read after seeing GRANTED (acquire)
            if (interrupted) {
                source.release(permit); // hands the permit on to the next waiter
                throw new InterruptedException();
            }
            return permit;
        }
        deque.removeFirstOccurrence(node); // a no-op if a drainer already polled it
        if (interrupted) {
            throw new InterruptedException();
        }
        return AdmissionPolicy.REJECTED;
    }

    /**
     * Hands free capacity to waiters, head first, until the queue is empty or the source has no permit
     * for the head. Called by a waiter after enqueuing and by the policy after freeing capacity while
     * {@link #hasWaiters()}.
     */
    void drain(Source source) {
        for (;;) {
            Waiter head = deque.peekFirst();
            if (head == null) {
                return;
            }
            if (!head.isWaiting()) {
                deque.removeFirstOccurrence(head); // cancelled: its own thread would remove it too
                continue;
            }
            long permit = source.tryTake(head.tag);
            if (permit == AdmissionPolicy.REJECTED) {
                return; // read "no capacity" while head was in the deque: whoever frees capacity drains
            }
            Waiter polled = deque.pollFirst();
            if (polled != head && polled != null && polled.tag != head.tag) {
                // The head changed (LIFO arrival, or another drainer took head) to a node of another
                // admission class: re-take the permit for it. (Same class: the permit fits as it is.)
                source.putBack(permit);
                permit = source.tryTake(polled.tag);
                if (permit == AdmissionPolicy.REJECTED) {
                    deque.offerFirst(polled); // back in front; the loop re-reads capacity with it queued
                    continue;
                }
            }
            if (polled != null && polled.grant(permit)) {
                leave();
                LockSupport.unpark(polled.thread);
            } else {
                source.putBack(permit); // nobody to give it to (empty, or cancelled): loop re-checks
            }
        }
    }

    private boolean enter() {
        for (;;) {
            int now = (int) WAITING.getVolatile(this);
            if (now >= maxWaiters) {
                return false;
            }
            if (WAITING.compareAndSet(this, now, now + 1)) {
                return true;
            }
        }
    }

    private void leave() {
        WAITING.getAndAdd(this, -1);
    }

    private void reportSojourn(long sojourn) {
        if (sojourn < minSojourn) {
            minSojourn = sojourn; // benign race: a concurrent smaller report may be overwritten
        }
        long now = ticker.read();
        if (now - intervalEnd >= 0) {
            standing = minSojourn > targetNanos;
            minSojourn = Long.MAX_VALUE;
            intervalEnd = now + intervalNanos;
        }
    }

    /** One waiting thread. Runs as its own timeout task. */
    private static final class Waiter implements Runnable {
        private static final int WAITING = 0;
        private static final int GRANTED = 1;
        private static final int CANCELLED = 2;
        private static final VarHandle STATE;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(Waiter.class, "state", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final WaitQueue queue;
        final Thread thread;
        final int tag;
        /** Written by the granting drainer before its CAS on state (a volatile write that releases it). */
        long permit;
        @SuppressWarnings("unused") // accessed through STATE
        private volatile int state;

        Waiter(WaitQueue queue, Thread thread, int tag) {
            this.queue = queue;
            this.thread = thread;
            this.tag = tag;
        }

        boolean isWaiting() {
            return (int) STATE.getVolatile(this) == WAITING;
        }

        boolean isGranted() {
            return (int) STATE.getVolatile(this) == GRANTED;
        }

        boolean grant(long granted) {
            permit = granted;
            return STATE.compareAndSet(this, WAITING, GRANTED);
        }

        boolean cancel() {
            return STATE.compareAndSet(this, WAITING, CANCELLED);
        }

        /** The timeout: cancel if still waiting, and wake the thread to find out. */
        @Override
        public void run() {
            if (cancel()) {
                queue.leave();
                LockSupport.unpark(thread);
            }
        }
    }
}
