package dev.vigil.governor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.governor.Decision.Verdict;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * {@link Governor} as a jqwik property against a simulated fleet, in virtual time
 * ({@link ManualScheduler}).
 *
 * <p><b>The simulation.</b> Two unsafe action classes with generated budgets, windows, step curves
 * (non-decreasing, some delays longer than the window), optional floors and optional escalation
 * thresholds; one safe class; an optional trip threshold and a small audit capacity. Each unsafe class
 * has a simulated capacity in service, starting at its configured capacity: an action the governor
 * permits takes {@code amount} out of service when it becomes due ({@code decision time + delay}), and
 * an allowed safe action puts {@code amount} back into one class (up to its configured capacity). A
 * generated sequence of steps advances virtual time, requests an action (amount 1 to 3, stating the
 * capacity in service now when the class has a floor), approves an escalated request (or a fresh one)
 * with the capacity in service now, or resets the governor.
 *
 * <p><b>Checked after every step:</b>
 * <ol type="a">
 *   <li>for each unsafe class and every decision time {@code t}, the units permitted (ALLOW, DELAY,
 *       approved ALLOW) decided in {@code (t - window, t]} never exceed the budget, and
 *       {@link Governor#used} is the units decided in {@code (now - window, now]};</li>
 *   <li>the simulated capacity never goes below the floor (actions falling due are applied first);</li>
 *   <li>safe actions are always ALLOW with zero delay;</li>
 *   <li>each permitted unapproved decision's delay is the curve's value for the units decided in the
 *       window before it (ALLOW exactly when that is zero), an approval has no delay;</li>
 *   <li>the governor trips exactly when more than {@code tripAt} unsafe requests fall within the trip
 *       window while armed, and while tripped (between a trip and a reset) every unsafe decision and
 *       approval is DENY; {@link Governor#isTripped} and the StateChanged events agree;</li>
 *   <li>the audit trail holds {@code min(decisions + approvals + trips + resets, auditCapacity)}
 *       entries, and every decision and approval was published as an ActionDecided.</li>
 * </ol>
 */
class GovernorProperties {
    private static final long MS = 1_000_000L;
    private static final String[] UNSAFE = {"terminate-instance", "drain-node"};
    private static final String SAFE = "launch-instance";

    // ------------------------------------------------------------------ configuration and steps

    /**
     * @param budget        units per window
     * @param windowMs      the sliding window
     * @param stepsMs       the step curve's delays, non-decreasing
     * @param capacity      the configured (and initial simulated) capacity
     * @param floor         the floor, or -1 for none
     * @param escalateAfter the escalation threshold, or -1 for none
     */
    record ClassConfig(int budget, long windowMs, List<Long> stepsMs, int capacity, int floor, int escalateAfter) {
        Duration curveDelay(long used) {
            return Duration.ofMillis(stepsMs.get((int) Math.min(used, stepsMs.size() - 1)));
        }

        void apply(Governor.UnsafeRules rules) {
            rules.budget(budget, Duration.ofMillis(windowMs))
                    .curve(ResponseCurve.steps(stepsMs.stream().map(Duration::ofMillis).toArray(Duration[]::new)));
            if (floor >= 0) {
                rules.floor(floor, capacity);
            }
            if (escalateAfter >= 0) {
                rules.escalateAfter(escalateAfter);
            }
        }
    }

    /** @param tripAt 0: no trip threshold */
    record Config(List<ClassConfig> classes, int tripAt, long tripWindowMs, int auditCapacity) {}

    sealed interface Step permits Advance, Request, Approve, Reset {}

    record Advance(long ms) implements Step {}

    /** @param action 0 and 1: the unsafe classes; 2: the safe class, putting capacity back into class {@code target} */
    record Request(int action, int amount, int target) implements Step {}

    /** Approves the {@code pick}-th escalated request of class {@code action}, or a fresh one of {@code amount} if none is waiting. */
    record Approve(int action, int pick, int amount) implements Step {}

    record Reset() implements Step {}

    @Provide
    Arbitrary<Config> configs() {
        Arbitrary<ClassConfig> classConfig = Combinators.combine(
                Arbitraries.integers().between(1, 6),
                Arbitraries.longs().between(1, 20).map(x -> x * 500),                 // 0.5 s to 10 s
                Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just(0L)), Tuple.of(5, Arbitraries.longs().between(1, 12).map(x -> x * 500)))
                        .list().ofMinSize(1).ofMaxSize(4)
                        .map(list -> list.stream().sorted().toList()),                 // 0 to 6 s, non-decreasing
                Arbitraries.integers().between(3, 12),
                Arbitraries.integers().between(-3, 11),                                 // < 0: no floor
                Arbitraries.integers().between(-4, 5))                                  // < 0: no escalation
                .as((budget, window, steps, capacity, floorRaw, escalateRaw) -> new ClassConfig(budget, window, steps, capacity,
                        floorRaw < 0 ? -1 : Math.min(floorRaw, capacity - 1), escalateRaw < 0 ? -1 : Math.min(escalateRaw, budget - 1)));
        return Combinators.combine(
                classConfig.list().ofSize(2),
                Arbitraries.integers().between(-3, 6).map(x -> Math.max(x, 0)),        // 0: no trip threshold
                Arbitraries.longs().between(1, 10).map(x -> x * 1000),
                Arbitraries.integers().between(3, 40))
                .as(Config::new);
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        Arbitrary<Step> advance = Arbitraries.longs().between(0, 30).map(x -> new Advance(x * 100));
        Arbitrary<Step> unsafe = Combinators.combine(Arbitraries.integers().between(0, 1), Arbitraries.integers().between(1, 3))
                .as((action, amount) -> new Request(action, amount, 0));
        Arbitrary<Step> safe = Combinators.combine(Arbitraries.integers().between(1, 3), Arbitraries.integers().between(0, 1))
                .as((amount, target) -> new Request(2, amount, target));
        Arbitrary<Step> approve = Combinators.combine(Arbitraries.integers().between(0, 1), Arbitraries.integers().between(0, 5),
                        Arbitraries.integers().between(1, 3))
                .as(Approve::new);
        Arbitrary<Step> reset = Arbitraries.just(new Reset());
        return Arbitraries.frequencyOf(
                Tuple.of(5, advance),
                Tuple.of(7, unsafe),
                Tuple.of(2, safe),
                Tuple.of(2, approve),
                Tuple.of(1, reset))
                .list().ofMinSize(1).ofMaxSize(60).withSizeDistribution(RandomDistribution.uniform());
    }

    // ------------------------------------------------------------------ the simulation

    /** One unsafe class's simulated fleet and the governor's permits for it, as the harness saw them. */
    private static final class Fleet {
        final ClassConfig config;
        long inService;
        /** {due, amount} of permitted actions not yet applied to {@link #inService}. */
        final List<long[]> due = new ArrayList<>();
        /** {decision time, units} of every permitted decision, oldest first. */
        final List<long[]> permits = new ArrayList<>();
        /** Amounts of requests answered NEEDS_APPROVAL and not approved yet. */
        final List<Integer> escalated = new ArrayList<>();

        Fleet(ClassConfig config) {
            this.config = config;
            this.inService = config.capacity();
        }

        long windowNanos() {
            return config.windowMs() * MS;
        }

        /** Units permitted with decision times in {@code (t - window, t]}. */
        long unitsIn(long t) {
            long units = 0;
            for (long[] permit : permits) {
                if (permit[0] - t <= 0 && t - permit[0] < windowNanos()) {
                    units += permit[1];
                }
            }
            return units;
        }

        void applyDue(long now) {
            due.removeIf(entry -> {
                if (entry[0] - now <= 0) {
                    inService -= entry[1];
                    return true;
                }
                return false;
            });
        }
    }

    private static final class Harness {
        final Config config;
        final ManualScheduler scheduler = new ManualScheduler();
        final Governor governor;
        final List<Fleet> fleets = new ArrayList<>();
        final AtomicLong actionEvents = new AtomicLong();
        final AtomicLong tripEvents = new AtomicLong();
        final AtomicLong rearmEvents = new AtomicLong();

        // the model of the trip
        boolean tripped;
        final ArrayDeque<Long> tripWindow = new ArrayDeque<>();
        long resetsWhileTripped;

        // what the audit trail must hold
        long decisions;
        long approvals;
        long trips;
        long resets;

        Harness(Config config) {
            this.config = config;
            Governor.Builder builder = Governor.builder().name("simulated").scheduler(scheduler).auditCapacity(config.auditCapacity())
                    .listener(event -> {
                        if (event instanceof PolicyEvent.ActionDecided) {
                            actionEvents.incrementAndGet();
                        } else if (event instanceof PolicyEvent.StateChanged change) {
                            (change.to().equals("TRIPPED") ? tripEvents : rearmEvents).incrementAndGet();
                        }
                    });
            for (int i = 0; i < UNSAFE.length; i++) {
                ClassConfig classConfig = config.classes().get(i);
                builder.unsafe(UNSAFE[i], classConfig::apply);
                fleets.add(new Fleet(classConfig));
            }
            builder.safe(SAFE);
            if (config.tripAt() > 0) {
                builder.tripAt(config.tripAt(), Duration.ofMillis(config.tripWindowMs()));
            }
            this.governor = builder.build();
        }

        long now() {
            return scheduler.ticker().read();
        }

        void applyDue() {
            for (Fleet fleet : fleets) {
                fleet.applyDue(now());
            }
        }

        ActionRequest request(int action, long amount) {
            ActionRequest request = ActionRequest.of(UNSAFE[action], amount).actor("automation-" + action);
            Fleet fleet = fleets.get(action);
            return fleet.config.floor() >= 0 ? request.capacity(fleet.inService) : request;
        }

        void step(Step step) {
            if (step instanceof Advance advance) {
                scheduler.advance(Duration.ofMillis(advance.ms()));
            } else if (step instanceof Request request && request.action() == 2) {
                safe(request);
            } else if (step instanceof Request request) {
                unsafe(request.action(), request.amount());
            } else if (step instanceof Approve approve) {
                approve(approve);
            } else {
                reset();
            }
            applyDue();
            check(step);
        }

        private void safe(Request request) {
            Decision decision = governor.decide(ActionRequest.of(SAFE, request.amount()).actor("launcher"));
            decisions++;
            Statistics.label("verdicts").collect("safe " + decision.verdict());
            // (c) always ALLOW at once, even while tripped
            assertEquals(Verdict.ALLOW, decision.verdict(), () -> "safe action: " + decision);
            assertEquals(Duration.ZERO, decision.delay(), () -> "safe action: " + decision);
            Fleet fleet = fleets.get(request.target());
            fleet.inService = Math.min(fleet.inService + request.amount(), fleet.config.capacity());
        }

        private void unsafe(int action, int amount) {
            applyDue();
            Fleet fleet = fleets.get(action);
            long now = now();
            boolean tripsNow = false;
            if (!tripped && config.tripAt() > 0) {
                while (!tripWindow.isEmpty() && now - tripWindow.peekFirst() >= config.tripWindowMs() * MS) {
                    tripWindow.pollFirst();
                }
                tripWindow.addLast(now);
                tripsNow = tripWindow.size() > config.tripAt();
            }
            long usedBefore = fleet.unitsIn(now);
            Decision decision = governor.decide(request(action, amount));
            decisions++;
            Statistics.label("verdicts").collect(describe(decision));
            if (tripsNow) {
                tripped = true;
                trips++;
            }
            // (e) while tripped (and for the request that trips it) every unsafe decision is DENY
            if (tripped) {
                assertEquals(Verdict.DENY, decision.verdict(), () -> "tripped, yet: " + decision);
            }
            if (decision.permitted()) {
                // (d) the curve's value for the units decided in the window before this one
                Duration expected = fleet.config.curveDelay(usedBefore);
                assertEquals(expected, decision.delay(), () -> "curve delay after " + usedBefore + " used: " + decision);
                assertEquals(expected.isZero() ? Verdict.ALLOW : Verdict.DELAY, decision.verdict());
                permit(fleet, now, amount, decision.delay());
            } else if (decision.verdict() == Verdict.NEEDS_APPROVAL) {
                assertEquals(Duration.ZERO, decision.delay());
                fleet.escalated.add(amount);
            }
        }

        private void approve(Approve approve) {
            applyDue();
            Fleet fleet = fleets.get(approve.action());
            int amount = fleet.escalated.isEmpty() ? approve.amount() : fleet.escalated.remove(approve.pick() % fleet.escalated.size());
            long now = now();
            Decision decision = governor.approve(request(approve.action(), amount), "on-call");
            approvals++;
            Statistics.label("verdicts").collect("approved " + describe(decision));
            assertTrue(decision.verdict() == Verdict.ALLOW || decision.verdict() == Verdict.DENY, () -> "approval: " + decision);
            assertEquals(Duration.ZERO, decision.delay());
            if (tripped) {
                assertEquals(Verdict.DENY, decision.verdict(), () -> "approved while tripped: " + decision);
            }
            if (decision.permitted()) {
                permit(fleet, now, amount, Duration.ZERO);
            }
        }

        private void reset() {
            governor.reset("on-call");
            resets++;
            if (tripped) {
                resetsWhileTripped++;
            }
            tripped = false;
            tripWindow.clear();
        }

        /** The verdict, and for a DENY which check refused, for the statistics. */
        private static String describe(Decision decision) {
            if (decision.verdict() != Verdict.DENY) {
                return decision.verdict().name();
            }
            String reason = decision.reason();
            return "DENY " + (reason.contains("tripped") ? "(tripped)" : reason.contains("floor") ? "(floor)" : "(budget)");
        }

        private static void permit(Fleet fleet, long now, long amount, Duration delay) {
            fleet.permits.add(new long[] {now, amount});
            fleet.due.add(new long[] {now + delay.toNanos(), amount});
        }

        private void check(Step step) {
            long now = now();
            for (int i = 0; i < fleets.size(); i++) {
                Fleet fleet = fleets.get(i);
                ClassConfig c = fleet.config;
                // (a) no window (t - window, t] ending at a decision holds more than the budget
                for (long[] permit : fleet.permits) {
                    long units = fleet.unitsIn(permit[0]);
                    String action = UNSAFE[i];
                    assertTrue(units <= c.budget(), () -> units + " units of " + action + " permitted within one window of "
                            + c.windowMs() + " ms ending at " + permit[0] + " ns, budget " + c.budget() + " (" + step + ")");
                }
                assertEquals(fleet.unitsIn(now), governor.used(UNSAFE[i]), () -> "used(" + c + ") after " + step);
                // (b) the simulated capacity never goes below the floor
                if (c.floor() >= 0) {
                    assertTrue(fleet.inService >= c.floor(), () -> "in service " + fleet.inService + " < floor " + c.floor()
                            + " of " + c.capacity() + " at " + now + " ns after " + step);
                }
            }
            // (e) the trip agrees with the model and the events
            assertEquals(tripped, governor.isTripped(), () -> "tripped after " + step);
            assertEquals(trips, tripEvents.get(), "ARMED -> TRIPPED events");
            assertEquals(resetsWhileTripped, rearmEvents.get(), "TRIPPED -> ARMED events");
            // (f) the bounded audit trail, and one ActionDecided per decision and approval
            assertEquals(Math.min(decisions + approvals + trips + resets, config.auditCapacity()), governor.audit().size(), "audit size");
            assertEquals(decisions + approvals, actionEvents.get(), "ActionDecided events");
        }
    }

    // ------------------------------------------------------------------ the property

    @Property(tries = 200, seed = "6060001")
    void theGovernorKeepsItsPromisesToASimulatedFleet(@ForAll("configs") Config config, @ForAll("steps") List<Step> steps) {
        Harness harness = new Harness(config);
        for (Step step : steps) {
            harness.step(step);
        }
        Statistics.label("tripped at least once").collect(harness.trips > 0);
    }
}
