package dev.vigil.core;

import dev.vigil.core.health.Health;
import dev.vigil.core.internal.Checks;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Policies composed into one, listed from the outermost to the innermost:
 *
 * <pre>{@code
 * Policy pipeline = Pipeline.of(fallback, retry, breaker, bulkhead, timeout);
 * // runs as fallback(retry(breaker(bulkhead(timeout(call)))))
 * }</pre>
 *
 * <p>Order matters, and the usual order is the one above: the fallback sees every failure, including
 * rejections; each retry attempt passes through the breaker (so an open circuit stops retries) and
 * the bulkhead; the timeout bounds one attempt. Put the timeout outside the retry instead to bound
 * all attempts together.
 *
 * <p><b>How it runs.</b> {@link AdmissionPolicy admission policies} are driven directly through the
 * permit protocol (acquire outer to inner, end inner to outer), with each permit held in its own
 * stack frame, so a pipeline of admission policies allocates nothing per call. If an inner policy
 * rejects the call, the outer policies' permits are released, not counted: the dependency was never
 * called. Control-flow policies (timeout, retry, fallback, hedge) receive the rest of the pipeline as
 * a pre-built function; {@code call}, {@code get}, {@code run} and the {@code decorate...} wrappers
 * reach it without allocating, while {@link #execute} with any other action binds it to its
 * argument in one small object per call.
 *
 * <p>Immutable and thread-safe. Nested pipelines are flattened.
 */
public final class Pipeline implements Policy {
    private final String name;
    private final List<Policy> policies;
    private final Stage head;

    private Pipeline(String name, List<Policy> policies) {
        this.name = name;
        this.policies = Collections.unmodifiableList(policies);
        this.head = Stage.chain(policies.toArray(new Policy[0]));
    }

    /**
     * Composes policies, outermost first, into a pipeline named {@code "pipeline"}.
     *
     * @param policies the policies, outermost first; at least one
     * @return the pipeline
     * @throws IllegalArgumentException if the array is null or empty, holds a null, or holds the
     *     same policy instance twice
     */
    public static Pipeline of(Policy... policies) {
        return builder().add(policies).build();
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Expands every pipeline in {@code policies} into its policies, recursively.
     *
     * @param policies policies, some of which may be pipelines
     * @return the policies in order, with no pipeline among them
     * @throws IllegalArgumentException if the collection or an element is null
     */
    public static List<Policy> flatten(Collection<? extends Policy> policies) {
        Checks.notNull(policies, "policies");
        List<Policy> flat = new ArrayList<>();
        for (Policy policy : policies) {
            Checks.notNull(policy, "policies element");
            if (policy instanceof Pipeline) {
                flat.addAll(((Pipeline) policy).policies);
            } else {
                flat.add(policy);
            }
        }
        return flat;
    }

    /** @return the policies, outermost first (nested pipelines flattened); unmodifiable */
    public List<Policy> policies() {
        return policies;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "pipeline";
    }

    @Override
    public <A, T> T execute(CheckedFunction<? super A, ? extends T> action, A argument) throws Exception {
        Checks.notNull(action, "action");
        return head.run(action, argument);
    }

    @Override
    public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> call) {
        Checks.notNull(call, "call");
        return head.runAsync(call);
    }

    /**
     * The worst health of the policies, with the reasons of those that are not UP.
     *
     * @return the aggregated health
     */
    @Override
    public Health health() {
        Health.Status worst = Health.Status.UP;
        StringBuilder reasons = null;
        for (Policy policy : policies) {
            Health health = policy.health();
            if (health.status() != Health.Status.UP) {
                worst = worst.worst(health.status());
                reasons = reasons == null ? new StringBuilder() : reasons.append("; ");
                reasons.append(policy.name()).append(": ").append(health.status());
                if (!health.reason().isEmpty()) {
                    reasons.append(" (").append(health.reason()).append(')');
                }
            }
        }
        return reasons == null ? Health.up() : new Health(worst, reasons.toString());
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("Pipeline[").append(name).append(": ");
        for (int i = 0; i < policies.size(); i++) {
            text.append(i == 0 ? "" : " -> ").append(policies.get(i).kind()).append(" '").append(policies.get(i).name()).append('\'');
        }
        return text.append(']').toString();
    }

    /** Collects a pipeline's policies. Not thread-safe; the built pipeline is. */
    public static final class Builder {
        private final List<Policy> policies = new ArrayList<>();
        private String name = "pipeline";

        private Builder() {}

        /**
         * @param name the pipeline's name, not blank
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public Builder name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * Appends policies inside those added before (the first added is the outermost).
         *
         * @param added policies, outermost first
         * @return this builder
         * @throws IllegalArgumentException if the array or an element is null
         */
        public Builder add(Policy... added) {
            Checks.noNullElements(added, "policies");
            policies.addAll(flatten(List.of(added)));
            return this;
        }

        /**
         * @return the pipeline
         * @throws IllegalArgumentException if no policy was added, or the same policy instance appears twice
         */
        public Pipeline build() {
            if (policies.isEmpty()) {
                throw new IllegalArgumentException("policies must not be empty: a pipeline needs at least one policy");
            }
            Map<Policy, Integer> seen = new IdentityHashMap<>();
            for (int i = 0; i < policies.size(); i++) {
                Integer first = seen.putIfAbsent(policies.get(i), i);
                if (first != null) {
                    throw new IllegalArgumentException("policies[" + i + "] is the same instance as policies[" + first
                            + "] ('" + policies.get(i).name() + "'): a policy may appear once in a pipeline");
                }
            }
            return new Pipeline(name, new ArrayList<>(policies));
        }
    }
}
