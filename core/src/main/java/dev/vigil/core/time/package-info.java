/**
 * Time for Vigil's policies: {@link dev.vigil.core.time.Ticker} (where "now" comes from) and
 * {@link dev.vigil.core.time.Scheduler} (how work is run later), with the virtual-time pair
 * {@link dev.vigil.core.time.ManualTicker} and {@link dev.vigil.core.time.ManualScheduler} for
 * deterministic tests that never sleep.
 */
package dev.vigil.core.time;
