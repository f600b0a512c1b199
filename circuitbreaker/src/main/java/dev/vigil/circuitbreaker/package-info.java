/**
 * {@link dev.vigil.circuitbreaker.CircuitBreaker} and {@link dev.vigil.circuitbreaker.AdaptiveThrottle}.
 * Public types are the two policies, their builders and their value types; every implementation class
 * is package-private.
 */
package dev.vigil.circuitbreaker;
