/**
 * The decorator API: {@link dev.vigil.core.Policy} and its composition {@link dev.vigil.core.Pipeline};
 * the allocation-free admission protocol ({@link dev.vigil.core.AdmissionPolicy},
 * {@link dev.vigil.core.Permits}); outcome classification ({@link dev.vigil.core.Classifier}); the
 * control-flow policies {@link dev.vigil.core.Timeout} and {@link dev.vigil.core.Fallback};
 * {@link dev.vigil.core.Deadline} propagation; and the exceptions policies raise
 * ({@link dev.vigil.core.VigilException}, {@link dev.vigil.core.RejectedException} and its family).
 */
package dev.vigil.core;
