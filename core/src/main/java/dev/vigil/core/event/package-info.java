/**
 * Events that policies publish: one sealed family of records ({@link dev.vigil.core.event.PolicyEvent})
 * and opt-in listeners registered on each policy's builder. With no listener registered nothing is
 * allocated and nothing is called.
 */
package dev.vigil.core.event;
