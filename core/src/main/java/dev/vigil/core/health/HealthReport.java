package dev.vigil.core.health;

import dev.vigil.core.Pipeline;
import dev.vigil.core.Policy;
import dev.vigil.core.internal.Checks;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The health of a set of policies at one moment: each component's {@link Health} by policy name, and
 * the overall status a load balancer or supervisor acts on.
 *
 * <p>The overall status is the worst of the components, except that a component registered as
 * <em>optional</em> (a dependency the service can live without) contributes at most
 * {@link Health.Status#DEGRADED}. Pipelines are flattened into their policies. Two policies with
 * the same name are reported as {@code name}, {@code name#2}, and so on.
 *
 * <p>Immutable and thread-safe. A report is a snapshot: call {@link Checker#check()} again for a
 * fresh one.
 *
 * @param status     the overall status
 * @param components each policy's health by name, in registration order (unmodifiable)
 */
public record HealthReport(Health.Status status, Map<String, Health> components) {

    /** @throws IllegalArgumentException if a component is null */
    public HealthReport {
        Checks.notNull(status, "status");
        components = Collections.unmodifiableMap(new LinkedHashMap<>(Checks.notNull(components, "components")));
    }

    /**
     * Checks the given policies now, all required.
     *
     * @param policies the policies (pipelines are flattened)
     * @return the report
     * @throws IllegalArgumentException if the array or an element is null
     */
    public static HealthReport of(Policy... policies) {
        return builder().required(policies).build().check();
    }

    /**
     * Returns a builder of a reusable {@link Checker}.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the names of the components that are DOWN */
    public List<String> down() {
        List<String> names = new ArrayList<>();
        components.forEach((name, health) -> {
            if (health.status() == Health.Status.DOWN) {
                names.add(name);
            }
        });
        return names;
    }

    /**
     * Checks a fixed set of policies on demand. Immutable and thread-safe; {@link #check()} reads
     * each policy's health without locks.
     */
    public static final class Checker {
        private final Policy[] policies;
        private final boolean[] optional;

        private Checker(List<Policy> policies, List<Boolean> optional) {
            this.policies = policies.toArray(new Policy[0]);
            this.optional = new boolean[optional.size()];
            for (int i = 0; i < this.optional.length; i++) {
                this.optional[i] = optional.get(i);
            }
        }

        /** @return a fresh report */
        public HealthReport check() {
            Map<String, Health> components = new LinkedHashMap<>();
            Health.Status overall = Health.Status.UP;
            for (int i = 0; i < policies.length; i++) {
                Health health = Checks.notNull(policies[i].health(), "health() of " + policies[i].name());
                String name = policies[i].name();
                String key = name;
                for (int n = 2; components.containsKey(key); n++) {
                    key = name + "#" + n;
                }
                components.put(key, health);
                Health.Status contribution = health.status();
                if (optional[i] && contribution == Health.Status.DOWN) {
                    contribution = Health.Status.DEGRADED;
                }
                overall = overall.worst(contribution);
            }
            return new HealthReport(overall, components);
        }
    }

    /** Collects the policies of a {@link Checker}. Not thread-safe; build once and share the checker. */
    public static final class Builder {
        private final List<Policy> policies = new ArrayList<>();
        private final List<Boolean> optional = new ArrayList<>();

        private Builder() {}

        /**
         * Adds policies whose DOWN makes the whole report DOWN.
         *
         * @param required the policies (pipelines are flattened)
         * @return this builder
         * @throws IllegalArgumentException if the array or an element is null, or a policy was added before
         */
        public Builder required(Policy... required) {
            return add(Checks.noNullElements(required, "required"), false);
        }

        /**
         * Adds policies whose DOWN makes the report at most DEGRADED.
         *
         * @param optionalPolicies the policies (pipelines are flattened)
         * @return this builder
         * @throws IllegalArgumentException if the array or an element is null, or a policy was added before
         */
        public Builder optional(Policy... optionalPolicies) {
            return add(Checks.noNullElements(optionalPolicies, "optional"), true);
        }

        private Builder add(Policy[] added, boolean isOptional) {
            for (Policy policy : Pipeline.flatten(List.of(added))) {
                for (Policy existing : policies) {
                    if (existing == policy) {
                        throw new IllegalArgumentException("policy '" + policy.name() + "' was added twice: add each policy once,"
                                + " as required or as optional");
                    }
                }
                policies.add(policy);
                optional.add(isOptional);
            }
            return this;
        }

        /**
         * @return a checker over the policies added so far
         * @throws IllegalArgumentException if no policy was added
         */
        public Checker build() {
            if (policies.isEmpty()) {
                throw new IllegalArgumentException("policies must not be empty: add at least one required or optional policy");
            }
            return new Checker(policies, optional);
        }
    }
}
