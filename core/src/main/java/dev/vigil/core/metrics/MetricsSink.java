package dev.vigil.core.metrics;

import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

/**
 * Where a policy describes its meters (see {@link dev.vigil.core.Policy#describeMetrics}). The sink
 * adds the tags {@code name} (the policy's name) and {@code kind} (its kind) to every meter.
 *
 * <p>Meter names follow Micrometer's conventions: lower case, dot separated, base units. Counters
 * that count calls use the shared name {@link #CALLS} with an {@code outcome} tag, so one query
 * covers every policy. Implementations are called once per policy at bind time, from one thread.
 */
public interface MetricsSink {

    /** The shared name of call counters: {@value}. */
    String CALLS = "vigil.calls";

    /**
     * Describes a monotonically increasing count, read when the registry is scraped.
     *
     * @param name        the meter name, e.g. {@link #CALLS}
     * @param description for people
     * @param outcome     the value of the {@code outcome} tag, e.g. {@code "success"}, {@code "rejected"}
     * @param count       reads the current count; must be thread-safe and cheap
     */
    default void counter(String name, String description, String outcome, LongSupplier count) {
        counter(name, description, "outcome", outcome, count);
    }

    /**
     * Describes a monotonically increasing count with one tag of the policy's choosing (say
     * {@code criticality=sheddable} on a load shedder's counter), read when the registry is scraped.
     *
     * @param name        the meter name
     * @param description for people
     * @param tagKey      the tag's key, e.g. {@code "outcome"}
     * @param tagValue    the tag's value, e.g. {@code "rejected"}
     * @param count       reads the current count; must be thread-safe and cheap
     */
    void counter(String name, String description, String tagKey, String tagValue, LongSupplier count);

    /**
     * Describes a value that goes up and down, read when the registry is scraped.
     *
     * @param name        the meter name, e.g. {@code vigil.bulkhead.concurrent.calls}
     * @param description for people
     * @param baseUnit    the base unit (e.g. {@code "calls"}, {@code "seconds"}), or null
     * @param value       reads the current value; must be thread-safe and cheap
     */
    void gauge(String name, String description, String baseUnit, DoubleSupplier value);
}
