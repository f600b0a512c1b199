package dev.vigil.bulkhead;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Classifier;
import dev.vigil.core.LoadShedException;
import dev.vigil.core.Outcome;
import dev.vigil.core.Permits;
import dev.vigil.core.RejectedException;
import dev.vigil.core.event.EventPublisher;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.event.PolicyEventListener;
import dev.vigil.core.health.Health;
import dev.vigil.core.internal.Checks;
import dev.vigil.core.metrics.MetricsSink;
import dev.vigil.core.time.Scheduler;
import dev.vigil.core.time.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A concurrency limit that finds itself: it measures the latency of the calls it admits and lets a
 * {@link LimitAlgorithm} (Vegas by default; AIMD, Gradient2 or your own) move the limit, so the
 * dependency is kept busy but not queued, and the excess is shed before queues grow. As in-flight
 * calls near the limit, the least {@linkplain Criticality critical} calls are shed first.
 *
 * <pre>{@code
 * AdaptiveLimiter limiter = AdaptiveLimiter.builder()
 *         .name("search")
 *         .algorithm(VegasLimit.builder().initialLimit(20).maxLimit(500).build())
 *         .partition("interactive", 0.8)              // optional: guaranteed shares under saturation
 *         .partition("batch", 0.2)
 *         .build();
 * AdmissionPolicy prefetch = limiter.with(Criticality.SHEDDABLE);   // views, created once, reusable
 * AdmissionPolicy batch = limiter.partition("batch");
 * Result r = limiter.call(() -> search.query(q));        // DEFAULT; LoadShedException when shed
 * }</pre>
 *
 * <p><b>Admission.</b> With {@code L} the limit and {@code n} the calls in flight, a call is admitted
 * only if {@code n < ceil(L x shedAt(criticality))}: by default all of {@code L} for CRITICAL, 70% for
 * DEFAULT and 50% for SHEDDABLE. What matters is how many slots stay free for the more critical calls:
 * at the small limits an adaptive limiter settles on, 10% is one slot, which DEFAULT traffic above
 * capacity keeps busy (the overload simulation shed a quarter of CRITICAL calls with 90%). So in-flight
 * never exceeds the limit in force when a call is admitted (a limit that shrinks below {@code n}
 * admits nothing until calls finish). With partitions, while the limiter is <em>saturated</em> (it
 * shed a call in the current or the previous sample window), a partition at or above its guaranteed
 * share ({@code floor(share x L)}) may only take a slot that leaves free the unused guarantees of the
 * other partitions that want them (with calls in flight, or a call shed in the current or the
 * previous window): an idle partition's guarantee is not held back. When not saturated, any partition
 * may use any free capacity. Calls made on the limiter itself, not through a partition view, form the
 * unassigned partition, whose share is what the named shares leave. The limit is exact under any
 * concurrency; the partition rule is checked against per-partition counts updated just after each
 * admission, so calls admitted at the same instant may overrun a guarantee by those calls.
 *
 * <p><b>Samples.</b> The limiter measures the latency of at most one admitted call in
 * {@code sampleEvery} (default 8) itself (per stripe of threads, and only while that stripe has no
 * other sampled call in flight: a thread with many concurrent calls samples fewer), with its ticker, from admission to {@link #complete}: two clock reads cost more
 * than an admission, so drivers do not read the clock for it ({@link #measuresLatency()} is false and
 * {@code elapsedNanos} is not used). A sample also records the calls in flight when the call was
 * admitted (while few calls are in flight, an upper bound that may count a free slot parked on each
 * other thread's stripe: it reads no other thread's cache line). Drops are counted for every call: the classifier's {@link Outcome#FAILURE} is a drop
 * (configure it so that only overload signals, such as timeouts, 429 and 503, are failures);
 * {@link Outcome#IGNORED} and {@link #release} record nothing. Every {@code sampleWindow} samples the
 * algorithm computes the next limit, which is clamped to its bounds; while the limiter is under-used
 * (fewer than half the limit in flight, and no call shed in the window) the limit only moves down, and only for a window with a drop:
 * latency says little about capacity then.
 *
 * <p><b>Waiting</b> (optional, {@link Builder#queue}): synchronous callers refused for capacity may wait
 * in a short queue, FIFO or LIFO (newest first: under overload the callers most likely still waiting for
 * the answer are served), with a fixed timeout or a CoDel-style one ({@link Builder#codel}: when even
 * the best-served waiter of an interval waited longer than the target, new waiters get only the target).
 * Waiters are admitted in queue order under the same rules as everyone; a head waiter that cannot be
 * admitted for its criticality holds back those behind it, and while anyone waits, calls that do not
 * wait ({@link #tryAcquirePermit()}, asynchronous calls) are shed, whatever their criticality. Rejections ({@link LoadShedException})
 * carry the last window's mean latency as a retry-after hint: about when a slot frees up.
 *
 * <p><b>Thread-safety.</b> Lock-free. While the calls in flight stay within the least critical share of
 * the limit (SHEDDABLE's, half by default), a completed call parks its slot on its thread's stripe and the
 * thread's next call takes it back: one CAS on a cache line of the thread's own each, no shared write.
 * Nearer the caps, and whenever a decision could be a refusal, admission is one CAS on a word holding
 * the limit and the exact in-flight count, and completion one atomic add to it (the switch between the
 * two gathers the parked slots back without blocking anyone; see {@code SlotCounter}; the way back to
 * parking opens at most once per 10 ms of the ticker). With partitions,
 * the shared word is always used (their rule reads the exact count). A sampled call adds a few uncontended atomic
 * operations on the calling thread's sample cell; the algorithm runs on one thread at a time, about once per window, without
 * blocking anyone. Allocation-free on admission and completion. Share one limiter per dependency.
 *
 * <p><b>Exceptions.</b> The builder throws {@link IllegalArgumentException} naming the parameter and its
 * range; a shed call throws {@link LoadShedException}; {@link #acquirePermit()} throws
 * {@link InterruptedException} if interrupted while waiting (holding no permit). An estimator that
 * throws is logged and leaves the limit unchanged.
 */
public final class AdaptiveLimiter implements AdmissionPolicy {
    private static final Logger LOG = LoggerFactory.getLogger(AdaptiveLimiter.class);
    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle WINDOWS;
    /**
     * The least ticker time between two starts of the slot counter's fast mode (see {@link SlotCounter}, Epochs):
     * bounds how fast its epochs can wrap; a counter near its caps stays on the exact count meanwhile.
     */
    static final long FAST_EPOCH_GAP_NANOS = 10_000_000L;
    /**
     * Permit slot layout: in flight at admission (bits 0-20), criticality (21-22), partition (23-26),
     * the sampled call's stripe (27-30) and whether the call is sampled (31).
     */
    private static final int IN_FLIGHT_BITS = 21;
    private static final int IN_FLIGHT_MASK = (1 << IN_FLIGHT_BITS) - 1;
    private static final int CRITICALITY_SHIFT = 21;
    private static final int PARTITION_SHIFT = 23;
    private static final int PARTITION_MASK = 0xF;
    private static final int SAMPLE_SHIFT = 27;
    private static final int SAMPLE_STRIPE_MASK = SampleWindow.MAX_STRIPES - 1;
    private static final int SAMPLED = 1 << 31;
    static final int MAX_PARTITIONS = 16;
    private static final Criticality[] CRITICALITIES = Criticality.values();

    static {
        try {
            WINDOWS = MethodHandles.lookup().findVarHandle(AdaptiveLimiter.class, "windowsClosed", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final LimitAlgorithm algorithm;
    private final LimitAlgorithm.Estimator estimator;
    private final int minLimit;
    private final int maxLimit;
    private final double[] shedAt;
    private final Classifier classifier;
    private final Ticker ticker;
    private final EventPublisher events;
    private final SlotCounter slots;
    private final SampleWindow window;
    private final WaitQueue queue;
    private final Source source = new Source();

    /** Partition 0 is the unassigned one; null without named partitions. */
    private final String[] partitionNames;
    private final double[] shares;
    private final long[] partitionInFlight;
    /** Per partition: its guarantee rule as the counter's gate; null without named partitions. */
    private final SlotCounter.Gate[] gates;
    /** Per partition: the window number of its latest shed call (it wants capacity); benign races. */
    private final int[] partitionShedIn;
    /** views[criticality][partition], built once. */
    private final AdmissionPolicy[][] views;

    private final LongAdder succeeded = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder ignored = new LongAdder();
    private final LongAdder[] shed = {new LongAdder(), new LongAdder(), new LongAdder()};
    /** Written by the closer only (one at a time). */
    @SuppressWarnings("unused") // accessed through WINDOWS
    private volatile int windowsClosed;
    /** The window number of the latest shed call: a benign race (any recent value means saturated). */
    private volatile int lastShedWindow = -2;
    /** The last window's mean latency, the retry-after hint; -1 before the first window. */
    private volatile long lastRttNanos = -1L;

    private AdaptiveLimiter(Builder builder) {
        this.name = builder.name;
        this.algorithm = builder.algorithm;
        this.estimator = Checks.notNull(algorithm.newEstimator(), "algorithm.newEstimator()");
        this.minLimit = algorithm.minLimit();
        this.maxLimit = algorithm.maxLimit();
        this.shedAt = builder.shedAt.clone();
        this.classifier = builder.classifier;
        this.ticker = builder.scheduler.ticker();
        this.events = EventPublisher.of(builder.listeners);
        int initial = Math.max(minLimit, Math.min(maxLimit, algorithm.initialLimit()));
        int stripes = Stripes.count(SampleWindow.MAX_STRIPES);
        double leastShare = shedAt[shedAt.length - 1]; // shares never grow with less criticality (checked by build)
        this.slots = new SlotCounter(initial, leastShare, builder.partitions.isEmpty(), stripes, ticker, FAST_EPOCH_GAP_NANOS);
        this.window = new SampleWindow(builder.sampleWindow, builder.sampleEvery, stripes);
        this.queue = builder.maxWaiters == 0 ? null
                : new WaitQueue(builder.maxWaiters, builder.maxWaitNanos, builder.lifo, builder.codelTargetNanos,
                        builder.codelIntervalNanos, builder.scheduler);
        if (builder.partitions.isEmpty()) {
            this.partitionNames = null;
            this.shares = null;
            this.partitionInFlight = null;
            this.partitionShedIn = null;
            this.gates = null;
        } else {
            int count = builder.partitions.size() + 1;
            this.partitionNames = new String[count];
            this.shares = new double[count];
            this.partitionNames[0] = "";
            double assigned = 0;
            int index = 1;
            for (Map.Entry<String, Double> partition : builder.partitions.entrySet()) {
                partitionNames[index] = partition.getKey();
                shares[index++] = partition.getValue();
                assigned += partition.getValue();
            }
            shares[0] = Math.max(0.0, 1.0 - assigned);
            this.partitionInFlight = new long[Stripes.length(count)];
            this.partitionShedIn = new int[count];
            Arrays.fill(partitionShedIn, -2); // published with the limiter (final field)
            this.gates = new SlotCounter.Gate[count];
            for (int partition = 0; partition < count; partition++) {
                int which = partition;
                gates[partition] = (inFlight, limit) -> partitionMayTake(which, inFlight, limit);
            }
        }
        int partitions = partitionNames == null ? 1 : partitionNames.length;
        this.views = new AdmissionPolicy[CRITICALITIES.length][partitions];
        for (Criticality criticality : CRITICALITIES) {
            for (int partition = 0; partition < partitions; partition++) {
                views[criticality.ordinal()][partition] = criticality == Criticality.DEFAULT && partition == 0 ? this
                        : new LimiterView(this, criticality, partition);
            }
        }
    }

    /** @return a builder with the defaults described on {@link Builder} */
    public static Builder builder() {
        return new Builder();
    }

    // ---- views ----

    /**
     * A view of this limiter for calls of one criticality. Put either the view or the limiter in a
     * pipeline, not both: each admits the call, so it would hold two slots.
     *
     * @param criticality the criticality of calls made through the view
     * @return a policy that admits calls with that criticality into this limiter (cached: no allocation)
     * @throws IllegalArgumentException if {@code criticality} is null
     */
    public AdmissionPolicy with(Criticality criticality) {
        return views[Checks.notNull(criticality, "criticality").ordinal()][0];
    }

    /**
     * @param partition a partition named on the builder
     * @return a policy that admits DEFAULT calls into that partition (cached: no allocation)
     * @throws IllegalArgumentException if no partition has that name
     */
    public AdmissionPolicy partition(String partition) {
        return partition(partition, Criticality.DEFAULT);
    }

    /**
     * @param partition   a partition named on the builder
     * @param criticality the criticality of calls made through the view
     * @return a policy that admits calls of that criticality into that partition (cached: no allocation)
     * @throws IllegalArgumentException if no partition has that name, or {@code criticality} is null
     */
    public AdmissionPolicy partition(String partition, Criticality criticality) {
        Checks.notNull(partition, "partition");
        if (partitionNames != null) {
            for (int index = 1; index < partitionNames.length; index++) {
                if (partitionNames[index].equals(partition)) {
                    return views[Checks.notNull(criticality, "criticality").ordinal()][index];
                }
            }
        }
        throw new IllegalArgumentException("partition must be one of " + partitionList() + ", was '" + partition + "'");
    }

    private List<String> partitionList() {
        List<String> names = new ArrayList<>();
        if (partitionNames != null) {
            names.addAll(List.of(partitionNames).subList(1, partitionNames.length));
        }
        return names;
    }

    // ---- the admission protocol ----

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "limiter";
    }

    @Override
    public Classifier classifier() {
        return classifier;
    }

    @Override
    public Ticker ticker() {
        return ticker;
    }

    /** Admits a DEFAULT call of the unassigned partition if there is room for it now. */
    @Override
    public long tryAcquirePermit() {
        return admit(Criticality.DEFAULT.ordinal(), 0);
    }

    /** As {@link #tryAcquirePermit()}, waiting in the queue if one is configured. */
    @Override
    public long acquirePermit() throws InterruptedException {
        return admitWaiting(Criticality.DEFAULT.ordinal(), 0);
    }

    @Override
    public RejectedException rejection() {
        return rejection(Criticality.DEFAULT.ordinal());
    }

    long admit(int criticality, int partition) {
        if (queue == null || !queue.hasWaiters()) { // waiters are served first
            long permit = tryAdmit(criticality, partition);
            if (permit != REJECTED) {
                return permit;
            }
        }
        return shed(criticality, partition);
    }

    long admitWaiting(int criticality, int partition) throws InterruptedException {
        if (queue == null) {
            return admit(criticality, partition);
        }
        long permit = queue.acquire(source, criticality | partition << 2);
        return permit == REJECTED ? shed(criticality, partition) : permit;
    }

    /**
     * Takes a slot from the counter (see {@link SlotCounter#tryAcquire}); on success, the partition's
     * count (advisory: the counter alone enforces the limit) and, if the call is sampled, its in-flight
     * figure.
     */
    private long tryAdmit(int criticality, int partition) {
        int stripe = slots.home();
        int inFlight = slots.tryAcquire(stripe, shedAt[criticality], gates == null ? null : gates[partition]);
        if (inFlight < 0) {
            return REJECTED;
        }
        if (partitionInFlight != null) {
            WORD.getAndAdd(partitionInFlight, Stripes.slot(partition), 1L);
        }
        int slot = criticality << CRITICALITY_SHIFT | partition << PARTITION_SHIFT;
        int sampleStripe = window.trySample(ticker); // reads the clock only for a sampled call
        if (sampleStripe < 0) {
            return Permits.of(0, slot);
        }
        // A sample records the calls in flight at its admission: exact if the counter knew it, else the
        // counter's bound from the shared word and this thread's own stripe (no other thread's cache line).
        int measured = inFlight > 0 ? inFlight : slots.inFlightBound(stripe);
        return Permits.of(0, slot | Math.min(measured, IN_FLIGHT_MASK) | SAMPLED | sampleStripe << SAMPLE_SHIFT);
    }

    private int cap(int limit, int criticality) {
        return SlotCounter.share(limit, shedAt[criticality]);
    }

    private boolean partitionMayTake(int partition, int inFlight, int limit) {
        if (!saturated()) {
            return true;
        }
        if (partitionCount(partition) < guaranteed(partition, limit)) {
            return true;
        }
        // Keep free what the other partitions are guaranteed and not using, for those that want it:
        // with calls in flight, or shed in the current or the previous window. An idle partition's
        // guarantee is not held back, so it cannot starve the others (nor an idle limiter refuse).
        int windowNow = (int) WINDOWS.getVolatile(this);
        long reserved = 0;
        for (int other = 0; other < shares.length; other++) {
            int used = partitionCount(other);
            if (other != partition && (used > 0 || windowNow - partitionShedIn[other] <= 1)) {
                reserved += Math.max(0, guaranteed(other, limit) - used);
            }
        }
        return inFlight + reserved < limit;
    }

    private int guaranteed(int partition, int limit) {
        // floor(share x limit); the epsilon absorbs binary rounding (1.0 - 0.8 is 0.19999999999999996)
        return (int) (shares[partition] * limit + 1e-9);
    }

    private int partitionCount(int partition) {
        return (int) (long) WORD.getVolatile(partitionInFlight, Stripes.slot(partition));
    }

    private boolean saturated() {
        return (int) WINDOWS.getVolatile(this) - lastShedWindow <= 1;
    }

    private long shed(int criticality, int partition) {
        shed[criticality].increment();
        int windowNow = (int) WINDOWS.getVolatile(this);
        if (lastShedWindow != windowNow) {
            lastShedWindow = windowNow; // benign race: every writer writes a recent window number
        }
        if (partitionShedIn != null && partitionShedIn[partition] != windowNow) {
            partitionShedIn[partition] = windowNow; // benign race, as above (read by admissions of other partitions)
        }
        if (events.isEnabled()) {
            events.publish(new PolicyEvent.Rejected(name, kind(), ticker.read(), "shed " + CRITICALITIES[criticality] + " call",
                    lastRttNanos));
        }
        return REJECTED;
    }

    RejectedException rejection(int criticality) {
        int limit = limit();
        String message = "adaptive limiter '" + name + "' shed a " + CRITICALITIES[criticality] + " call: "
                + slots.inFlightEstimate() + " in flight, limit " + limit + " (" + CRITICALITIES[criticality] + " calls may use "
                + cap(limit, criticality) + ")" + (queue == null ? "" : ", " + queue.waiting() + " waiting");
        return new LoadShedException(name, message, lastRttNanos);
    }

    /**
     * Frees the call's slot; if the call was sampled, records its latency (measured by the limiter's own
     * ticker from admission to now; {@code elapsedNanos} is not used) and whether it was dropped
     * ({@link Outcome#FAILURE}); a drop counts even when the call was not sampled. IGNORED records nothing.
     *
     * @throws IllegalArgumentException if {@code outcome} is null or {@code permit} is {@link #REJECTED}
     *                                  (nothing is then changed)
     */
    @Override
    public void complete(long permit, Outcome outcome, long elapsedNanos) {
        Checks.notNull(outcome, "outcome");
        int slot = slotOf(permit);
        free(slot);
        switch (outcome) {
            case IGNORED:
                ignored.increment();
                endSample(slot);
                break;
            case FAILURE:
                failed.increment();
                if (!sample(slot, true)) {
                    window.recordDrop();
                }
                break;
            default:
                succeeded.increment();
                sample(slot, false);
        }
        drainIfWaiting();
    }

    /**
     * Frees the call's slot without a sample.
     *
     * @throws IllegalArgumentException if {@code permit} is {@link #REJECTED} (nothing is then changed)
     */
    @Override
    public void release(long permit) {
        int slot = slotOf(permit);
        free(slot);
        endSample(slot);
        drainIfWaiting();
    }

    /** @return whether the call of this permit slot is sampled (its admission stored a start time) */
    static boolean isSampled(int slot) {
        return (slot & SAMPLED) != 0;
    }

    private static int slotOf(long permit) {
        if (permit < 0) {
            throw new IllegalArgumentException("permit must be one an acquire method returned, was " + permit + " (REJECTED)");
        }
        return Permits.slot(permit);
    }

    /**
     * The limiter measures latency itself, and only for the calls it samples: drivers need not read the
     * clock for it (two clock reads per call would cost more than the admission).
     */
    @Override
    public boolean measuresLatency() {
        return false;
    }

    private void free(int slot) {
        if (!slots.put(slots.home())) {
            slots.release();
        }
        if (partitionInFlight != null) {
            WORD.getAndAdd(partitionInFlight, Stripes.slot(slot >>> PARTITION_SHIFT & PARTITION_MASK), -1L);
        }
    }

    /** Frees a sampled call's sample slot without recording it. */
    private void endSample(int slot) {
        if (isSampled(slot)) {
            window.endSample(slot >>> SAMPLE_SHIFT & SAMPLE_STRIPE_MASK);
        }
    }

    private void drainIfWaiting() {
        // Second half of the freeing side's Dekker pair: slot freed (volatile add), now read the waiters.
        if (queue != null && queue.hasWaiters()) {
            queue.drain(source);
        }
    }

    /** @return false if the call was not sampled (nothing recorded) */
    private boolean sample(int slot, boolean dropped) {
        if (!isSampled(slot)) {
            return false;
        }
        long rtt = ticker.read() - window.endSample(slot >>> SAMPLE_SHIFT & SAMPLE_STRIPE_MASK);
        if (window.record(rtt, slot & IN_FLIGHT_MASK, dropped)) {
            try {
                adjust();
            } finally {
                window.reopen();
            }
        }
        return true;
    }

    /** As the window's closer (one thread at a time): run the estimator and apply the shared rules. */
    private void adjust() {
        int limit = limit();
        int next;
        try {
            next = estimator.next(limit, window);
        } catch (RuntimeException e) {
            LOG.warn("adaptive limiter '{}': {} threw; the limit stays {}", name, algorithm, limit, e);
            next = limit;
        }
        next = Math.max(minLimit, Math.min(maxLimit, next));
        boolean shedInWindow = lastShedWindow == (int) WINDOWS.getVolatile(this);
        if (!shedInWindow && 2L * window.maxInFlight() < limit && (next > limit || window.dropped() == 0)) {
            // Under-used, and nobody was refused: latency then says little about capacity (noise can look
            // like a queue), so only a drop may move the limit, and only down. (While calls are shed, the
            // demand is there even if a criticality's share keeps in-flight below half the limit.)
            next = limit;
        }
        lastRttNanos = window.averageRttNanos();
        WINDOWS.setVolatile(this, (int) WINDOWS.getVolatile(this) + 1); // single writer: the closer
        if (next != limit) {
            slots.setLimit(next);
            if (events.isEnabled()) {
                events.publish(new PolicyEvent.LimitChanged(name, kind(), ticker.read(), limit, next,
                        algorithm.getClass().getSimpleName() + ": " + window));
            }
        }
    }

    // ---- state, health, metrics ----

    /** @return the current limit */
    public int limit() {
        return SlotCounter.limit(slots.word());
    }

    /**
     * The calls holding a permit now, exactly (linearizable with admissions and completions). While few
     * calls are in flight, admitted calls count in a shared word together with free slots parked on
     * per-thread stripes, and exactness needs those gathered back: so this call makes the next calls use
     * the shared word until half the least critical share of the limit is free again (and 10 ms have passed
     * since they last went back to the stripes, which bounds how often that happens). Meant for tests
     * and diagnostics; the metrics gauge and {@link #health()} use a cheaper look at the stripes.
     *
     * @return the calls holding a permit now
     */
    public int inFlight() {
        return slots.exactInFlight();
    }

    /** @return the threads waiting in the queue now (0 without a queue) */
    public int waitingCalls() {
        return queue == null ? 0 : queue.waiting();
    }

    /**
     * @param criticality a criticality
     * @return the calls of that criticality shed so far
     * @throws IllegalArgumentException if {@code criticality} is null
     */
    public long shedCount(Criticality criticality) {
        return shed[Checks.notNull(criticality, "criticality").ordinal()].sum();
    }

    /** @return calls that completed with {@link Outcome#SUCCESS} */
    public long successCount() {
        return succeeded.sum();
    }

    /** @return calls that completed with {@link Outcome#FAILURE} (drops) */
    public long failureCount() {
        return failed.sum();
    }

    /** @return the algorithm that moves the limit */
    public LimitAlgorithm algorithm() {
        return algorithm;
    }

    /**
     * @return DEGRADED while shedding (a call was shed in the current or the previous sample window, and
     *         the calls in flight fill at least the SHEDDABLE share of the limit), UP otherwise
     */
    @Override
    public Health health() {
        // Shedding now: a call was shed recently and in-flight calls still fill the SHEDDABLE share (an
        // idle limiter is UP however long ago its last window closed). The count is a look at the stripes,
        // not the exact count: a health check should not push the next calls onto the shared word.
        int inFlight = slots.inFlightEstimate();
        int limit = limit();
        if (!saturated() || inFlight < cap(limit, Criticality.SHEDDABLE.ordinal())) {
            return Health.up();
        }
        return Health.degraded("saturated: " + inFlight + " in flight, limit " + limit + "; shedding");
    }

    /**
     * Calls by outcome ({@code vigil.calls}: success, failure, ignored, rejected), shed calls by
     * criticality ({@code vigil.limiter.shed}, tag {@code criticality}), and gauges of the limit
     * ({@code vigil.limiter.limit}), the calls in flight ({@code vigil.limiter.concurrent.calls}) and,
     * with a queue, the waiting threads ({@code vigil.limiter.waiting.calls}). Views describe nothing:
     * bind the limiter itself.
     */
    @Override
    public void describeMetrics(MetricsSink sink) {
        sink.counter(MetricsSink.CALLS, "Calls that completed normally", "success", succeeded::sum);
        sink.counter(MetricsSink.CALLS, "Calls that were dropped (overload signals)", "failure", failed::sum);
        sink.counter(MetricsSink.CALLS, "Calls whose outcome the classifier ignored", "ignored", ignored::sum);
        sink.counter(MetricsSink.CALLS, "Calls shed", "rejected", () -> shed[0].sum() + shed[1].sum() + shed[2].sum());
        for (Criticality criticality : CRITICALITIES) {
            LongAdder count = shed[criticality.ordinal()];
            sink.counter("vigil.limiter.shed", "Calls shed, by criticality", "criticality",
                    criticality.name().toLowerCase(Locale.ROOT), count::sum);
        }
        sink.gauge("vigil.limiter.limit", "The current concurrency limit", "calls", this::limit);
        sink.gauge("vigil.limiter.concurrent.calls", "Calls holding a permit", "calls", slots::inFlightEstimate);
        if (queue != null) {
            sink.gauge("vigil.limiter.waiting.calls", "Threads waiting for a permit", "calls", this::waitingCalls);
        }
    }

    @Override
    public String toString() {
        return "AdaptiveLimiter[" + name + ", limit " + limit() + ", " + algorithm + "]";
    }

    /** Admission for queued waiters; kept off the public type. Tags are criticality | partition << 2. */
    private final class Source implements WaitQueue.Source {
        @Override
        public long tryTake(int tag) {
            return tryAdmit(tag & 3, tag >>> 2);
        }

        @Override
        public void putBack(long permit) {
            int slot = Permits.slot(permit);
            free(slot); // never used: no sample
            endSample(slot);
        }

        @Override
        public void release(long permit) {
            AdaptiveLimiter.this.release(permit);
        }
    }

    /**
     * Builds an {@link AdaptiveLimiter}. Every setter validates at once and throws
     * {@link IllegalArgumentException} naming the parameter and its allowed range; {@link #build()} checks
     * what involves several settings. Not thread-safe; the limiter it builds is.
     */
    public static final class Builder {
        private String name = "limiter";
        private LimitAlgorithm algorithm = VegasLimit.builder().build();
        private int sampleWindow = 10;
        private int sampleEvery = 8;
        private final double[] shedAt = {1.0, 0.7, 0.5};
        private final Map<String, Double> partitions = new LinkedHashMap<>();
        private int maxWaiters;
        private long maxWaitNanos;
        private boolean lifo;
        private long codelTargetNanos;
        private long codelIntervalNanos;
        private Classifier classifier = Classifier.defaults();
        private Scheduler scheduler = Scheduler.shared();
        private final List<PolicyEventListener> listeners = new ArrayList<>();

        private Builder() {}

        /**
         * @param name the limiter's name (default {@code "limiter"})
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public Builder name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * @param algorithm moves the limit (default {@link VegasLimit} with its defaults: initial 20, bounds [1, 200])
         * @return this builder
         * @throws IllegalArgumentException if {@code algorithm} is null or its bounds are inconsistent
         */
        public Builder algorithm(LimitAlgorithm algorithm) {
            Checks.notNull(algorithm, "algorithm");
            Checks.inRange(algorithm.minLimit(), 1, LimitBounds.MAX_LIMIT, "algorithm.minLimit()");
            Checks.inRange(algorithm.maxLimit(), algorithm.minLimit(), LimitBounds.MAX_LIMIT, "algorithm.maxLimit()");
            Checks.inRange(algorithm.initialLimit(), algorithm.minLimit(), algorithm.maxLimit(), "algorithm.initialLimit()");
            this.algorithm = algorithm;
            return this;
        }

        /**
         * @param samples how many sampled calls make one window, after which the algorithm runs, 1 to 100,000
         *                (default 10); a thread checks whether the window is full every
         *                {@code max(1, samples / stripes)} of its own samples (stripes: a power of two near
         *                twice the processors, at most 16), so a window closes with at least this many
         *                samples and, on a machine with more than one stripe, possibly a few more
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder sampleWindow(int samples) {
            this.sampleWindow = Checks.inRange(samples, 1, 100_000, "sampleWindow");
            return this;
        }

        /**
         * @param calls one admitted call in this many has its latency measured (two reads of the ticker),
         *              a power of two from 1 to 1,024 (default 8); every call is still counted and every
         *              drop still recorded
         * @return this builder
         * @throws IllegalArgumentException if out of range or not a power of two
         */
        public Builder sampleEvery(int calls) {
            Checks.inRange(calls, 1, 1024, "sampleEvery");
            if (Integer.bitCount(calls) != 1) {
                throw new IllegalArgumentException("sampleEvery must be a power of two in [1, 1024], was " + calls);
            }
            this.sampleEvery = calls;
            return this;
        }

        /**
         * @param criticality a criticality
         * @param share       the share of the limit calls of that criticality may fill, in (0, 1] (defaults:
         *                    CRITICAL 1, DEFAULT 0.7, SHEDDABLE 0.5); must not increase as criticality
         *                    decreases (checked by {@link #build()})
         * @return this builder
         * @throws IllegalArgumentException if an argument is null or out of range
         */
        public Builder shedAt(Criticality criticality, double share) {
            shedAt[Checks.notNull(criticality, "criticality").ordinal()] = Checks.inLeftOpenRange(share, 0.0, 1.0,
                    "shedAt(" + criticality + ")");
            return this;
        }

        /**
         * Adds a partition with a guaranteed share of the limit under saturation.
         *
         * @param name  the partition's name, unique
         * @param share its guaranteed share, in (0, 1]; all shares must sum to at most 1
         * @return this builder
         * @throws IllegalArgumentException if the name is blank or taken, the share is out of range, the
         *                                  shares would sum over 1, or there would be more than 15 partitions
         */
        public Builder partition(String name, double share) {
            Checks.notBlank(name, "partition name");
            Checks.inLeftOpenRange(share, 0.0, 1.0, "share of partition '" + name + "'");
            if (partitions.containsKey(name)) {
                throw new IllegalArgumentException("partition '" + name + "' is defined twice");
            }
            if (partitions.size() + 1 >= MAX_PARTITIONS) {
                throw new IllegalArgumentException("at most " + (MAX_PARTITIONS - 1) + " partitions, got one more: '" + name + "'");
            }
            double sum = share;
            for (double other : partitions.values()) {
                sum += other;
            }
            if (sum > 1.0 + 1e-9) {
                throw new IllegalArgumentException("partition shares must sum to at most 1.0, would be " + sum + " with '" + name
                        + "' = " + share + " added to " + partitions);
            }
            partitions.put(name, share);
            return this;
        }

        /**
         * Lets synchronous callers wait for a slot instead of being shed at once.
         *
         * @param maxWaiters how many threads may wait at once, 1 to 1,000,000
         * @param maxWait    how long each may wait, above 0
         * @return this builder
         * @throws IllegalArgumentException if an argument is out of range
         */
        public Builder queue(int maxWaiters, Duration maxWait) {
            this.maxWaiters = Checks.inRange(maxWaiters, 1, 1_000_000, "maxWaiters");
            this.maxWaitNanos = Checks.positiveUpToMax(maxWait, "maxWait").toNanos();
            return this;
        }

        /**
         * @param lifo serve the newest waiter first (default false: oldest first); needs a {@link #queue}
         * @return this builder
         */
        public Builder lifo(boolean lifo) {
            this.lifo = lifo;
            return this;
        }

        /**
         * A CoDel-style queue timeout: when the least wait of the waiters leaving in an interval exceeds
         * {@code target}, new waiters wait at most {@code target} instead of the queue's max wait, until
         * an interval's least wait is below the target again. Needs a {@link #queue}.
         *
         * @param target   the acceptable standing wait, above 0 and below {@code interval} (e.g. 5 ms)
         * @param interval how long the wait must stay above target, above 0 (e.g. 100 ms)
         * @return this builder
         * @throws IllegalArgumentException if an argument is out of range
         */
        public Builder codel(Duration target, Duration interval) {
            long targetNanos = Checks.positiveUpToMax(target, "target").toNanos();
            long intervalNanos = Checks.positiveUpToMax(interval, "interval").toNanos();
            if (targetNanos >= intervalNanos) {
                throw new IllegalArgumentException("target must be < interval (" + interval + "), was " + target);
            }
            this.codelTargetNanos = targetNanos;
            this.codelIntervalNanos = intervalNanos;
            return this;
        }

        /**
         * @param classifier which outcomes are drops ({@link Outcome#FAILURE}: overload signals such as
         *                   timeouts, 429, 503) and which are not sampled ({@link Outcome#IGNORED}); default
         *                   {@link Classifier#defaults()}
         * @return this builder
         * @throws IllegalArgumentException if {@code classifier} is null
         */
        public Builder classifier(Classifier classifier) {
            this.classifier = Checks.notNull(classifier, "classifier");
            return this;
        }

        /**
         * @param scheduler runs waiters' time limits; its {@link Scheduler#ticker()} is the clock the
         *                  limiter measures sampled calls with (default {@link Scheduler#shared()})
         * @return this builder
         * @throws IllegalArgumentException if {@code scheduler} is null
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Checks.notNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Registers a listener for {@link PolicyEvent.Rejected} and {@link PolicyEvent.LimitChanged}.
         *
         * @param listener the listener, not null
         * @return this builder
         * @throws IllegalArgumentException if {@code listener} is null
         */
        public Builder listener(PolicyEventListener listener) {
            listeners.add(Checks.notNull(listener, "listener"));
            return this;
        }

        /**
         * @return a new limiter
         * @throws IllegalArgumentException if shedding shares increase as criticality decreases, or
         *                                  {@code lifo}/{@code codel} were set without a queue
         */
        public AdaptiveLimiter build() {
            for (int level = 1; level < shedAt.length; level++) {
                if (shedAt[level] > shedAt[level - 1]) {
                    throw new IllegalArgumentException("shedAt(" + CRITICALITIES[level] + ") = " + shedAt[level] + " must be <= shedAt("
                            + CRITICALITIES[level - 1] + ") = " + shedAt[level - 1] + ": less critical calls are shed first");
                }
            }
            if (maxWaiters == 0 && (lifo || codelTargetNanos > 0)) {
                throw new IllegalArgumentException("lifo and codel need a queue: call queue(maxWaiters, maxWait) too");
            }
            return new AdaptiveLimiter(this);
        }
    }
}
