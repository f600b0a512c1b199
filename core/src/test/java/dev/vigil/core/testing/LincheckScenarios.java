package dev.vigil.core.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.Options;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.kotlinx.lincheck.strategy.managed.ManagedStrategyGuaranteeKt;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;
import org.jetbrains.kotlinx.lincheck.strategy.stress.StressOptions;

/**
 * What the Lincheck tests of every module share: the size of the explored scenario space
 * ({@link Budget}), hand-written scenarios (the histories a random search would rarely hit) and the
 * JDK guard for the model checker. The modules using it have {@code lincheck-jvm} as a test
 * dependency of their own.
 */
public final class LincheckScenarios {
    private LincheckScenarios() {}

    /**
     * How much of the scenario space a test class explores: scenarios per check ({@code iterations}),
     * executions per scenario ({@code invocations}), and operations per thread and in the init and post
     * parts ({@code actors}), with 3 parallel threads. Small, for the build; for a deeper run by hand,
     * {@code -Dvigil.lincheck.iterations=200 -Dvigil.lincheck.invocations=1000} override the first two.
     *
     * @param iterations  scenarios per check
     * @param invocations executions per scenario
     * @param actors      operations per thread, and in the init and post parts
     */
    public record Budget(int iterations, int invocations, int actors) {
        /**
         * @return the budget with the {@code vigil.lincheck.iterations} and {@code vigil.lincheck.invocations}
         *         system properties applied, if set
         */
        public static Budget of(int iterations, int invocations, int actors) {
            return new Budget(Integer.getInteger("vigil.lincheck.iterations", iterations),
                    Integer.getInteger("vigil.lincheck.invocations", invocations), actors);
        }

        /**
         * Model checking within this budget. {@link LongAdder}s count statistics that take part in no
         * decision, so they are one atomic step each rather than Striped64's retry loop.
         *
         * @param obstructionFree check obstruction freedom too (every lock-free operation)
         * @param threadConfined  classes the scenario uses for thread-confined bookkeeping (such as the
         *                        permits each thread holds): not interleaved
         * @return the options
         */
        public ModelCheckingOptions modelChecking(boolean obstructionFree, Class<?>... threadConfined) {
            ModelCheckingOptions options = new ModelCheckingOptions().invocationsPerIteration(invocations)
                    .checkObstructionFreedom(obstructionFree)
                    .addGuarantee(ManagedStrategyGuaranteeKt.forClasses(LongAdder.class.getName()).allMethods().treatAsAtomic());
            for (Class<?> confined : threadConfined) {
                options.addGuarantee(ManagedStrategyGuaranteeKt.forClasses(confined.getName()).allMethods().ignore());
            }
            return bounded(options);
        }

        /** @return stress testing within this budget */
        public StressOptions stress() {
            return bounded(new StressOptions().invocationsPerIteration(invocations));
        }

        private <O extends Options<O, ?>> O bounded(O options) {
            return options.iterations(iterations)
                    .minimizeFailedScenario(false) // scenarios are small already; minimising re-runs them all
                    .threads(3)
                    .actorsPerThread(actors)
                    .actorsBefore(actors)
                    .actorsAfter(actors);
        }
    }

    /**
     * The one permit each Lincheck thread holds, if any ({@code -1}, {@code AdmissionPolicy.REJECTED},
     * if not). Entry {@code tid} is only touched by thread {@code tid}: thread-confined bookkeeping, to
     * pass to {@link Budget#modelChecking} so the model checker does not interleave it.
     */
    public static final class HeldPermits {
        private final long[] permits;

        /**
         * @param threads the number of Lincheck thread ids (parallel threads plus the init/post thread)
         */
        public HeldPermits(int threads) {
            permits = new long[threads];
            java.util.Arrays.fill(permits, -1L);
        }

        /**
         * @param tid a Lincheck thread id
         * @return its permit, or -1
         */
        public long get(int tid) {
            return permits[tid];
        }

        /**
         * @param tid    a Lincheck thread id
         * @param permit its permit now, or -1
         */
        public void set(int tid, long permit) {
            permits[tid] = permit;
        }
    }

    /** An operation of a scenario class and its arguments. */
    public static final class Call {
        final String name;
        final List<Object> arguments;

        private Call(String name, List<Object> arguments) {
            this.name = name;
            this.arguments = arguments;
        }
    }

    /**
     * @param name      the name of an {@code @Operation} method of the scenario class
     * @param arguments its arguments
     * @return the call
     */
    public static Call call(String name, Object... arguments) {
        return new Call(name, List.of(arguments));
    }

    /**
     * A fixed Lincheck scenario of {@code type}'s operations, for {@code addCustomScenario}.
     *
     * @param type     the scenario class
     * @param init     the operations run first, on one thread
     * @param parallel the operations of each parallel thread
     * @param post     the operations run last, on one thread
     * @return the scenario
     * @throws IllegalArgumentException if {@code type} has no method of a call's name and arity
     */
    public static ExecutionScenario scenario(Class<?> type, List<Call> init, List<List<Call>> parallel, List<Call> post) {
        List<List<Actor>> threads = new ArrayList<>();
        for (List<Call> thread : parallel) {
            threads.add(actors(type, thread));
        }
        return new ExecutionScenario(actors(type, init), threads, actors(type, post), null);
    }

    private static List<Actor> actors(Class<?> type, List<Call> calls) {
        List<Actor> actors = new ArrayList<>();
        for (Call call : calls) {
            Method method = null;
            for (Method candidate : type.getMethods()) {
                if (candidate.getName().equals(call.name) && candidate.getParameterCount() == call.arguments.size()) {
                    method = candidate;
                }
            }
            if (method == null) {
                throw new IllegalArgumentException(type.getSimpleName() + " has no operation " + call.name + " with "
                        + call.arguments.size() + " arguments");
            }
            actors.add(new Actor(method, call.arguments, false, false, false, false, false));
        }
        return actors;
    }

    /**
     * Skips a model-checking test on JDK 22+: Lincheck's model checker cannot instrument their class
     * files, so it runs in the JDK 17 pass of CI; the stress strategy runs on every JDK.
     */
    public static void assumeModelCheckingSupported() {
        assumeTrue(Runtime.version().feature() <= 21,
                "Lincheck model checking supports class files up to Java 21; it runs in the JDK 17 pass");
    }
}
