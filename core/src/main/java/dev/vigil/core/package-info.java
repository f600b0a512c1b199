/**
 * The decorator API: {@link dev.vigil.core.Policy} and its composition {@link dev.vigil.core.Pipeline};
 * the allocation-free admission protocol ({@link dev.vigil.core.AdmissionPolicy},
 * {@link dev.vigil.core.Permits}); outcome classification ({@link dev.vigil.core.Classifier}); the
 * control-flow policies {@link dev.vigil.core.Timeout}, {@link dev.vigil.core.Fallback},
 * {@link dev.vigil.core.Retry} (with {@link dev.vigil.core.Backoff}, {@link dev.vigil.core.Jitter},
 * {@link dev.vigil.core.RetryAfterHint} and a shared {@link dev.vigil.core.RetryBudget}) and
 * {@link dev.vigil.core.Hedge}; the per-attempt context {@link dev.vigil.core.Attempt};
 * {@link dev.vigil.core.Deadline} propagation; and the exceptions policies raise
 * ({@link dev.vigil.core.VigilException}, {@link dev.vigil.core.RejectedException} and its family).
 */
package dev.vigil.core;
