package dev.vigil.bulkhead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.BulkheadFullException;
import dev.vigil.core.Outcome;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.health.Health;
import dev.vigil.core.time.ManualScheduler;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;
import net.jqwik.api.statistics.Statistics;

/**
 * {@link Bulkhead} as jqwik stateful properties: random action chains against a sequential model
 * written from the class javadoc, over random caps (1 to 8) and wait configurations, in virtual time
 * ({@link ManualScheduler}).
 *
 * <p><b>The model.</b> {@code inFlight} permits out of {@code cap}, a FIFO queue of waiters, each with
 * the deadline {@code arrival + maxWait}, and the refusals. An admission without waiting
 * ({@code tryAcquirePermit}, {@code callAsync}) succeeds iff nobody waits and {@code inFlight < cap};
 * a synchronous arrival ({@code acquirePermit}) takes a permit at once under the same condition, is
 * refused at once if {@code maxWaiters} wait already (or there is no max wait), and waits otherwise;
 * ending a permit ({@code complete} with any outcome, {@code release}, {@code onResult} with an
 * {@link InterruptedException}, the end or the cancellation of an asynchronous call) hands it to the
 * longest waiter if there is one, else frees it; advancing time times out (refuses) every waiter whose
 * deadline has come; an interrupted waiter leaves the queue with an {@link InterruptedException} and no
 * permit. Every refusal is counted and published as one {@link PolicyEvent.Rejected}.
 *
 * <p><b>Checked after every step:</b> the admission decision; which waiter got a freed permit (the
 * head: a permit given to anyone else leaves the head parked, which fails the step); in flight never
 * above the cap and equal to the model's count and to the permits the harness holds (no permit lost or
 * duplicated); {@code concurrentCalls() + availablePermits() == cap}; {@code waitingCalls()};
 * {@code rejectedCount()} and the events; health (DEGRADED iff saturated). At the end of every chain
 * all waiters are timed out and all permits ended, and the bulkhead must be back at rest: every permit
 * free, nobody waiting, no timeout task pending.
 *
 * <p><b>Threads, deterministically.</b> The permit pool is striped by thread, so the non-waiting
 * operations run, one at a time, on one of four caller threads (chosen by the chain), which moves
 * permits between stripes and makes refusals scan other stripes. Waiters are real threads (a pool):
 * the harness lets each step settle before the next (a new waiter is parked in the queue, or has its
 * answer; a granted, timed-out or interrupted waiter has returned), so each step's outcome is
 * determined and the chain is a sequential history. {@link #permitChains} has no waiters (500 chains,
 * caps 1 to 8, with or without a max wait configured); {@link #waitingChains} adds arrivals, time and
 * interrupts (300 chains, caps 1 to 4, 1 to 4 waiters or the default).
 */
class BulkheadProperties {
    private static final long MS = 1_000_000L;
    private static final long GUARD_SECONDS = 10;

    /** Run the non-waiting operations, one at a time: four threads, so four home stripes. */
    private static final ExecutorService[] CALLERS = new ExecutorService[4];
    /** Waiting threads, reused across chains. */
    private static final ExecutorService WAITERS = Executors.newCachedThreadPool(daemon("bulkhead-property-waiter"));

    static {
        for (int i = 0; i < CALLERS.length; i++) {
            CALLERS[i] = Executors.newSingleThreadExecutor(daemon("bulkhead-property-caller-" + i));
        }
    }

    private static ThreadFactory daemon(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }

    // ------------------------------------------------------------------ configuration

    /**
     * @param cap          maxConcurrentCalls
     * @param maxWaitNanos 0: no waiting
     * @param maxWaiters   0: the default (the cap) when waiting
     */
    record Config(int cap, long maxWaitNanos, int maxWaiters) {
        int effectiveMaxWaiters() {
            return maxWaitNanos == 0 ? 0 : maxWaiters > 0 ? maxWaiters : cap;
        }

        Bulkhead build(ManualScheduler scheduler, AtomicLong rejections, AtomicLong otherEvents) {
            Bulkhead.Builder builder = Bulkhead.builder().name("modelled").maxConcurrentCalls(cap).scheduler(scheduler)
                    .listener(event -> (event instanceof PolicyEvent.Rejected ? rejections : otherEvents).incrementAndGet());
            if (maxWaitNanos > 0) {
                builder.maxWait(Duration.ofNanos(maxWaitNanos));
                if (maxWaiters > 0) {
                    builder.maxWaiters(maxWaiters);
                }
            }
            return builder.build();
        }
    }

    private static Arbitrary<Long> maxWaits() {
        return Arbitraries.oneOf(Arbitraries.longs().between(1, 50).map(ms -> ms * MS), Arbitraries.of(1L, 2L, 1_000L));
    }

    @Provide
    Arbitrary<Config> permitConfigs() {
        return Combinators.combine(Arbitraries.integers().between(1, 8),
                Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just(0L)), Tuple.of(1, maxWaits())),
                Arbitraries.integers().between(0, 4))
                .as((cap, wait, waiters) -> new Config(cap, wait, wait == 0 ? 0 : waiters));
    }

    @Provide
    Arbitrary<Config> waitingConfigs() {
        return Combinators.combine(Arbitraries.integers().between(1, 4), maxWaits(), Arbitraries.integers().between(0, 4))
                .as(Config::new);
    }

    // ------------------------------------------------------------------ the model

    static final class Model {
        final int cap;
        final int maxWaiters;
        final long maxWaitNanos;
        int inFlight;
        long now;
        long rejected;
        /** Waiter ids in arrival order, with their deadlines. */
        final Map<Integer, Long> queue = new LinkedHashMap<>();

        Model(Config config) {
            this.cap = config.cap();
            this.maxWaiters = config.effectiveMaxWaiters();
            this.maxWaitNanos = config.maxWaitNanos();
        }

        /** {@code tryAcquirePermit}: waiters are served first. */
        boolean tryAcquire() {
            if (queue.isEmpty() && inFlight < cap) {
                inFlight++;
                return true;
            }
            rejected++;
            return false;
        }

        enum Arrival { ADMITTED, QUEUED, REFUSED }

        Arrival arrive(int id) {
            if (queue.isEmpty() && inFlight < cap) {
                inFlight++;
                return Arrival.ADMITTED;
            }
            if (queue.size() >= maxWaiters) {
                rejected++;
                return Arrival.REFUSED;
            }
            queue.put(id, now + maxWaitNanos);
            return Arrival.QUEUED;
        }

        /** A permit ends: @return the waiter it is handed to, or -1 if it is freed. */
        int end() {
            Iterator<Integer> head = queue.keySet().iterator();
            if (head.hasNext()) {
                int granted = head.next();
                head.remove();
                return granted;
            }
            inFlight--;
            return -1;
        }

        /** @return the waiters timed out, in queue order */
        List<Integer> advance(long nanos) {
            now += nanos;
            List<Integer> timedOut = new ArrayList<>();
            for (Iterator<Map.Entry<Integer, Long>> it = queue.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<Integer, Long> waiter = it.next();
                if (waiter.getValue() - now <= 0) {
                    timedOut.add(waiter.getKey());
                    it.remove();
                }
            }
            rejected += timedOut.size();
            return timedOut;
        }

        void interrupt(int id) {
            queue.remove(id);
        }

        @Override
        public String toString() {
            return "Model[inFlight " + inFlight + "/" + cap + ", now " + now + ", queue " + queue + " (max " + maxWaiters + "), rejected "
                    + rejected + "]";
        }
    }

    // ------------------------------------------------------------------ the bulkhead plus the model

    /** A permit the harness holds: a synchronous one, or an asynchronous call in flight. */
    record Held(int id, long permit, CompletableFuture<String> underlying, CompletableFuture<String> returned) {
        boolean async() {
            return returned != null;
        }
    }

    /** A thread in {@code acquirePermit()}. */
    record WaitingThread(int id, CompletableFuture<Thread> thread, CompletableFuture<Long> result) {}

    static final class Harness {
        final Config config;
        final ManualScheduler scheduler = new ManualScheduler();
        final AtomicLong events = new AtomicLong();
        final AtomicLong otherEvents = new AtomicLong();
        final Bulkhead bulkhead;
        final Model model;
        final List<Held> held = new ArrayList<>();
        final Map<Integer, WaitingThread> waiting = new LinkedHashMap<>();
        final List<String> steps = new ArrayList<>();
        final List<String> covered = new ArrayList<>();
        int nextId;

        Harness(Config config) {
            this.config = config;
            this.bulkhead = config.build(scheduler, events, otherEvents);
            this.model = new Model(config);
            check();
        }

        String where() {
            return "after " + steps + "\n  " + config + "\n  " + model;
        }

        private <T> T on(int caller, Callable<T> action) {
            try {
                return CALLERS[caller].submit(action).get(GUARD_SECONDS, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new AssertionError("caller " + caller + " threw: " + where(), e.getCause());
            } catch (Exception e) {
                throw new AssertionError("caller " + caller + " did not answer: " + where(), e);
            }
        }

        void tryAcquire(int caller) {
            steps.add("tryAcquire@" + caller);
            long permit = on(caller, bulkhead::tryAcquirePermit);
            boolean admitted = model.tryAcquire();
            assertEquals(admitted, permit != AdmissionPolicy.REJECTED, () -> "tryAcquirePermit admitted? " + where());
            if (admitted) {
                assertTrue(permit >= 0, "a permit is never negative");
                held.add(new Held(nextId++, permit, null, null));
            } else {
                covered.add(model.queue.isEmpty() ? "refused at the cap" : "refused while someone waits");
            }
            check();
        }

        void callAsync(int caller) {
            steps.add("callAsync@" + caller);
            CompletableFuture<String> underlying = new CompletableFuture<>();
            CompletableFuture<String> returned = on(caller, () -> bulkhead.callAsync(() -> underlying).toCompletableFuture());
            boolean admitted = model.tryAcquire();
            assertEquals(admitted, !returned.isDone(), () -> "callAsync admitted? " + where());
            if (admitted) {
                held.add(new Held(nextId++, -1L, underlying, returned));
            } else {
                try {
                    returned.join();
                    fail("a refused asynchronous call fails");
                } catch (java.util.concurrent.CompletionException e) {
                    assertInstanceOf(BulkheadFullException.class, e.getCause());
                }
            }
            check();
        }

        /** Ends a held permit, by kind, on a caller thread. */
        void end(int index, EndKind kind, int caller) {
            if (held.isEmpty()) {
                return; // a shrunk chain may have dropped the acquire this step ended
            }
            Held h = held.remove(index % held.size());
            EndKind how = h.async() ? (kind.ordinal() % 2 == 0 ? EndKind.ASYNC_COMPLETE : EndKind.ASYNC_CANCEL)
                    : kind == EndKind.ASYNC_COMPLETE ? EndKind.SUCCESS : kind == EndKind.ASYNC_CANCEL ? EndKind.RELEASE : kind;
            steps.add(how + " #" + h.id() + "@" + caller);
            on(caller, () -> {
                switch (how) {
                    case SUCCESS:
                        bulkhead.complete(h.permit(), Outcome.SUCCESS, 0L);
                        break;
                    case FAILURE:
                        bulkhead.complete(h.permit(), Outcome.FAILURE, 3L);
                        break;
                    case IGNORED:
                        bulkhead.complete(h.permit(), Outcome.IGNORED, 0L);
                        break;
                    case ON_RESULT_FAILURE:
                        bulkhead.onResult(h.permit(), null, new IOException("failed"), 0L);
                        break;
                    case ON_RESULT_INTERRUPTED:
                        bulkhead.onResult(h.permit(), null, new InterruptedException(), 0L);
                        break;
                    case ASYNC_COMPLETE:
                        h.underlying().complete("done");
                        assertEquals("done", h.returned().getNow("pending"));
                        break;
                    case ASYNC_CANCEL:
                        assertTrue(h.returned().cancel(true));
                        break;
                    default:
                        bulkhead.release(h.permit());
                }
                return null;
            });
            covered.add("ended by " + how);
            int granted = model.end();
            if (granted >= 0) {
                long permit = awaitGranted(waiting.get(granted));
                waiting.remove(granted);
                assertNotEquals(AdmissionPolicy.REJECTED, permit, () -> "the head waiter #" + granted + " is granted: " + where());
                held.add(new Held(granted, permit, null, null));
                covered.add("a freed permit handed to the head waiter");
            }
            check();
        }

        void arrive() {
            int id = nextId++;
            steps.add("arrive #" + id);
            CompletableFuture<Thread> thread = new CompletableFuture<>();
            CompletableFuture<Long> result = new CompletableFuture<>();
            WAITERS.execute(() -> {
                thread.complete(Thread.currentThread());
                try {
                    result.complete(bulkhead.acquirePermit());
                } catch (Throwable t) {
                    result.completeExceptionally(t);
                }
            });
            WaitingThread w = new WaitingThread(id, thread, result);
            switch (model.arrive(id)) {
                case ADMITTED:
                    long permit = outcome(w);
                    assertNotEquals(AdmissionPolicy.REJECTED, permit, () -> "admitted without waiting: " + where());
                    held.add(new Held(id, permit, null, null));
                    break;
                case REFUSED:
                    assertEquals(AdmissionPolicy.REJECTED, outcome(w), () -> "refused at once: " + where());
                    covered.add(config.maxWaitNanos() == 0 ? "refused: no waiting" : "refused: maxWaiters wait");
                    break;
                default:
                    awaitParked(w);
                    waiting.put(id, w);
                    covered.add("waited");
            }
            check();
        }

        void advance(long nanos) {
            steps.add("advance " + nanos + "ns");
            scheduler.advance(Duration.ofNanos(nanos));
            for (int id : model.advance(nanos)) {
                WaitingThread w = waiting.remove(id);
                assertEquals(AdmissionPolicy.REJECTED, outcome(w), () -> "waiter #" + id + " timed out: " + where());
                covered.add("timed out");
            }
            check();
        }

        void interrupt(int index) {
            if (waiting.isEmpty()) {
                return;
            }
            WaitingThread w = new ArrayList<>(waiting.values()).get(index % waiting.size());
            steps.add("interrupt #" + w.id());
            waiting.remove(w.id());
            model.interrupt(w.id());
            w.thread().join().interrupt();
            try {
                w.result().get(GUARD_SECONDS, TimeUnit.SECONDS);
                fail("an interrupted waiter throws: " + where());
            } catch (ExecutionException e) {
                assertInstanceOf(InterruptedException.class, e.getCause(), this::where);
            } catch (Exception e) {
                throw new AssertionError("the interrupted waiter #" + w.id() + " did not return: " + where(), e);
            }
            covered.add("interrupted");
            check();
        }

        /** Times every waiter out and ends every permit: the bulkhead must be back at rest. */
        void finish() {
            if (!waiting.isEmpty()) {
                advance(model.maxWaitNanos);
            }
            int caller = 0;
            while (!held.isEmpty()) {
                end(0, EndKind.RELEASE, caller++ % CALLERS.length);
            }
            assertEquals(config.cap(), bulkhead.availablePermits(), this::where);
            assertEquals(0, bulkhead.waitingCalls(), this::where);
            assertEquals(0, scheduler.pendingTasks(), () -> "every timeout ran or was cancelled: " + where());
        }

        private long outcome(WaitingThread w) {
            try {
                return w.result().get(GUARD_SECONDS, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new AssertionError("waiter #" + w.id() + " threw: " + where(), e.getCause());
            } catch (Exception e) {
                throw new AssertionError("gave up waiting for waiter #" + w.id() + "'s answer: " + where(), e);
            }
        }

        /** Waits for the head's answer, failing at once if another waiter is answered instead. */
        private long awaitGranted(WaitingThread head) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GUARD_SECONDS);
            while (!head.result().isDone()) {
                for (WaitingThread other : waiting.values()) {
                    if (other != head && other.result().isDone()) {
                        fail("waiter #" + other.id() + " was answered (" + describe(other.result()) + ") instead of the head #"
                                + head.id() + ": " + where());
                    }
                }
                if (System.nanoTime() - deadline > 0) {
                    fail("gave up waiting for the head waiter #" + head.id() + " to be granted: " + where());
                }
                Thread.yield();
            }
            return outcome(head);
        }

        private void awaitParked(WaitingThread w) {
            Thread thread = w.thread().join();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GUARD_SECONDS);
            while (!(LockSupport.getBlocker(thread) instanceof WaitQueue)) {
                if (w.result().isDone()) {
                    fail("waiter #" + w.id() + " should wait but returned " + describe(w.result()) + ": " + where());
                }
                if (System.nanoTime() - deadline > 0) {
                    fail("gave up waiting for waiter #" + w.id() + " to park: " + where());
                }
                Thread.yield();
            }
        }

        private static String describe(CompletableFuture<Long> result) {
            try {
                return String.valueOf(result.join());
            } catch (RuntimeException e) {
                return String.valueOf(e.getCause());
            }
        }

        void check() {
            int cap = config.cap();
            int inFlight = bulkhead.concurrentCalls();
            assertTrue(inFlight >= 0 && inFlight <= cap, () -> "in flight " + inFlight + " within [0, cap]: " + where());
            assertEquals(cap, bulkhead.concurrentCalls() + bulkhead.availablePermits(), this::where);
            assertEquals(model.inFlight, inFlight, () -> "in flight: " + where());
            assertEquals(held.size(), inFlight, () -> "no permit lost or duplicated: " + where());
            assertEquals(model.queue.size(), bulkhead.waitingCalls(), () -> "waiting: " + where());
            assertEquals(new ArrayList<>(model.queue.keySet()), new ArrayList<>(waiting.keySet()), this::where);
            assertEquals(model.rejected, bulkhead.rejectedCount(), () -> "rejectedCount: " + where());
            assertEquals(model.rejected, events.get(), () -> "one Rejected event per refusal: " + where());
            assertEquals(0L, otherEvents.get(), "a bulkhead publishes only Rejected events");
            assertEquals(inFlight == cap ? Health.Status.DEGRADED : Health.Status.UP, bulkhead.health().status(), this::where);
        }

        @Override
        public String toString() {
            return "Harness[" + config + ", " + steps.size() + " steps]";
        }
    }

    enum EndKind {
        SUCCESS, FAILURE, IGNORED, RELEASE, ON_RESULT_FAILURE, ON_RESULT_INTERRUPTED, ASYNC_COMPLETE, ASYNC_CANCEL;

        boolean async() {
            return this == ASYNC_COMPLETE || this == ASYNC_CANCEL;
        }
    }

    // ------------------------------------------------------------------ actions

    static final class TryAcquire implements Action.Independent<Harness> {
        @Override
        public Arbitrary<Transformer<Harness>> transformer() {
            return Arbitraries.integers().between(0, CALLERS.length - 1)
                    .map(caller -> Transformer.mutate("tryAcquire@" + caller, h -> h.tryAcquire(caller)));
        }
    }

    static final class CallAsync implements Action.Independent<Harness> {
        @Override
        public Arbitrary<Transformer<Harness>> transformer() {
            return Arbitraries.integers().between(0, CALLERS.length - 1)
                    .map(caller -> Transformer.mutate("callAsync@" + caller, h -> h.callAsync(caller)));
        }
    }

    static final class End implements Action.Dependent<Harness> {
        @Override
        public boolean precondition(Harness h) {
            return !h.held.isEmpty();
        }

        @Override
        public Arbitrary<Transformer<Harness>> transformer(Harness h) {
            return Combinators.combine(Arbitraries.integers().between(0, h.held.size() - 1), Arbitraries.of(EndKind.class),
                    Arbitraries.integers().between(0, CALLERS.length - 1))
                    .as((index, kind, caller) -> Transformer.<Harness>mutate("end #" + index + " " + kind + "@" + caller,
                            s -> s.end(index, kind, caller)));
        }
    }

    static final class Arrive implements Action.Dependent<Harness> {
        @Override
        public boolean precondition(Harness h) {
            return h.waiting.size() < 6; // bounded threads: at most maxWaiters (<= 4 here) wait, the rest return at once
        }

        @Override
        public Arbitrary<Transformer<Harness>> transformer(Harness h) {
            return Arbitraries.just(Transformer.mutate("arrive", Harness::arrive));
        }
    }

    static final class Advance implements Action.Dependent<Harness> {
        @Override
        public Arbitrary<Transformer<Harness>> transformer(Harness h) {
            List<Arbitrary<Long>> choices = new ArrayList<>();
            choices.add(Arbitraries.longs().between(0, h.model.maxWaitNanos));
            if (!h.model.queue.isEmpty()) {
                long left = h.model.queue.values().iterator().next() - h.model.now;
                choices.add(Arbitraries.of(left - 1, left, left + 1).filter(a -> a >= 0)); // just before, at, after the head's deadline
            }
            return Arbitraries.oneOf(choices).map(nanos -> Transformer.<Harness>mutate("advance " + nanos + "ns", s -> s.advance(nanos)));
        }
    }

    static final class Interrupt implements Action.Dependent<Harness> {
        @Override
        public boolean precondition(Harness h) {
            return !h.waiting.isEmpty();
        }

        @Override
        public Arbitrary<Transformer<Harness>> transformer(Harness h) {
            return Arbitraries.integers().between(0, h.waiting.size() - 1)
                    .map(index -> Transformer.<Harness>mutate("interrupt #" + index, s -> s.interrupt(index)));
        }
    }

    @Provide
    Arbitrary<ActionChain<Harness>> permitChainsOf() {
        return permitConfigs().flatMap(config -> ActionChain.<Harness>startWith(() -> new Harness(config))
                .withAction(6, new TryAcquire())
                .withAction(6, new End())
                .withAction(2, new CallAsync())
                .withMaxTransformations(50));
    }

    @Provide
    Arbitrary<ActionChain<Harness>> waitingChainsOf() {
        return waitingConfigs().flatMap(config -> ActionChain.<Harness>startWith(() -> new Harness(config))
                .withAction(3, new TryAcquire())
                .withAction(5, new End())
                .withAction(1, new CallAsync())
                .withAction(5, new Arrive())
                .withAction(3, new Advance())
                .withAction(1, new Interrupt())
                .withMaxTransformations(40));
    }

    // ------------------------------------------------------------------ the properties

    @Property(seed = "5150001", tries = 500)
    void permitChains(@ForAll("permitChainsOf") ActionChain<Harness> chain) {
        Harness h = chain.run();
        h.finish();
        collect(h);
    }

    @Property(seed = "5150002", tries = 300)
    void waitingChains(@ForAll("waitingChainsOf") ActionChain<Harness> chain) {
        Harness h = chain.run();
        h.finish();
        collect(h);
    }

    private static void collect(Harness h) {
        Statistics.label("cap").collect(h.config.cap());
        for (String what : new java.util.TreeSet<>(h.covered)) {
            Statistics.label("chains exercising").collect(what);
        }
    }
}
