/**
 * Vigil core: the decorator API ({@link dev.vigil.core.Policy}, {@link dev.vigil.core.Pipeline},
 * the admission protocol), outcome classification, {@link dev.vigil.core.Timeout},
 * {@link dev.vigil.core.Fallback}, {@link dev.vigil.core.Retry} with back-off and retry budgets,
 * {@link dev.vigil.core.Hedge}, deadlines, time and virtual time, events, health and the
 * optional Micrometer binder.
 *
 * <p>Micrometer is optional ({@code requires static}): only {@link dev.vigil.core.metrics.VigilMetrics}
 * touches it, and nothing else in core loads a Micrometer class.
 */
// requires-automatic: micrometer-core has no module-info, only an Automatic-Module-Name.
// module: the qualified exports name sibling modules that are not on the path when core is compiled.
@SuppressWarnings({"requires-automatic", "module"})
module dev.vigil.core {
    requires org.slf4j;
    requires static micrometer.core;

    exports dev.vigil.core;
    exports dev.vigil.core.time;
    exports dev.vigil.core.event;
    exports dev.vigil.core.health;
    exports dev.vigil.core.metrics;
    // Implementation helpers (argument checks) for Vigil's own feature modules only, by name.
    exports dev.vigil.core.internal to dev.vigil.circuitbreaker, dev.vigil.bulkhead,
            dev.vigil.governor;
}
