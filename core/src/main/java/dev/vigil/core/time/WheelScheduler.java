package dev.vigil.core.time;

import dev.vigil.core.internal.Checks;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The shared {@link Scheduler}: a hashed timing wheel driven by one daemon thread.
 *
 * <h2>Algorithm</h2>
 * Producers never touch the wheel. {@link #schedule} allocates a {@link Node} and pushes it with one
 * CAS on one of {@code STRIPES} Treiber stacks ({@code intake}, chosen by a hash of the thread's id
 * and padded apart, so concurrent producers rarely contend on one cache line). The timer thread owns
 * everything else: each tick it takes every stack whole with one {@code getAndSet(null)} each, files
 * each node into the bucket of its
 * deadline tick ({@code WHEEL_SIZE} buckets of {@code TICK_NANOS}; a bucket holds the nodes of every
 * round that hashes to it, each with its absolute deadline), then walks the buckets whose ticks have
 * passed, firing the nodes whose deadline has come and unlinking the cancelled ones. Cancelling is a
 * single CAS on the node's state; a cancelled node stays linked until the timer thread next visits
 * its bucket (at most one wheel turn, about a second): a benign delay in freeing memory, never a
 * missed or duplicated run.
 *
 * <h2>Memory ordering</h2>
 * <ul>
 *   <li>A node's fields are written before the CAS that pushes it (a volatile write, so a release);
 *       the timer thread's {@code getAndSet} of the stack (a volatile read-modify-write, so an
 *       acquire) makes them visible to it. After that only the timer thread reads or writes
 *       {@code next} and the bucket heads: plain accesses.</li>
 *   <li>{@code state} moves PENDING to CANCELLED (any thread) or PENDING to FIRED (timer thread) by
 *       CAS, so exactly one of cancel and run wins.</li>
 *   <li>Wake-ups (Dekker): before parking, the timer thread publishes when it plans to wake
 *       ({@code wakeAt}, a volatile write) and then re-reads every intake stack; a producer CASes its
 *       stack and then reads {@code wakeAt}. Volatile accesses are totally ordered, so at least one
 *       side sees the other's write: either the timer thread sees the new node and does not park, or
 *       the producer sees the plan and, if its deadline is earlier, claims {@code wakeAt} by CAS (so
 *       one producer, not all, pays for the unpark) and unparks the thread. No wake-up is lost.</li>
 * </ul>
 *
 * <h2>Parking</h2>
 * A bitmap records which buckets hold nodes. With none, the timer thread parks until a producer wakes
 * it; otherwise it parks until the next occupied bucket's tick (capped at {@code MAX_PARK_NANOS}, so
 * a clock that jumps, such as a suspended VM's or a test's virtual one, is noticed within 64 ms). A
 * quiet service with only long timeouts pending therefore wakes a few times per second, not once per
 * tick. Under load (at least {@code BUSY_INTAKE} new nodes per round) it parks one tick at most, so
 * the intake is drained often and short-lived nodes die young.
 *
 * <p>Thread-safe. Tasks run on the timer thread and must be short; a task that throws (anything,
 * errors included) is logged and the wheel goes on.
 */
final class WheelScheduler implements Scheduler {
    static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    static final int WHEEL_SIZE = 1024; // power of two: one turn is about one second
    private static final int MASK = WHEEL_SIZE - 1;
    private static final long MAX_DELAY_NANOS = Checks.MAX_NANOS;
    private static final long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(64);
    /**
     * Nodes taken from the intake in one round above which the wheel counts as busy and parks for
     * one tick at most: under load, frequent draining keeps the intake short, so nodes (mostly
     * cancelled at once) die young instead of piling up for a long park.
     */
    private static final int BUSY_INTAKE = 64;
    /** {@code wakeAt} while the timer thread is running: producers never need to unpark it. */
    private static final long AWAKE = Long.MIN_VALUE;
    /** {@code wakeAt} while the timer thread is parked with nothing pending: any push unparks it. */
    private static final long IDLE = Long.MAX_VALUE;

    private static final int PENDING = 0;
    private static final int FIRED = 1;
    private static final int CANCELLED = 2;

    /** Intake stacks: {@code 2^STRIPE_BITS}. */
    private static final int STRIPE_BITS = 3;
    private static final int STRIPES = 1 << STRIPE_BITS;
    /** Slots between two stacks' heads in {@code intake}: 16 references span at least 64 bytes. */
    private static final int PAD = 16;
    private static final VarHandle INTAKE = MethodHandles.arrayElementVarHandle(Node[].class);
    private static final VarHandle WAKE_AT;
    private static final VarHandle STATE;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            WAKE_AT = lookup.findVarHandle(WheelScheduler.class, "wakeAt", long.class);
            STATE = lookup.findVarHandle(Node.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Lazy holder: the shared timer thread starts on first use only. */
    static final class Holder {
        static final WheelScheduler SHARED = new WheelScheduler(Ticker.system(), "vigil-timer");

        private Holder() {}
    }

    /** Lazy holder of the shared follow-up pool: daemon threads, created on first use, idle ones retire. */
    private static final class DispatchHolder {
        static final Executor DISPATCH = new ForkJoinPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
                pool -> {
                    ForkJoinWorkerThread worker = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
                    worker.setName("vigil-dispatch-" + worker.getPoolIndex());
                    worker.setDaemon(true);
                    return worker;
                },
                null, true);

        private DispatchHolder() {}
    }

    private final Ticker ticker;
    private final long origin;
    private final Thread thread;

    /**
     * The heads of the intake Treiber stacks, stack {@code i} at index {@code (i + 1) * PAD} (padding
     * on both sides); accessed only through {@link #INTAKE} with volatile semantics.
     */
    private final Node[] intake = new Node[(STRIPES + 2) * PAD];
    /**
     * When the parked timer thread plans to wake (a ticker reading), {@link #IDLE} if never, or
     * {@link #AWAKE}; accessed through {@link #WAKE_AT}.
     */
    @SuppressWarnings("unused")
    private volatile long wakeAt = AWAKE;
    private volatile boolean shutdown;

    // Timer-thread-only state: plain fields.
    private final Node[] buckets = new Node[WHEEL_SIZE];
    /** Bit {@code i} is set while {@code buckets[i]} is non-empty. */
    private final long[] occupied = new long[WHEEL_SIZE / Long.SIZE];
    private long nextTick;
    private long linked;
    private int lastIntake;

    WheelScheduler(Ticker ticker, String threadName) {
        this.ticker = ticker;
        this.origin = ticker.read();
        this.thread = new Thread(this::loop, threadName);
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public Task schedule(Runnable task, long delayNanos) {
        checkAccepting(task);
        // Delays are capped at about 73 years so that deadline arithmetic never overflows. (scheduleAt
        // trusts its caller: deadlines are compared by difference, so even a wrapped one never fires early.)
        return push(task, ticker.read() + Math.min(Math.max(delayNanos, 0L), MAX_DELAY_NANOS));
    }

    @Override
    public Task scheduleAt(Runnable task, long deadlineNanos) {
        checkAccepting(task);
        return push(task, deadlineNanos);
    }

    private void checkAccepting(Runnable task) {
        if (task == null) {
            throw new IllegalArgumentException("task must not be null");
        }
        if (shutdown) {
            throw new RejectedExecutionException("scheduler is shut down");
        }
    }

    @Override
    public Ticker ticker() {
        return ticker;
    }

    @Override
    public Executor executor() {
        return DispatchHolder.DISPATCH;
    }

    private Node push(Runnable task, long deadline) {
        Node node = new Node(task, deadline);
        int slot = stripeSlot();
        Node head;
        do {
            head = (Node) INTAKE.getVolatile(intake, slot);
            node.next = head; // plain write, published by the CAS below
        } while (!INTAKE.compareAndSet(intake, slot, head, node));
        // Dekker pair with the timer thread's "publish wakeAt; re-read intake" (see class comment).
        long plannedWake = (long) WAKE_AT.getVolatile(this);
        if (plannedWake != AWAKE && (plannedWake == IDLE || deadline - plannedWake < 0)
                && WAKE_AT.compareAndSet(this, plannedWake, AWAKE)) {
            LockSupport.unpark(thread);
        }
        return node;
    }

    /** Stops the timer thread; pending tasks are dropped. For tests and non-shared instances. */
    void shutdown() {
        shutdown = true;
        LockSupport.unpark(thread);
    }

    private void loop() {
        try {
            while (!shutdown) {
                try {
                    tick();
                } catch (Throwable bug) {
                    // Tasks are guarded (TaskFailures); this is a defect in the wheel itself. Keep the
                    // only timer thread alive rather than silently stopping every timeout in the JVM.
                    TaskFailures.runGuarded(() -> {
                        throw new IllegalStateException("timer wheel failure", bug);
                    });
                }
            }
        } finally {
            shutdown = true; // if the thread ever ends, schedule() refuses work instead of dropping it
        }
    }

    /** One round of the timer thread: take new nodes, fire what is due, park until the next tick. */
    private void tick() {
        long now = ticker.read();
        long currentTick = (now - origin) / TICK_NANOS;
        drainIncoming(now);
        // Visit every bucket whose tick has passed; after a long stall (GC, suspended VM) a whole
        // turn covers every bucket, and each fires all of its nodes that are due.
        long behind = currentTick - nextTick + 1;
        int visits = (int) Math.min(Math.max(behind, 0), WHEEL_SIZE);
        for (int i = 0; i < visits; i++) {
            expire((int) ((nextTick + i) & MASK), now);
        }
        if (behind > 0) {
            nextTick = currentTick + 1;
        }
        park();
    }

    /**
     * Parks the timer thread. Busy (many new nodes last round): one tick, with {@code wakeAt} left
     * {@link #AWAKE} so producers never pay for an unpark. Quiet: until the next occupied bucket's
     * tick (at most {@code MAX_PARK_NANOS}), or forever with an empty wheel, publishing the plan so a
     * producer with an earlier deadline wakes it.
     */
    private void park() {
        long now = ticker.read();
        if (linked != 0 && lastIntake >= BUSY_INTAKE) {
            long untilNextTick = origin + nextTick * TICK_NANOS - now;
            LockSupport.parkNanos(this, Math.max(untilNextTick, 1_000L));
            return;
        }
        long planned;
        if (linked == 0) {
            planned = IDLE;
        } else {
            long wakeTick = nextTick + distanceToOccupied((int) (nextTick & MASK));
            long untilWake = origin + wakeTick * TICK_NANOS - now;
            planned = now + Math.min(Math.max(untilWake, 0L), MAX_PARK_NANOS);
            if (planned == IDLE || planned == AWAKE) {
                planned = planned == IDLE ? IDLE - 1 : AWAKE + 1; // a reading equal to a sentinel: move it off by 1 ns
            }
        }
        // Dekker pair with push(): publish the plan, then look for nodes pushed meanwhile.
        WAKE_AT.setVolatile(this, planned);
        if (intakeEmpty() && !shutdown) {
            if (planned == IDLE) {
                LockSupport.park(this);
            } else {
                long untilPlanned = planned - ticker.read();
                if (untilPlanned > 0) {
                    LockSupport.parkNanos(this, untilPlanned);
                }
            }
        }
        WAKE_AT.setVolatile(this, AWAKE);
    }

    /** Buckets from {@code start} (circularly) to the first occupied one; the wheel is not empty. */
    private int distanceToOccupied(int start) {
        for (int distance = 0; distance < WHEEL_SIZE; ) {
            int index = (start + distance) & MASK;
            long word = occupied[index >>> 6] >>> (index & 63);
            if (word != 0) {
                return distance + Long.numberOfTrailingZeros(word);
            }
            distance += Long.SIZE - (index & 63); // skip to the next word
        }
        return 0; // unreachable while linked > 0; wake at the next tick to be safe
    }

    /** The intake slot of the calling thread: a Fibonacci hash of its id picks one of the stacks. */
    @SuppressWarnings("deprecation") // Thread.getId(): threadId() needs Java 19; the build targets 17
    private static int stripeSlot() {
        int stripe = (int) ((Thread.currentThread().getId() * 0x9E37_79B9_7F4A_7C15L) >>> (64 - STRIPE_BITS));
        return (stripe + 1) * PAD;
    }

    private boolean intakeEmpty() {
        for (int i = 1; i <= STRIPES; i++) {
            if (INTAKE.getVolatile(intake, i * PAD) != null) {
                return false;
            }
        }
        return true;
    }

    private void drainIncoming(long now) {
        int taken = 0;
        for (int i = 1; i <= STRIPES; i++) {
            taken += drain((Node) INTAKE.getAndSet(intake, i * PAD, (Node) null), now);
        }
        lastIntake = taken;
    }

    private int drain(Node first, long now) {
        int taken = 0;
        Node node = first;
        while (node != null) {
            taken++;
            Node following = node.next;
            node.next = null; // unlink from the intake stack: a retained node keeps no neighbour alive
            if ((int) STATE.getVolatile(node) == PENDING) {
                if (node.deadline - now <= 0) {
                    fire(node);
                } else {
                    long tick = ceilTick(node.deadline);
                    int index = (int) (Math.max(tick, nextTick) & MASK);
                    node.next = buckets[index];
                    buckets[index] = node;
                    occupied[index >>> 6] |= 1L << (index & 63);
                    linked++;
                }
            }
            node = following;
        }
        return taken;
    }

    private void expire(int index, long now) {
        Node previous = null;
        Node node = buckets[index];
        while (node != null) {
            Node following = node.next;
            boolean remove;
            if ((int) STATE.getVolatile(node) != PENDING) {
                remove = true; // cancelled: unlink now
            } else if (node.deadline - now <= 0) {
                remove = true;
                fire(node);
            } else {
                remove = false; // a later round of this bucket
            }
            if (remove) {
                if (previous == null) {
                    buckets[index] = following;
                } else {
                    previous.next = following;
                }
                node.next = null;
                linked--;
            } else {
                previous = node;
            }
            node = following;
        }
        if (buckets[index] == null) {
            occupied[index >>> 6] &= ~(1L << (index & 63));
        }
    }

    private static void fire(Node node) {
        if (STATE.compareAndSet(node, PENDING, FIRED)) {
            TaskFailures.runGuarded(node.task);
        }
    }

    private long ceilTick(long deadline) {
        long sinceOrigin = deadline - origin;
        return (sinceOrigin + TICK_NANOS - 1) / TICK_NANOS;
    }

    @Override
    public String toString() {
        return "Scheduler.shared(" + thread.getName() + ")";
    }

    /** A scheduled task; also its cancellation handle. */
    static final class Node implements Task {
        final Runnable task;
        final long deadline;
        /** PENDING, FIRED or CANCELLED; accessed through {@link #STATE}. */
        @SuppressWarnings("unused")
        volatile int state;
        /** Next in an intake stack, then in the bucket; see the class comment for ownership. */
        Node next;

        Node(Runnable task, long deadline) {
            this.task = task;
            this.deadline = deadline;
        }

        @Override
        public boolean cancel() {
            return STATE.compareAndSet(this, PENDING, CANCELLED);
        }
    }
}
