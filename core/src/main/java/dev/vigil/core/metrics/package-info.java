/**
 * Metrics. Policies describe their own counters and gauges through the Micrometer-free
 * {@link dev.vigil.core.metrics.MetricsSink}; {@link dev.vigil.core.metrics.VigilMetrics} binds them to
 * a Micrometer {@code MeterRegistry} as {@code FunctionCounter}s and {@code Gauge}s that read those
 * counters when scraped. Nothing is pushed per call. Micrometer is an optional dependency: only
 * {@code VigilMetrics} needs it on the class path.
 */
package dev.vigil.core.metrics;
