/**
 * Rate limits and governors: {@link dev.vigil.governor.RateLimiter} (GCRA, one CAS per limit, several
 * limits at once, waiting without locks, optional warm-up; core's admission protocol),
 * {@link dev.vigil.governor.KeyedRateLimiter} (one limit per key with bounded memory) and
 * {@link dev.vigil.governor.Governor}, which budgets, slows, floors and escalates dangerous automated
 * actions and trips when automation itself looks broken.
 */
package dev.vigil.governor;
