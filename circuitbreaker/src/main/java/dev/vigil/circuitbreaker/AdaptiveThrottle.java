package dev.vigil.circuitbreaker;

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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.random.RandomGenerator;

/**
 * Client-side adaptive throttling, as in Google's SRE book ("Handling Overload"): when the dependency
 * starts refusing work, the client refuses a growing share of its own requests locally, before they
 * cost the dependency anything, instead of tripping all at once like a {@link CircuitBreaker}.
 *
 * <p>Over a sliding time window it counts <em>requests</em> (every call offered, including those it
 * rejected locally) and <em>accepts</em> (calls the dependency handled: the classifier said
 * {@link Outcome#SUCCESS} or {@link Outcome#IGNORED}), and rejects each new call locally with
 * probability (a local rejection counts as a request when it happens, an admitted call when it
 * completes; an admitted call that is cancelled before its outcome counts nothing)
 *
 * <pre>    min(maxRejectProbability, max(0, (requests - K * accepts) / (requests + 1)))</pre>
 *
 * <p>While the dependency accepts everything the probability is 0. When it accepts less than 1/K of
 * the requests, the client sends roughly K times what the dependency accepts, and sheds the rest. K = 2
 * (the default) lets through twice what is being accepted: more aggressive shedding with K closer to 1,
 * gentler with larger K. Nothing is rejected while the window holds fewer requests than
 * {@code minimumRequestRate} times its span, so a few failures at low traffic do not shed anything, and
 * {@code maxRejectProbability} keeps some traffic flowing to notice recovery.
 *
 * <pre>{@code
 * AdaptiveThrottle throttle = AdaptiveThrottle.builder()
 *         .name("search")
 *         .multiplier(2.0)                            // K
 *         .window(Duration.ofMinutes(2), 24)          // 24 buckets of 5 s
 *         .classifier(Classifier.builder().failOnResult(Response.class, r -> r.status() == 503 || r.status() == 429).build())
 *         .build();
 * Response response = throttle.call(() -> search.query(q)); // LoadShedException when shed locally
 * }</pre>
 *
 * <p><b>Thread-safety.</b> Immutable configuration over a lock-free {@link TimeWindow}: share one throttle
 * between all callers of a dependency. Admission sums the window's failure counts (a healthy window
 * stops there) and completion adds to the window; neither reads the clock (the window's buckets are
 * moved by a timer on the scheduler). Allocation-free except for one bucket object per bucket period. The random source is
 * {@link ThreadLocalRandom} unless one is given (which must then be thread-safe if the throttle is shared).
 *
 * <p><b>Exceptions.</b> The builder throws {@link IllegalArgumentException} naming the parameter and its
 * range; a locally rejected call throws {@link LoadShedException} (stackless).
 */
public final class AdaptiveThrottle implements AdmissionPolicy {
    private static final long PERMIT = Permits.of(0, 0);
    private static final double NANOS_PER_SECOND = 1e9;

    private final String name;
    private final double multiplier;
    private final long bucketNanos;
    private final int buckets;
    private final double minimumRequests;
    private final double maxRejectProbability;
    private final Classifier classifier;
    private final Ticker ticker;
    private final RandomGenerator random;
    private final EventPublisher events;
    private final TimeWindow window;
    private final String rejectionPrefix;

    private final LongAdder accepted = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder ignored = new LongAdder();
    private final LongAdder rejected = new LongAdder();

    private AdaptiveThrottle(Builder builder) {
        this.name = builder.name;
        this.multiplier = builder.multiplier;
        this.bucketNanos = builder.bucketNanos;
        this.buckets = builder.buckets;
        this.minimumRequests = builder.minimumRequestRate * (bucketNanos * (double) buckets / NANOS_PER_SECOND);
        this.maxRejectProbability = builder.maxRejectProbability;
        this.classifier = builder.classifier;
        this.ticker = builder.scheduler.ticker();
        this.random = builder.random;
        this.events = EventPublisher.of(builder.listeners);
        this.window = new TimeWindow(bucketNanos, buckets, builder.scheduler);
        this.rejectionPrefix = "adaptive throttle '" + name + "' rejected the call locally: the dependency accepted ";
    }

    /** @return a builder with the defaults described on {@link Builder} */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "throttle";
    }

    @Override
    public Classifier classifier() {
        return classifier;
    }

    @Override
    public Ticker ticker() {
        return ticker;
    }

    /** The throttle judges outcomes, not latency: drivers need not read the clock for it. */
    @Override
    public boolean measuresLatency() {
        return false;
    }

    @Override
    public long tryAcquirePermit() {
        double probability = rejectProbability();
        if (probability > 0.0 && nextDouble() < probability) {
            window.record(SlidingWindow.FAILURE); // a local rejection is a request the dependency did not accept
            rejected.increment();
            if (events.isEnabled()) {
                events.publish(new PolicyEvent.Rejected(name, kind(), ticker.read(), "throttled locally with probability " + probability, -1L));
            }
            return REJECTED;
        }
        return PERMIT;
    }

    private double nextDouble() {
        return random == null ? ThreadLocalRandom.current().nextDouble() : random.nextDouble();
    }

    /** @return the probability with which a call offered now would be rejected locally */
    public double rejectProbability() {
        long notAccepted = window.failures(); // failures first: the pair can only understate the probability
        if (notAccepted == 0) {
            return 0.0; // requests == accepts, and K >= 1: the healthy path sums one counter
        }
        long requests = window.calls();
        if (requests < minimumRequests) {
            return 0.0;
        }
        long accepts = requests - notAccepted;
        double probability = (requests - multiplier * accepts) / (requests + 1.0);
        return probability <= 0.0 ? 0.0 : Math.min(probability, maxRejectProbability);
    }

    /** Allocates only the exception and its message (no formatting machinery): this is the overload path. */
    @Override
    public RejectedException rejection() {
        long requests = window.calls();
        long accepts = requests - window.failures();
        return new LoadShedException(name, rejectionPrefix + accepts + " of " + requests + " recent requests, this one included"
                + " (reject probability now " + rejectProbability() + ")", -1L);
    }

    @Override
    public void complete(long permit, Outcome outcome, long elapsedNanos) {
        Checks.notNull(outcome, "outcome");
        switch (outcome) {
            case FAILURE:
                failed.increment();
                window.record(SlidingWindow.FAILURE);
                break;
            case IGNORED:
                ignored.increment(); // handled by the dependency, so accepted
                window.record(SlidingWindow.SUCCESS);
                break;
            default:
                accepted.increment();
                window.record(SlidingWindow.SUCCESS);
        }
    }

    /** A call that did not run to an outcome was not a request the dependency saw: nothing to count. */
    @Override
    public void release(long permit) {}

    /** @return DEGRADED while calls are being rejected locally, UP otherwise */
    @Override
    public Health health() {
        double probability = rejectProbability();
        return probability > 0.0 ? Health.degraded(String.format(Locale.ROOT, "throttling: rejecting %.1f%% of calls locally", probability * 100))
                : Health.up();
    }

    /**
     * Calls by outcome ({@code vigil.calls}: success, failure, ignored, rejected) and the current reject
     * probability ({@code vigil.throttle.reject.probability}, 0 to 1).
     */
    @Override
    public void describeMetrics(MetricsSink sink) {
        sink.counter(MetricsSink.CALLS, "Calls the dependency accepted", "success", accepted::sum);
        sink.counter(MetricsSink.CALLS, "Calls that failed (not accepted)", "failure", failed::sum);
        sink.counter(MetricsSink.CALLS, "Calls whose outcome the classifier ignored (accepted)", "ignored", ignored::sum);
        sink.counter(MetricsSink.CALLS, "Calls rejected locally", "rejected", rejected::sum);
        sink.gauge("vigil.throttle.reject.probability", "Probability that a call is rejected locally", null, this::rejectProbability);
    }

    /** @return calls that completed with {@link Outcome#SUCCESS} */
    public long acceptedCount() {
        return accepted.sum();
    }

    /** @return calls that completed with {@link Outcome#FAILURE} */
    public long failureCount() {
        return failed.sum();
    }

    /** @return calls whose outcome the classifier ignored (they count as accepted) */
    public long ignoredCount() {
        return ignored.sum();
    }

    /** @return calls rejected locally */
    public long rejectedCount() {
        return rejected.sum();
    }

    @Override
    public String toString() {
        return "AdaptiveThrottle[" + name + ", K=" + multiplier + ", window " + Duration.ofNanos(bucketNanos * buckets) + "]";
    }

    /**
     * Builds an {@link AdaptiveThrottle}. Every setter validates at once and throws
     * {@link IllegalArgumentException} naming the parameter and its allowed range. Not thread-safe; the
     * throttle it builds is.
     */
    public static final class Builder {
        private String name = "throttle";
        private double multiplier = 2.0;
        private long bucketNanos = Duration.ofSeconds(5).toNanos();
        private int buckets = 24;
        private double minimumRequestRate = 1.0;
        private double maxRejectProbability = 0.9;
        private Classifier classifier = Classifier.defaults();
        private Scheduler scheduler = Scheduler.shared();
        private RandomGenerator random;
        private final List<PolicyEventListener> listeners = new ArrayList<>();

        private Builder() {}

        /**
         * @param name the throttle's name (default {@code "throttle"})
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public Builder name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * @param k the multiplier K: the client keeps sending about K times what the dependency accepts,
         *          in [1, 100] (default 2); K = 1 sheds as soon as anything is refused
         * @return this builder
         * @throws IllegalArgumentException if {@code k} is out of range
         */
        public Builder multiplier(double k) {
            this.multiplier = Checks.inRange(k, 1.0, 100.0, "multiplier");
            return this;
        }

        /**
         * @param window  the span over which requests and accepts are counted (default 2 minutes)
         * @param buckets the number of buckets it is kept in, 2 to 1,000 (default 24); {@code window} must
         *                split into buckets of a whole number of milliseconds
         * @return this builder
         * @throws IllegalArgumentException if a value is out of range or the split is not exact
         */
        public Builder window(Duration window, int buckets) {
            this.bucketNanos = TimeWindows.bucketNanos(window, buckets, "window", "buckets");
            this.buckets = buckets;
            return this;
        }

        /**
         * @param requestsPerSecond the request rate over the window below which nothing is rejected,
         *                          in [0, 1e9] (default 1 per second)
         * @return this builder
         * @throws IllegalArgumentException if the rate is out of range
         */
        public Builder minimumRequestRate(double requestsPerSecond) {
            this.minimumRequestRate = Checks.inRange(requestsPerSecond, 0.0, 1e9, "minimumRequestRate");
            return this;
        }

        /**
         * @param probability the highest reject probability, in (0, 1] (default 0.9): below 1, some calls
         *                    always reach the dependency, so recovery is noticed
         * @return this builder
         * @throws IllegalArgumentException if {@code probability} is out of range
         */
        public Builder maxRejectProbability(double probability) {
            this.maxRejectProbability = Checks.inLeftOpenRange(probability, 0.0, 1.0, "maxRejectProbability");
            return this;
        }

        /**
         * @param classifier which outcomes mean the dependency refused the work ({@link Outcome#FAILURE});
         *                   default {@link Classifier#defaults()}
         * @return this builder
         * @throws IllegalArgumentException if {@code classifier} is null
         */
        public Builder classifier(Classifier classifier) {
            this.classifier = Checks.notNull(classifier, "classifier");
            return this;
        }

        /**
         * @param scheduler whose {@link Scheduler#ticker()} is the clock (default {@link Scheduler#shared()})
         * @return this builder
         * @throws IllegalArgumentException if {@code scheduler} is null
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Checks.notNull(scheduler, "scheduler");
            return this;
        }

        /**
         * @param random the random source for reject decisions, e.g. a seeded {@code SplittableRandom} in a
         *               single-threaded test; must be thread-safe if the throttle is shared (default:
         *               {@link ThreadLocalRandom})
         * @return this builder
         * @throws IllegalArgumentException if {@code random} is null
         */
        public Builder random(RandomGenerator random) {
            this.random = Checks.notNull(random, "random");
            return this;
        }

        /**
         * Registers a listener for {@link PolicyEvent.Rejected}.
         *
         * @param listener the listener, not null
         * @return this builder
         * @throws IllegalArgumentException if {@code listener} is null
         */
        public Builder listener(PolicyEventListener listener) {
            listeners.add(Checks.notNull(listener, "listener"));
            return this;
        }

        /** @return a new throttle */
        public AdaptiveThrottle build() {
            return new AdaptiveThrottle(this);
        }
    }
}
