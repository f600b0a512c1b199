package dev.vigil.core.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;

/**
 * What the Lincheck tests of every module share: hand-written scenarios (the histories a random
 * search would rarely hit) and the JDK guard for the model checker. The modules using it have
 * {@code lincheck-jvm} as a test dependency of their own.
 */
public final class LincheckScenarios {
    private LincheckScenarios() {}

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
