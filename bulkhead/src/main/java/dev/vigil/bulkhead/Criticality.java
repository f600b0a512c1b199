package dev.vigil.bulkhead;

/**
 * How much a call matters when an {@link AdaptiveLimiter} nears its limit: the least critical calls
 * are shed first. Each level may fill a share of the limit (see
 * {@link AdaptiveLimiter.Builder#shedAt(Criticality, double)}): by default CRITICAL calls may use all of
 * it, DEFAULT calls 70% and SHEDDABLE calls 50%, so as in-flight calls approach the limit, SHEDDABLE
 * calls are refused first, then DEFAULT, and the last slots stay free for CRITICAL ones. Immutable.
 */
public enum Criticality {
    /** Must be served if at all possible (a user waiting on a checkout). May use the whole limit. */
    CRITICAL,
    /** An ordinary call; what calls without a stated criticality are. */
    DEFAULT,
    /** Can be dropped first under load (prefetching, analytics, retries of background work). */
    SHEDDABLE
}
