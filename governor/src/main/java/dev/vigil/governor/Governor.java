package dev.vigil.governor;

import dev.vigil.core.event.EventPublisher;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.event.PolicyEventListener;
import dev.vigil.core.health.Health;
import dev.vigil.core.internal.Checks;
import dev.vigil.core.time.Scheduler;
import dev.vigil.core.time.Ticker;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Slows automation down where it can do harm, and stops it when it looks broken. "When automation goes
 * wrong, it can do bad things very quickly": a governor leaves time for a person to step in.
 *
 * <pre>{@code
 * Governor governor = Governor.builder()
 *         .name("fleet")
 *         .unsafe("terminate-instance", rules -> rules
 *                 .budget(10, Duration.ofHours(1))                 // at most 10 instances an hour
 *                 .curve(ResponseCurve.exponential(Duration.ofSeconds(30), 2.0, Duration.ofMinutes(10)))
 *                 .floor(20, 100)                                  // never fewer than 20 of 100 in service
 *                 .escalateAfter(5))                               // the 6th in an hour needs a person
 *         .safe("launch-instance")                                 // never slowed
 *         .tripAt(30, Duration.ofMinutes(1))                       // > 30 unsafe requests a minute: stop all
 *         .build();
 *
 * Decision d = governor.decide(ActionRequest.of("terminate-instance").capacity(fleet.size()).actor("autoscaler"));
 * }</pre>
 *
 * <p><b>How an unsafe request is decided</b>, in this order (the first that applies wins):
 * <ol>
 *   <li>the governor is tripped: DENY until a person calls {@link #reset};</li>
 *   <li>the request makes more than {@code tripAt} unsafe requests (of any action class, whatever was
 *       decided; approvals, made by people, do not count) within the trip window: the governor trips
 *       (automation itself is suspect) and DENY;</li>
 *   <li>the action would leave less than its floor in service: DENY. The request states the capacity it
 *       sees now; units this governor let through are subtracted too until a settle time (default one
 *       minute) after they were due, since they may not show yet, so
 *       {@code capacity - unsettled - amount >= floor} must hold;</li>
 *   <li>the units let through in the last window plus this one exceed the budget: DENY (the reason
 *       says when room frees up);</li>
 *   <li>they exceed the escalation threshold: NEEDS_APPROVAL (a person may {@link #approve} it);</li>
 *   <li>otherwise the action is let through and counted, after the response curve's delay for the
 *       units already used in the window: ALLOW when that delay is zero, else DELAY(d).</li>
 * </ol>
 * Windows slide: at any moment, the units counted in the last {@code window} (decisions at times
 * {@code > now - window}) never exceed the budget. A DELAY counts at its decision. A safe action is
 * always ALLOW at once, even while tripped, and is not counted. Every decision (safe ones too: size
 * the audit capacity for both), approval, trip and reset is kept in a bounded audit trail
 * ({@link #audit(Predicate)}) and published as a
 * {@link PolicyEvent.ActionDecided} (trips and resets as {@link PolicyEvent.StateChanged}).
 *
 * <p><b>Thread-safety.</b> Thread-safe. Decisions take a short {@link ReentrantLock} (dangerous
 * actions are rare and must be counted exactly; a waiting virtual thread unmounts); listeners run after
 * it is released. <b>Exceptions.</b> The builder throws {@link IllegalArgumentException} naming the
 * parameter and its range; {@link #decide} throws it for an action class not configured, a request
 * without the capacity that a floored action needs, or a response curve that returns no delay, a
 * negative one or one over about 73 years (nothing is counted then).
 */
public final class Governor {
    private static final Logger LOG = LoggerFactory.getLogger(Governor.class);
    private static final String KIND = "governor";

    private final String name;
    private final Map<String, Rules> rules;
    private final int tripRequests;
    private final long tripWindowNanos;
    private final int auditCapacity;
    private final Scheduler scheduler;
    private final Ticker ticker;
    private final EventPublisher events;

    /**
     * Guards the windows, the trip count and the audit trail. A lock on purpose: decisions are rare
     * (dangerous automated actions) and must update several structures exactly together; it is never
     * on a call's hot path, and a virtual thread waiting for it unmounts.
     */
    private final ReentrantLock lock = new ReentrantLock();
    /** Times of recent unsafe requests, for the trip check; guarded by {@link #lock}. */
    private final ArrayDeque<Long> recentRequests = new ArrayDeque<>();
    private final ArrayDeque<AuditRecord> trail = new ArrayDeque<>();
    /** Why the governor tripped, or null while armed; guarded by the lock, volatile for lock-free reads. */
    private volatile String tripReason;

    private Governor(Builder builder) {
        this.name = builder.name;
        Map<String, Rules> fresh = new LinkedHashMap<>();
        builder.rules.forEach((action, rule) -> fresh.put(action, rule.copy())); // each governor its own windows
        this.rules = Map.copyOf(fresh);
        this.tripRequests = builder.tripRequests;
        this.tripWindowNanos = builder.tripWindowNanos;
        this.auditCapacity = builder.auditCapacity;
        this.scheduler = builder.scheduler;
        this.ticker = scheduler.ticker();
        this.events = EventPublisher.of(builder.listeners);
    }

    /** @return a builder; at least one action class is required */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the governor's name */
    public String name() {
        return name;
    }

    /**
     * Decides on a request; for ALLOW and DELAY the action is counted against its budget now.
     *
     * @param request the request, not null
     * @return the decision
     * @throws IllegalArgumentException if the request is null, its action class is not configured,
     *                                  the action has a floor and the request states no capacity, or
     *                                  the response curve answers no delay, a negative one or one over
     *                                  about 73 years (nothing is counted, not even towards a trip)
     */
    public Decision decide(ActionRequest request) {
        return decide(request, false, null);
    }

    /**
     * Decides on a request and, for DELAY, waits the delay on the scheduler before returning (in
     * virtual time with a {@link dev.vigil.core.time.ManualScheduler}). The action counts from the
     * decision, so an interrupted wait still used budget.
     *
     * @param request the request, not null
     * @return the decision, after its delay
     * @throws IllegalArgumentException as {@link #decide}
     * @throws InterruptedException     if interrupted while waiting
     */
    public Decision decideAndWait(ActionRequest request) throws InterruptedException {
        Decision decision = decide(request);
        if (decision.verdict() == Decision.Verdict.DELAY) {
            scheduler.sleep(decision.delay().toNanos());
        }
        return decision;
    }

    /**
     * A person approves a request, typically one answered NEEDS_APPROVAL (any request may be approved):
     * it is let through now (no curve delay: the person was the delay, and approvals do not count
     * towards a trip) if the governor is not tripped and the floor and the budget allow it; approval
     * never exceeds the budget.
     *
     * @param request  the request, not null
     * @param approver who approves, not blank (kept in the audit trail)
     * @return ALLOW, or DENY with the reason
     * @throws IllegalArgumentException as {@link #decide}, or if {@code approver} is null or blank
     */
    public Decision approve(ActionRequest request, String approver) {
        Checks.notBlank(approver, "approver");
        return decide(request, true, approver);
    }

    /**
     * Re-arms a tripped governor, and clears the count of recent unsafe requests towards a trip (also
     * when armed: the person has looked). Audited either way.
     *
     * @param person who resets it, not blank (kept in the audit trail)
     * @throws IllegalArgumentException if {@code person} is null or blank
     */
    public void reset(String person) {
        Checks.notBlank(person, "person");
        String was;
        long now;
        lock.lock();
        try {
            now = ticker.read();
            was = tripReason;
            tripReason = null;
            recentRequests.clear();
            record(new AuditRecord(now, AuditRecord.Kind.RESET, "*", person, 0,
                    Decision.allow(was == null ? "reset while armed" : "reset by " + person + " after: " + was)));
        } finally {
            lock.unlock();
        }
        if (was != null) {
            LOG.info("governor '{}' reset by {}", name, person);
            if (events.isEnabled()) {
                events.publish(new PolicyEvent.StateChanged(name, KIND, now, "TRIPPED", "ARMED", "reset by " + person));
            }
        }
    }

    /** @return true while tripped (every unsafe action is denied until {@link #reset}) */
    public boolean isTripped() {
        return tripReason != null;
    }

    /** @return DOWN while tripped, UP otherwise */
    public Health health() {
        String reason = tripReason;
        return reason == null ? Health.up() : Health.down("tripped: " + reason);
    }

    /** @return the audit trail, oldest first (at most the builder's audit capacity; older entries drop off) */
    public List<AuditRecord> audit() {
        return audit(entry -> true);
    }

    /**
     * @param filter which entries, not null (e.g. {@code r -> r.action().equals("terminate-instance")})
     * @return the matching entries of the audit trail, oldest first
     * @throws IllegalArgumentException if {@code filter} is null
     */
    public List<AuditRecord> audit(Predicate<? super AuditRecord> filter) {
        Checks.notNull(filter, "filter");
        List<AuditRecord> copy;
        lock.lock();
        try {
            copy = new ArrayList<>(trail);
        } finally {
            lock.unlock();
        }
        copy.removeIf(filter.negate());
        return copy;
    }

    /**
     * @param action an unsafe action class
     * @return the units of it let through in the current window (0 for a safe action)
     * @throws IllegalArgumentException if {@code action} is not configured
     */
    public long used(String action) {
        Rules rule = rulesFor(action);
        lock.lock();
        try {
            return rule.direction == Direction.SAFE ? 0 : rule.used(ticker.read());
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "Governor[" + name + ", actions=" + rules.keySet() + (tripReason == null ? "" : ", TRIPPED") + "]";
    }

    private Rules rulesFor(String action) {
        Rules rule = rules.get(Checks.notNull(action, "action"));
        if (rule == null) {
            throw new IllegalArgumentException("action '" + action + "' is not configured on governor '" + name + "'; known: "
                    + new java.util.TreeSet<>(rules.keySet()));
        }
        return rule;
    }

    private Decision decide(ActionRequest request, boolean approved, String approver) {
        Checks.notNull(request, "request");
        Rules rule = rulesFor(request.action());
        if (rule.direction == Direction.UNSAFE && rule.floor >= 0) {
            if (request.capacity() < 0) {
                throw new IllegalArgumentException("request for '" + request.action() + "' must state its capacity: the action has a floor of "
                        + rule.floor);
            }
        }
        Decision decision;
        boolean tripped = false;
        long now;
        lock.lock();
        try {
            now = ticker.read();
            if (rule.direction == Direction.SAFE) {
                decision = Decision.allow("safe action: never slowed");
            } else if (tripReason != null) {
                decision = Decision.deny("governor tripped (" + tripReason + "): a person must reset it");
            } else if (!approved && tripsNow(now)) {
                recentRequests.addLast(now);
                tripReason = recentRequests.size() + " unsafe requests within " + Duration.ofNanos(tripWindowNanos)
                        + " (more than " + tripRequests + "), the last for '" + request.action() + "' by " + request.actor();
                tripped = true;
                decision = Decision.deny("tripped by " + tripReason + "; every unsafe action is denied until a person resets it");
            } else {
                decision = rule.decide(request, now, approved); // may throw (a curve out of range): then nothing counts
                if (!approved && tripRequests > 0) {
                    recentRequests.addLast(now);
                }
            }
            String actor = approved ? approver : request.actor();
            record(new AuditRecord(now, approved ? AuditRecord.Kind.APPROVED : AuditRecord.Kind.DECIDED, request.action(), actor,
                    request.amount(), decision));
            if (tripped) {
                record(new AuditRecord(now, AuditRecord.Kind.TRIPPED, request.action(), request.actor(), 0, decision));
            }
        } finally {
            lock.unlock();
        }
        if (tripped) {
            LOG.warn("governor '{}' {}", name, decision.reason());
            if (events.isEnabled()) {
                events.publish(new PolicyEvent.StateChanged(name, KIND, now, "ARMED", "TRIPPED", decision.reason()));
            }
        }
        if (events.isEnabled()) {
            events.publish(new PolicyEvent.ActionDecided(name, KIND, now, request.action(), decision.verdict().name(),
                    decision.delay().toNanos(), decision.reason()));
        }
        return decision;
    }

    /**
     * Whether this unsafe request would make one too many in the trip window (it is counted by the
     * caller once decided, so a request that fails is not). Under the lock.
     */
    private boolean tripsNow(long now) {
        if (tripRequests == 0) {
            return false;
        }
        while (!recentRequests.isEmpty() && now - recentRequests.peekFirst() >= tripWindowNanos) {
            recentRequests.pollFirst();
        }
        return recentRequests.size() + 1 > tripRequests;
    }

    private void record(AuditRecord entry) {
        if (trail.size() == auditCapacity) {
            trail.pollFirst();
        }
        trail.addLast(entry);
    }

    /** One action class's configuration and window; the mutable part is guarded by the governor's lock. */
    private static final class Rules {
        final String action;
        final Direction direction;
        final long budget;
        final long windowNanos;
        final ResponseCurve curve;
        final long floor;
        final long capacity;
        final long settleNanos;
        final long escalateAfter;
        /** Units let through, as {time, amount}, oldest first; only those within the window are kept. */
        final ArrayDeque<long[]> window = new ArrayDeque<>();
        /**
         * Units let through, as {settled time, amount}: counted against the floor until their delay and
         * the settle time have passed (they may not show in a stated capacity yet). Kept apart from the
         * window, which a delay may outlast.
         */
        final ArrayDeque<long[]> unsettled = new ArrayDeque<>();
        long used;

        Rules(String action, Direction direction, long budget, long windowNanos, ResponseCurve curve, long floor, long capacity,
              long settleNanos, long escalateAfter) {
            this.action = action;
            this.direction = direction;
            this.budget = budget;
            this.windowNanos = windowNanos;
            this.curve = curve;
            this.floor = floor;
            this.capacity = capacity;
            this.settleNanos = settleNanos;
            this.escalateAfter = escalateAfter;
        }

        Rules copy() {
            return new Rules(action, direction, budget, windowNanos, curve, floor, capacity, settleNanos, escalateAfter);
        }

        long used(long now) {
            while (!window.isEmpty() && now - window.peekFirst()[0] >= windowNanos) {
                used -= window.pollFirst()[1];
            }
            return used;
        }

        Decision decide(ActionRequest request, long now, boolean approved) {
            long amount = request.amount();
            long inWindow = used(now);
            if (floor >= 0) {
                // Units let through lately may not show in the stated capacity yet: count them until settled.
                unsettled.removeIf(entry -> entry[0] - now <= 0);
                long pending = 0;
                for (long[] entry : unsettled) {
                    pending += entry[1];
                }
                long left = request.capacity() - pending - amount;
                if (left < floor) {
                    return Decision.deny("would leave " + left + " in service" + (pending > 0 ? " (" + pending
                            + " let through lately, counted until settled)" : "") + ", below the floor of " + floor);
                }
            }
            if (amount > budget) {
                return Decision.deny(amount + " units can never fit the budget of " + budget + " per " + Duration.ofNanos(windowNanos));
            }
            if (amount > budget - inWindow) { // no overflow: 0 <= inWindow <= budget
                return Decision.deny("budget of " + budget + " per " + Duration.ofNanos(windowNanos) + " would be exceeded: " + inWindow
                        + " used, " + amount + " asked; room again in " + Duration.ofNanos(roomIn(now, inWindow + amount - budget)));
            }
            if (!approved && escalateAfter >= 0 && inWindow + amount > escalateAfter) {
                return Decision.needsApproval("more than " + escalateAfter + " per " + Duration.ofNanos(windowNanos) + " needs a person: "
                        + inWindow + " used, " + amount + " asked");
            }
            // The curve is user code: check its answer before anything is counted.
            Duration delay = approved ? Duration.ZERO : checkedDelay(curve.delay(inWindow), inWindow);
            window.addLast(new long[] {now, amount});
            if (floor >= 0) {
                unsettled.addLast(new long[] {now + delay.toNanos() + settleNanos, amount});
            }
            used += amount;
            String counted = (inWindow + amount) + " of " + budget + " per " + Duration.ofNanos(windowNanos);
            if (approved) {
                return Decision.allow("approved; " + counted);
            }
            return delay.isZero() ? Decision.allow(counted) : Decision.delay(delay, counted + "; curve delay " + delay);
        }

        private Duration checkedDelay(Duration delay, long inWindow) {
            if (delay == null || delay.isNegative() || delay.compareTo(Checks.MAX_DURATION) > 0) {
                throw new IllegalArgumentException("curve of '" + action + "' must return a delay in [0, " + Checks.MAX_DURATION
                        + "] (about 73 years), returned " + delay + " for " + inWindow + " used");
            }
            return delay;
        }

        /** How long until {@code excess} units have left the window. */
        private long roomIn(long now, long excess) {
            long freed = 0;
            for (long[] entry : window) {
                freed += entry[1];
                if (freed >= excess) {
                    return Math.max(0L, entry[0] + windowNanos - now);
                }
            }
            return windowNanos;
        }
    }

    /**
     * The rules of one unsafe action class, filled in by the consumer given to
     * {@link Builder#unsafe(String, Consumer)}. Every setter validates at once and throws
     * {@link IllegalArgumentException} naming the parameter and its range. Not thread-safe.
     */
    public static final class UnsafeRules {
        private static final long MAX_BUDGET = 1_000_000_000L;
        private static final Duration DEFAULT_SETTLE = Duration.ofMinutes(1);
        private long budget = -1;
        private long windowNanos;
        private ResponseCurve curve = ResponseCurve.none();
        private long floor = -1;
        private long capacity = -1;
        private long settleNanos;
        private long escalateAfter = -1;

        private UnsafeRules() {}

        /**
         * Required: at most {@code units} of this action in any window of {@code window}.
         *
         * @param units  the budget, 1 to 1,000,000,000
         * @param window the sliding window, positive
         * @return these rules
         * @throws IllegalArgumentException if out of range
         */
        public UnsafeRules budget(long units, Duration window) {
            if (units < 1 || units > MAX_BUDGET) {
                throw new IllegalArgumentException("budget must be in [1, " + MAX_BUDGET + "], was " + units);
            }
            this.budget = units;
            this.windowNanos = Checks.positiveUpToMax(window, "window").toNanos();
            return this;
        }

        /**
         * @param curve the wait before each action given the units already used in the window (default
         *              {@link ResponseCurve#none()}); checked at build not to decrease and to stay in range
         *              for the first {@code min(budget, 100,000)} units, and at each decision to stay in range
         * @return these rules
         * @throws IllegalArgumentException if null
         */
        public UnsafeRules curve(ResponseCurve curve) {
            this.curve = Checks.notNull(curve, "curve");
            return this;
        }

        /**
         * Never leave fewer than {@code minimum} of {@code capacity} in service: requests must then state
         * their current capacity ({@link ActionRequest#capacity(long)}). Units let through count against
         * the floor until a minute after they were due (see {@link #floor(long, long, Duration)}).
         *
         * @param minimum  the floor, 0 to {@code capacity - 1}
         * @param capacity the full capacity (e.g. the fleet's size), at least 1
         * @return these rules
         * @throws IllegalArgumentException if out of range, e.g. a floor at or above the capacity
         */
        public UnsafeRules floor(long minimum, long capacity) {
            return floor(minimum, capacity, DEFAULT_SETTLE);
        }

        /**
         * Never leave fewer than {@code minimum} of {@code capacity} in service, counting every unit
         * this governor let through against the floor until {@code settle} after it was due: the
         * capacity a request states may not show it yet (an instance still shutting down, a second
         * automation deciding at the same time). Set {@code settle} to how long an action takes to show
         * in the capacity you state; a unit that shows earlier is counted twice until then, which errs
         * on the safe side.
         *
         * @param minimum  the floor, 0 to {@code capacity - 1}
         * @param capacity the full capacity (e.g. the fleet's size), at least 1; only for checking the
         *                 floor and for messages (a request may state more)
         * @param settle   how long a unit let through counts against the floor after it is due, not negative
         * @return these rules
         * @throws IllegalArgumentException if out of range, e.g. a floor at or above the capacity
         */
        public UnsafeRules floor(long minimum, long capacity, Duration settle) {
            this.settleNanos = Checks.nonNegativeUpToMaxNanos(settle, "settle");
            if (capacity < 1) {
                throw new IllegalArgumentException("capacity must be >= 1, was " + capacity);
            }
            if (minimum < 0 || minimum >= capacity) {
                throw new IllegalArgumentException("floor must be in [0, " + (capacity - 1) + "] (below the capacity " + capacity
                        + ", or no action could ever be taken), was " + minimum);
            }
            this.floor = minimum;
            this.capacity = capacity;
            return this;
        }

        /**
         * Beyond {@code units} in a window, a request is answered NEEDS_APPROVAL instead of a delay.
         *
         * @param units the threshold, 0 (every request needs a person) to the budget minus 1
         * @return these rules
         * @throws IllegalArgumentException if negative (the upper bound is checked against the budget at build)
         */
        public UnsafeRules escalateAfter(long units) {
            if (units < 0) {
                throw new IllegalArgumentException("escalateAfter must be >= 0, was " + units);
            }
            this.escalateAfter = units;
            return this;
        }
    }

    /**
     * Builds a {@link Governor}. Every setter validates at once and throws
     * {@link IllegalArgumentException} naming the parameter and its allowed range. Not thread-safe; the
     * governor it builds is.
     */
    public static final class Builder {
        private String name = "governor";
        private final Map<String, Rules> rules = new LinkedHashMap<>();
        private int tripRequests;
        private long tripWindowNanos;
        private int auditCapacity = 10_000;
        private Scheduler scheduler = Scheduler.shared();
        private final List<PolicyEventListener> listeners = new ArrayList<>();

        private Builder() {}

        /**
         * @param name the governor's name (default {@code "governor"})
         * @return this builder
         * @throws IllegalArgumentException if null or blank
         */
        public Builder name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * Declares a safe action class: always ALLOW, never slowed, audited.
         *
         * @param action the action class's name, not blank, not declared before
         * @return this builder
         * @throws IllegalArgumentException if blank or already declared
         */
        public Builder safe(String action) {
            add(new Rules(checkNew(action), Direction.SAFE, 0, 0, ResponseCurve.none(), -1, -1, 0, -1));
            return this;
        }

        /**
         * Declares an unsafe action class and its rules.
         *
         * @param action the action class's name, not blank, not declared before
         * @param rules  fills in the rules; {@link UnsafeRules#budget} is required
         * @return this builder
         * @throws IllegalArgumentException if blank or already declared, if the rules have no budget, an
         *                                  escalation threshold at or above the budget, or a curve that
         *                                  decreases or answers a delay out of range within the first
         *                                  {@code min(budget, 100,000)} units
         */
        public Builder unsafe(String action, Consumer<UnsafeRules> rules) {
            checkNew(action);
            Checks.notNull(rules, "rules");
            UnsafeRules spec = new UnsafeRules();
            rules.accept(spec);
            if (spec.budget < 1) {
                throw new IllegalArgumentException("unsafe action '" + action + "' needs a budget(units, window)");
            }
            if (spec.escalateAfter >= spec.budget) {
                throw new IllegalArgumentException("escalateAfter must be in [0, " + (spec.budget - 1) + "] (below the budget of '" + action
                        + "'), was " + spec.escalateAfter);
            }
            checkCurve(action, spec.curve, spec.budget);
            add(new Rules(action, Direction.UNSAFE, spec.budget, spec.windowNanos, spec.curve, spec.floor, spec.capacity, spec.settleNanos,
                    spec.escalateAfter));
            return this;
        }

        /**
         * Trips the governor when more than {@code requests} unsafe requests (any action class, decided
         * either way) arrive within {@code window}: automation that asks that often is itself suspect.
         * Off by default.
         *
         * @param requests the most unsafe requests tolerated per window, at least 1
         * @param window   the window, positive
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder tripAt(int requests, Duration window) {
            this.tripRequests = Checks.inRange(requests, 1, 1_000_000, "requests");
            this.tripWindowNanos = Checks.positiveUpToMax(window, "window").toNanos();
            return this;
        }

        /**
         * @param entries the most audit entries kept (older ones drop off), 1 to 10,000,000 (default 10,000)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder auditCapacity(int entries) {
            this.auditCapacity = Checks.inRange(entries, 1, 10_000_000, "auditCapacity");
            return this;
        }

        /**
         * @param scheduler waits for {@link Governor#decideAndWait}; its {@link Scheduler#ticker()} is the
         *                  clock (default {@link Scheduler#shared()})
         * @return this builder
         * @throws IllegalArgumentException if null
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Checks.notNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Registers a listener for {@link PolicyEvent.ActionDecided} and, on trip and reset,
         * {@link PolicyEvent.StateChanged}.
         *
         * @param listener the listener, not null
         * @return this builder
         * @throws IllegalArgumentException if null
         */
        public Builder listener(PolicyEventListener listener) {
            listeners.add(Checks.notNull(listener, "listener"));
            return this;
        }

        /**
         * @return a new governor
         * @throws IllegalArgumentException if no action class was declared
         */
        public Governor build() {
            if (rules.isEmpty()) {
                throw new IllegalArgumentException("actions must hold at least one action class: call safe(...) or unsafe(...)");
            }
            return new Governor(this);
        }

        private String checkNew(String action) {
            Checks.notBlank(action, "action");
            if (rules.containsKey(action)) {
                throw new IllegalArgumentException("action '" + action + "' is declared twice");
            }
            return action;
        }

        private void add(Rules rule) {
            rules.put(rule.action, rule);
        }

        /** A curve is checked where it is used: for every count of used units inside the budget. */
        private static void checkCurve(String action, ResponseCurve curve, long budget) {
            Duration previous = Duration.ZERO;
            for (long used = 0; used < Math.min(budget, 100_000); used++) {
                Duration delay = curve.delay(used);
                if (delay == null || delay.isNegative() || delay.compareTo(Checks.MAX_DURATION) > 0) {
                    throw new IllegalArgumentException("curve of '" + action + "' must return a delay in [0, " + Checks.MAX_DURATION
                            + "] (about 73 years), returned " + delay + " for " + used + " used");
                }
                if (delay.compareTo(previous) < 0) {
                    throw new IllegalArgumentException("curve of '" + action + "' must not decrease: " + delay + " for " + used + " used < "
                            + previous + " for " + (used - 1));
                }
                previous = delay;
            }
        }
    }
}
