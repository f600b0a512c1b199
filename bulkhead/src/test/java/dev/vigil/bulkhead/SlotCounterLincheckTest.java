package dev.vigil.bulkhead;

import static dev.vigil.core.testing.LincheckScenarios.assumeModelCheckingSupported;
import static dev.vigil.core.testing.LincheckScenarios.call;
import static dev.vigil.core.testing.LincheckScenarios.scenario;

import dev.vigil.core.testing.LincheckScenarios.Budget;
import dev.vigil.core.time.Ticker;
import java.util.List;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Param;
import org.jetbrains.kotlinx.lincheck.paramgen.IntGen;
import org.jetbrains.kotlinx.lincheck.paramgen.ThreadIdGen;
import org.junit.jupiter.api.Test;

/**
 * Linearizability of {@link SlotCounter}, the adaptive limiter's count of slots, under both Lincheck
 * strategies, against the sequential rule "a call that may fill share {@code s} of the limit {@code L} is
 * admitted iff the calls in flight are fewer than {@code ceil(L x s)}", with the limit set by an operation
 * of its own (so limit changes race with admissions, releases and the switches between the fast mode,
 * where slots are parked on the threads' stripes, and the exact mode).
 *
 * <p>The limit starts at 4 and moves within 1 to 6; the least critical share is 1/2, so the fast zone is 1
 * to 3 slots and the scenarios cross its edge all the time: parking a slot, taking it back, switching to
 * EXACT (closing the stripes, gathering their credit), going FAST again at half the zone, reopening a
 * stripe closed in the previous epoch. {@code inFlight()} is the exact count (which itself switches to
 * EXACT). Each Lincheck thread holds up to {@value #HANDS} slots and releases its own, parking them on its
 * home stripe when it can.
 */
public class SlotCounterLincheckTest {
    /** Lincheck thread ids: 0 for the init part, 1 to 3 parallel, 4 for the post part. */
    static final int THREAD_IDS = 5;
    static final int HANDS = 3;
    private static final Budget BUDGET = Budget.of(15, 150, 3);

    /** Runs the checks below; the scenario is the nested class. */
    public SlotCounterLincheckTest() {
        // no state
    }

    /** The slots each Lincheck thread holds: entry {@code tid} is touched by thread {@code tid} only. */
    public static final class Held {
        final int[] counts = new int[THREAD_IDS];

        /** Nothing held. */
        public Held() {
            // empty
        }

        int get(int tid) {
            return counts[tid];
        }

        void add(int tid, int delta) {
            counts[tid] += delta;
        }
    }

    /** The counter under test, in 4 stripes (the home stripe of a thread is its id modulo 4). */
    public static class Scenario {
        private final SlotCounter counter = new SlotCounter(4, 0.5, true, 4, Ticker.system(), 0);
        private final Held held = new Held();

        /** Lincheck creates one instance per execution. */
        public Scenario() {
            // fields above
        }

        @Operation
        public String acquireCritical(@Param(gen = ThreadIdGen.class) int tid) {
            return acquire(tid, 1.0);
        }

        @Operation
        public String acquireSheddable(@Param(gen = ThreadIdGen.class) int tid) {
            return acquire(tid, 0.5);
        }

        private String acquire(int tid, double share) {
            if (held.get(tid) == HANDS) {
                return "hands full";
            }
            if (counter.tryAcquire(counter.home(), share, null) < 0) {
                return "refused";
            }
            held.add(tid, 1);
            return "admitted";
        }

        @Operation
        public String release(@Param(gen = ThreadIdGen.class) int tid) {
            if (held.get(tid) == 0) {
                return "nothing held";
            }
            held.add(tid, -1);
            if (!counter.put(counter.home())) {
                counter.release();
            }
            return "released";
        }

        @Operation
        public void setLimit(@Param(gen = IntGen.class, conf = "1:6") int limit) {
            counter.setLimit(limit);
        }

        @Operation
        public int inFlight() {
            return counter.exactInFlight();
        }

        @Operation
        public int limit() {
            return SlotCounter.limit(counter.word());
        }
    }

    /** The sequential rule. */
    public static class Model {
        private int limit = 4;
        private int inFlight;
        private final int[] held = new int[THREAD_IDS];

        /** Lincheck creates one instance per sequential run. */
        public Model() {
            // fields above
        }

        public String acquireCritical(int tid) {
            return acquire(tid, 1.0);
        }

        public String acquireSheddable(int tid) {
            return acquire(tid, 0.5);
        }

        private String acquire(int tid, double share) {
            if (held[tid] == HANDS) {
                return "hands full";
            }
            if (inFlight >= (int) Math.ceil(limit * share)) {
                return "refused";
            }
            held[tid]++;
            inFlight++;
            return "admitted";
        }

        public String release(int tid) {
            if (held[tid] == 0) {
                return "nothing held";
            }
            held[tid]--;
            inFlight--;
            return "released";
        }

        public void setLimit(int limit) {
            this.limit = limit;
        }

        public int inFlight() {
            return inFlight;
        }

        public int limit() {
            return limit;
        }
    }

    /**
     * A history random scenarios rarely build: a slot parked on the init thread's stripe (which parallel
     * thread 1 shares, Lincheck running the init part on its first worker), another thread's call filling
     * the fast zone of the limit 4, then the limit dropped to 1 and a SHEDDABLE call on the parked stripe.
     * In fast mode the parked slot would admit it with one call in flight against a cap of 1: a limit
     * change must leave fast mode when the new fast zone no longer covers what is counted.
     */
    private static ExecutionScenario limitDropOverParkedSlot() {
        return scenario(Scenario.class, List.of(call("acquireCritical", 0), call("release", 0)),
                List.of(List.of(call("setLimit", 1), call("acquireSheddable", 1)), List.of(call("acquireCritical", 2)), List.of()),
                List.of(call("inFlight")));
    }

    @Test
    void modelChecking() {
        assumeModelCheckingSupported();
        LinChecker.check(Scenario.class, BUDGET.modelChecking(true, Held.class).sequentialSpecification(Model.class)
                .addCustomScenario(limitDropOverParkedSlot()));
    }

    @Test
    void stress() {
        LinChecker.check(Scenario.class, BUDGET.stress().sequentialSpecification(Model.class)
                .addCustomScenario(limitDropOverParkedSlot()));
    }
}
