/**
 * Health: every policy reports a {@link dev.vigil.core.health.Health}, and a
 * {@link dev.vigil.core.health.HealthReport} aggregates any set of policies into the answer a load
 * balancer's health check or a supervisor needs.
 */
package dev.vigil.core.health;
