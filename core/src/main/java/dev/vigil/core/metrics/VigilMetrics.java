package dev.vigil.core.metrics;

import dev.vigil.core.Pipeline;
import dev.vigil.core.Policy;
import dev.vigil.core.internal.Checks;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

/**
 * Binds Vigil policies to a Micrometer {@link MeterRegistry}. Every meter is a
 * {@link FunctionCounter} or a {@link Gauge} that reads a policy's own counters when the registry is
 * scraped: nothing is recorded per call, so binding metrics adds no cost to the hot path.
 *
 * <p>Tags: {@code name} (policy name), {@code kind} (policy kind), and {@code outcome} on call
 * counters ({@value MetricsSink#CALLS}). Pipelines are flattened into their policies.
 *
 * <p>Requires {@code micrometer-core} on the class path (an optional dependency of vigil-core).
 * Immutable and thread-safe.
 *
 * <pre>{@code
 * VigilMetrics.bind(registry, timeout, fallback);
 * }</pre>
 */
@SuppressWarnings("exports") // Micrometer types in the API are optional by design (requires static)
public final class VigilMetrics implements MeterBinder {
    private final List<Policy> policies;

    private VigilMetrics(List<Policy> policies) {
        this.policies = policies;
    }

    /**
     * Returns a binder for the given policies, for frameworks that collect {@link MeterBinder}s.
     *
     * @param policies the policies (pipelines are flattened; a policy given twice is bound once, and
     *                 policies that describe no meters are left out)
     * @return the binder
     * @throws IllegalArgumentException if the array is null or empty or holds a null, or two policies
     *     of the same kind share a name (their meters would collide)
     */
    public static VigilMetrics of(Policy... policies) {
        Checks.noNullElements(policies, "policies");
        if (policies.length == 0) {
            throw new IllegalArgumentException("policies must not be empty");
        }
        List<Policy> flat = new ArrayList<>();
        for (Policy policy : Pipeline.flatten(List.of(policies))) {
            // Each instance once (a timeout shared by two pipelines), and only policies with meters (a
            // view of another policy, which describes none, may share that policy's name).
            if (flat.stream().noneMatch(seen -> seen == policy) && describesMeters(policy)) {
                flat.add(policy);
            }
        }
        for (int i = 0; i < flat.size(); i++) {
            for (int j = 0; j < i; j++) {
                if (flat.get(i).name().equals(flat.get(j).name()) && flat.get(i).kind().equals(flat.get(j).kind())) {
                    throw new IllegalArgumentException("policies[" + i + "] and policies[" + j + "] are both " + flat.get(i).kind()
                            + " '" + flat.get(i).name() + "': their meters would collide; give each policy a distinct name");
                }
            }
        }
        return new VigilMetrics(Collections.unmodifiableList(flat));
    }

    private static boolean describesMeters(Policy policy) {
        boolean[] any = {false};
        policy.describeMetrics(new MetricsSink() {
            @Override
            public void counter(String name, String description, String tagKey, String tagValue, LongSupplier count) {
                any[0] = true;
            }

            @Override
            public void gauge(String name, String description, String baseUnit, DoubleSupplier value) {
                any[0] = true;
            }
        });
        return any[0];
    }

    /**
     * Registers the meters of the given policies in {@code registry}.
     *
     * @param registry the registry, not null
     * @param policies the policies (pipelines are flattened)
     * @return the meters registered, e.g. to remove them later
     * @throws IllegalArgumentException if an argument is null, no policy is given, two policies of the
     *     same kind share a name, or a policy's meters are already in {@code registry}
     */
    public static List<Meter> bind(MeterRegistry registry, Policy... policies) {
        return of(policies).register(Checks.notNull(registry, "registry"));
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException if {@code registry} is null or already holds one of these
     *     policies' meters (bound twice, or another policy with the same kind and name)
     */
    @Override
    public void bindTo(MeterRegistry registry) {
        register(Checks.notNull(registry, "registry"));
    }

    private List<Meter> register(MeterRegistry registry) {
        List<Meter> meters = new ArrayList<>();
        for (Policy policy : policies) {
            Tags tags = Tags.of("name", policy.name(), "kind", policy.kind());
            policy.describeMetrics(new RegistrySink(registry, policy, tags, meters));
        }
        return Collections.unmodifiableList(meters);
    }

    /**
     * A meter that already exists would be returned by Micrometer instead of ours, reading another
     * policy's counters: refuse rather than silently report the wrong numbers.
     */
    private static void requireAbsent(Meter existing, String name) {
        if (existing != null) {
            throw new IllegalArgumentException("meter " + existing.getId() + " is already registered: each policy is bound"
                    + " once per registry, and policies of the same kind need distinct names (" + name + ")");
        }
    }

    /** Turns descriptions into Micrometer meters; used at bind time only, from one thread. */
    private static final class RegistrySink implements MetricsSink {
        private final MeterRegistry registry;
        private final Policy policy;
        private final Tags tags;
        private final List<Meter> meters;

        RegistrySink(MeterRegistry registry, Policy policy, Tags tags, List<Meter> meters) {
            this.registry = registry;
            this.policy = policy;
            this.tags = tags;
            this.meters = meters;
        }

        @Override
        public void counter(String name, String description, String tagKey, String tagValue, LongSupplier count) {
            Checks.notNull(count, "count");
            Checks.notBlank(tagKey, "tagKey");
            requireAbsent(registry.find(Checks.notBlank(name, "name")).tags(tags).tag(tagKey, tagValue).meter(), name);
            // The policy is the meter's state object; the function (held strongly by the meter)
            // captures the supplier, so the meter reads the policy's live counter on every scrape.
            meters.add(FunctionCounter.builder(Checks.notBlank(name, "name"), policy, p -> count.getAsLong())
                    .description(description)
                    .tags(tags)
                    .tag(tagKey, Checks.notBlank(tagValue, "tagValue"))
                    .baseUnit("calls")
                    .register(registry));
        }

        @Override
        public void gauge(String name, String description, String baseUnit, DoubleSupplier value) {
            Checks.notNull(value, "value");
            requireAbsent(registry.find(Checks.notBlank(name, "name")).tags(tags).meter(), name);
            meters.add(Gauge.builder(Checks.notBlank(name, "name"), policy, p -> value.getAsDouble())
                    .description(description)
                    .tags(tags)
                    .baseUnit(baseUnit)
                    .strongReference(true)
                    .register(registry));
        }
    }
}
