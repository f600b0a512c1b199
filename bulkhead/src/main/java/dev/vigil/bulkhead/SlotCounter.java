package dev.vigil.bulkhead;

import dev.vigil.core.time.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The limit and the slots in use of an {@link AdaptiveLimiter}: one shared word that is exact, and
 * per-stripe <em>credit</em> that lets a thread take and give back slots on its own cache line while
 * the limiter is far from every cap. Thread-safe and lock-free; it never blocks and allocates nothing.
 *
 * <p><b>The shared word</b> holds the limit, a mode, an epoch and {@code committed}: the slots held by
 * calls in flight <em>plus</em> the credit parked on stripes. A stripe's credit is a slot already counted
 * in {@code committed} that no call holds: a completing call may park its slot on its home stripe
 * ({@link #put}) instead of giving it back to the shared word, and the next call on that stripe takes it
 * ({@link #take}) without touching the shared word. So in-flight = committed - parked credit, and a
 * thread that acquires and releases on its own stripe touches one cache line of its own (the single
 * shared word made every call of every thread move one cache line between cores).
 *
 * <p><b>Modes.</b>
 * <ul>
 *   <li>{@link #FAST}: stripes may hold credit. Invariant: {@code committed <= fastZone(limit)}, the
 *       slots the least critical call may fill. {@code committed} only grows by a CAS that checks
 *       {@code committed + 1 <= fastZone} (a call admitted through the shared word), and the limit only
 *       changes by a CAS that keeps the invariant; parking and taking credit leave {@code committed}
 *       alone. So a call that takes a credit is admitted correctly for any criticality: the other calls
 *       in flight are at most {@code committed - 1 < fastZone <= cap}. No decision refuses a call here.</li>
 *   <li>{@link #SWITCHING}: on the way to EXACT, because a call would take {@code committed} past the
 *       fast zone, the limit must move below it, or someone asked the exact count. Every stripe is
 *       <em>closed</em> by a CAS that freezes its credit (a closed stripe gives and takes nothing), then
 *       one CAS on the shared word subtracts the frozen credit and sets EXACT. Nothing raises
 *       {@code committed} meanwhile (admissions and limit changes help the switch first), so the FAST
 *       invariant still covers credit taken from a stripe not yet closed. Any thread may do or finish the
 *       switch: the closed stripes are frozen until the next FAST epoch, so every helper sums the same
 *       credit and the one CAS that leaves SWITCHING subtracts it once; no one waits for anyone.</li>
 *   <li>{@link #EXACT}: no credit anywhere, {@code committed} is the calls in flight, and admission is
 *       one CAS on the shared word with the exact cap check, as a single counter does. Every refusal is
 *       made here, so a refusal is linearizable: it happens at a read that saw the exact count. When a
 *       release brings {@code committed} down to half the fast zone, one CAS starts the next FAST epoch;
 *       its stripes are still closed (with the last epoch's stale credit, which no longer counts) and
 *       reopen one by one, empty, when a completing call first parks a slot there. At most one FAST
 *       epoch starts per {@code minFastGapNanos} of the ticker (see <b>Epochs</b>).</li>
 * </ul>
 *
<p><b>Layouts.</b> Shared word: committed (bits 0-20), epoch (21-41), mode (42-43), limit (44-63,
 * limits up to {@link LimitBounds#MAX_LIMIT}). Stripe word: credit (bits 0-15), closed (16), the epoch it
 * was opened or closed in (17-37). Every CAS compares the whole word, so a CAS prepared against a stripe
 * that has since been closed, or closed and reopened in a later epoch, fails. Every switch rewrites every
 * stripe, so a stripe's epoch is always the current one or the one before, and epochs are compared for
 * equality only.
 *
 * <p><b>Epochs</b> are 21 bits and wrap after 2^21 FAST epochs. A thread descheduled inside a switch (between
 * reading a word and its CAS) for a whole wrap could find the same word again and apply a stale CAS: reopen
 * a stripe in the wrong epoch or subtract an old switch's credit. Unthrottled, a counter at a small limit
 * can switch about a million times a second (measured at limit 2 on two threads: 489,822 switches in
 * 300 ms), which makes a wrap a matter of seconds. So a new FAST epoch starts at most once per
 * {@code minFastGapNanos} of the ticker (the first after construction at any time) (the counter stays EXACT meanwhile, which is always correct, only
 * slower): with the limiter's gap of 10 ms ({@code AdaptiveLimiter.FAST_EPOCH_GAP_NANOS}), a wrap takes
 * at least 2^21 x 10 ms, about 5.8 hours, far beyond any scheduling delay a thread survives.
 *
 * <p><b>Memory ordering.</b> Every access to the shared word and the stripe words is volatile (a volatile
 * read, a CAS or a {@code getAndAdd}). The counter publishes no data, only counts; what needs the total
 * order of these accesses is the switch (a helper that sees every stripe closed knows no take or park can
 * follow in this epoch) and the wait queue's Dekker pairing (a slot freed by a volatile write, then the
 * waiters read; see {@link WaitQueue}). Stripe words are padded apart ({@link Stripes}).
 */
final class SlotCounter {
    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);

    static final int FAST = 0;
    static final int SWITCHING = 1;
    static final int EXACT = 2;

    private static final long COMMITTED = (1L << 21) - 1;
    private static final int EPOCH_SHIFT = 21;
    private static final long EPOCH = (1L << 21) - 1;
    private static final int MODE_SHIFT = 42;
    private static final int LIMIT_SHIFT = 44;

    private static final long CREDIT = 0xFFFFL;
    private static final long CLOSED = 1L << 16;
    private static final int STRIPE_EPOCH_SHIFT = 17;

    /**
     * The most slots one stripe parks: one is what a thread that acquires and releases in turn needs, and
     * it bounds what parked slots add to a sample's in-flight figure ({@link #inFlightBound}) by the
     * stripe count.
     */
    private static final long MAX_CREDIT = 1;

    /** Index of the shared word in {@link #shared}, padded on both sides. */
    private static final int SHARED = Stripes.PAD;
    /**
     * Index in {@link #shared} of the ticker time from which the next FAST epoch may start, on its own cache
     * line: read and written only on the way back to FAST, never by an admission.
     */
    private static final int NEXT_FAST = 2 * Stripes.PAD;
    /** {@link #NEXT_FAST} before the first FAST start after construction: no gap to wait for. */
    private static final long ANY_TIME = Long.MIN_VALUE;

    private final long[] shared = new long[3 * Stripes.PAD];
    private final long[] stripes;
    private final int mask;
    private final double leastShare;
    private final boolean fastEnabled;
    private final Ticker ticker;
    private final long minFastGapNanos;

    /**
     * @param initialLimit the limit, in [1, {@link LimitBounds#MAX_LIMIT}]
     * @param leastShare   the share of the limit the least critical call may fill, in (0, 1]: the fast zone
     * @param fastEnabled  false to stay EXACT (no credit), as partitions need (their rule reads the exact count)
     * @param stripeCount  a power of two
     * @param ticker       the clock of {@code minFastGapNanos}
     * @param minFastGapNanos the least ticker time between the starts of two FAST epochs, at least 0 (0 for
     *                     tests that need every path often; see <b>Epochs</b>)
     */
    SlotCounter(int initialLimit, double leastShare, boolean fastEnabled, int stripeCount, Ticker ticker, long minFastGapNanos) {
        this.leastShare = leastShare;
        this.fastEnabled = fastEnabled;
        this.mask = stripeCount - 1;
        this.stripes = new long[Stripes.length(stripeCount)];
        this.ticker = ticker;
        this.minFastGapNanos = minFastGapNanos;
        // Published with the limiter (final fields). Stripes start open in epoch 0, empty; a counter
        // without a fast mode starts EXACT and its stripes are never used. The first FAST start after a
        // switch is free (no clock read at construction).
        shared[SHARED] = (long) initialLimit << LIMIT_SHIFT | (long) (fastEnabled ? FAST : EXACT) << MODE_SHIFT;
        shared[NEXT_FAST] = ANY_TIME;
    }

    /** @return {@code ceil(limit x share)}, at most {@code limit}: the slots a call with that share may fill */
    static int share(int limit, double share) {
        return share >= 1.0 ? limit : Math.min(limit, (int) Math.ceil(limit * share));
    }

    /** @return the fast zone of {@code limit}: what the least critical call may fill */
    private int fastZone(int limit) {
        return share(limit, leastShare);
    }

    /** @return the calling thread's home stripe */
    int home() {
        return Stripes.home(mask);
    }

    // ---- the stripes: a thread's own cache line ----

    /**
     * Takes one parked slot from {@code stripe}: one volatile read and one CAS. Fails (the caller goes to
     * the shared word) if the stripe is closed, empty or changed under us; it never retries.
     *
     * @return true if the caller now holds a slot, admitted whatever its criticality (see FAST)
     */
    private boolean take(int stripe) {
        int at = Stripes.slot(stripe);
        long word = (long) WORD.getVolatile(stripes, at);
        // Open and not empty: the slot was counted in committed when it was parked, under FAST's invariant.
        return (word & CLOSED) == 0 && (word & CREDIT) != 0 && WORD.compareAndSet(stripes, at, word, word - 1);
    }

    /**
     * Parks a freed slot on {@code stripe} if it is open with room, or reopens it (empty, plus this slot)
     * if it was closed in an earlier epoch and the counter is FAST again.
     *
     * @return true if parked; false if the caller must {@link #release} it to the shared word
     */
    boolean put(int stripe) {
        if (!fastEnabled) {
            return false;
        }
        int at = Stripes.slot(stripe);
        long word = (long) WORD.getVolatile(stripes, at);
        if ((word & CLOSED) == 0) {
            // Open: its epoch is the shared word's (FAST or SWITCHING); if a switch is closing stripes, the
            // slot is swept with the others. The CAS fails if the stripe was closed since the read.
            return (word & CREDIT) < MAX_CREDIT && WORD.compareAndSet(stripes, at, word, word + 1);
        }
        long global = word();
        long epoch = epoch(global);
        if (mode(global) != FAST || epoch == stripeEpoch(word)) {
            return false; // closed in this epoch (switching or exact): the slot goes to the shared word
        }
        // Closed in the previous epoch: its credit was subtracted then and is stale. Reopen it in this FAST
        // epoch with this one slot; the CAS fails if a switch closed it for this epoch since the read.
        return WORD.compareAndSet(stripes, at, word, epoch << STRIPE_EPOCH_SHIFT | 1L);
    }

    // ---- admission ----

    /** An extra admission rule (a partition's guarantee), checked against the exact count. */
    @FunctionalInterface
    interface Gate {
        /**
         * @param inFlight the calls in flight, exactly, not counting the one asking
         * @param limit    the limit in force
         * @return true if the call may take a slot
         */
        boolean mayTake(int inFlight, int limit);
    }

    /**
     * Takes a slot for a call that may fill {@code share} of the limit: a slot parked on {@code stripe}
     * (FAST, no shared write), else one CAS on the shared word, which in FAST checks only the fast zone
     * and, near it, first switches to EXACT, where the cap {@code ceil(limit x share)} and the gate are
     * checked against the exact count. Lock-free: a lost CAS means another call moved the word.
     *
     * @param stripe the caller's home stripe
     * @param share  the share of the limit the call may fill, in (0, 1]
     * @param gate   an extra rule on the exact count, or null
     * @return -1 if refused (only ever on the exact count: linearizable); else the calls in flight counting
     *         this one if the decision saw the exact count, or 0 if it did not need to
     */
    int tryAcquire(int stripe, double share, Gate gate) {
        if (take(stripe)) {
            return 0;
        }
        for (;;) {
            long word = word();
            int mode = mode(word);
            int limit = limit(word);
            int committed = committed(word);
            if (mode == EXACT) {
                if (committed >= share(limit, share) || (gate != null && !gate.mayTake(committed, limit))) {
                    return -1;
                }
                // The CAS publishes nothing but the count; it fails if the count, the limit or the mode moved.
                if (tryAdd(word)) {
                    return committed + 1;
                }
            } else if (mode == FAST && committed < fastZone(limit)) {
                if (tryAdd(word)) {
                    return 0;
                }
            } else {
                toExact(word); // near the fast zone's edge, or a switch under way: decide on the exact count
            }
        }
    }

    /**
     * @return the calls in flight as far as the shared word and {@code stripe} tell (no other thread's cache
     *         line), for a sample's in-flight figure: exact in EXACT mode; in FAST, committed minus this
     *         stripe's credit, which counts the slots parked on other stripes (at most one each) as in flight.
     *         With nothing racing it is an upper bound; a concurrent release or take between the two reads can
     *         put it one below the count.
     */
    int inFlightBound(int stripe) {
        long word = word();
        int committed = committed(word);
        if (mode(word) == EXACT) {
            return committed;
        }
        long own = (long) WORD.getVolatile(stripes, Stripes.slot(stripe));
        boolean counts = stripeEpoch(own) == epoch(word);
        return (int) Math.max(1, committed - (counts ? own & CREDIT : 0));
    }

    // ---- the shared word ----

    /** @return the shared word (a volatile read) */
    long word() {
        return (long) WORD.getVolatile(shared, SHARED);
    }

    static int limit(long word) {
        return (int) (word >>> LIMIT_SHIFT);
    }

    private static int mode(long word) {
        return (int) (word >>> MODE_SHIFT & 3);
    }

    /** @return the epoch: advanced by one at each FAST start, wrapping after 2^21 */
    static long epoch(long word) {
        return word >>> EPOCH_SHIFT & EPOCH;
    }

    /** @return the epoch a stripe word was opened or closed in */
    private static long stripeEpoch(long stripeWord) {
        return stripeWord >>> STRIPE_EPOCH_SHIFT & EPOCH;
    }

    /** @return calls in flight plus parked credit (exact in EXACT mode) */
    private static int committed(long word) {
        return (int) (word & COMMITTED);
    }

    /**
     * Takes one slot through the shared word: the caller checked the cap (EXACT) or the fast zone (FAST)
     * against {@code word}; the CAS fails if anything in the word moved since.
     */
    private boolean tryAdd(long word) {
        return WORD.compareAndSet(shared, SHARED, word, word + 1);
    }

    /** Gives one slot back to the shared word; in EXACT, if that empties it to half the fast zone, goes FAST. */
    void release() {
        long before = (long) WORD.getAndAdd(shared, SHARED, -1L);
        if (fastEnabled && fastMayStart(before - 1)) { // the word this add left (mode and limit as they were)
            tryFast();
        }
    }

    /**
     * Moves towards EXACT from what {@code word} shows: FAST is switched (one CAS, which may lose: the
     * caller reads the word again), a switch in progress is finished, EXACT is left alone.
     */
    private void toExact(long word) {
        long current = word;
        if (mode(current) == FAST) {
            long switching = current & ~(3L << MODE_SHIFT) | (long) SWITCHING << MODE_SHIFT;
            if (!WORD.compareAndSet(shared, SHARED, current, switching)) {
                return;
            }
            current = switching;
        }
        if (mode(current) == SWITCHING) {
            finishSwitch(epoch(current));
        }
    }

    /** Closes every stripe for {@code epoch} (freezing its credit), then subtracts the credit and sets EXACT. */
    private void finishSwitch(long epoch) {
        long credit = 0;
        long closedNow = CLOSED | epoch << STRIPE_EPOCH_SHIFT;
        for (int stripe = 0; stripe <= mask; stripe++) {
            int at = Stripes.slot(stripe);
            for (;;) {
                long word = (long) WORD.getVolatile(stripes, at);
                if ((word & ~CREDIT) == closedNow) {
                    credit += word & CREDIT; // closed for this switch (by us or a helper): frozen
                    break;
                }
                if (!switching(epoch)) {
                    // Another helper finished this switch, and a later epoch may have reopened or closed this
                    // stripe: touch nothing. (The stripe was read before this check, while this switch was
                    // under way or earlier; every later switch rewrites the stripe, so the CAS below succeeds
                    // only while this switch is still closing stripes, short of an epoch wrap: see Epochs.)
                    return;
                }
                // Open in this epoch: freeze its credit. Closed in the previous epoch: its credit is stale
                // (subtracted by that switch), so close it for this one with none.
                long closed = (word & CLOSED) == 0 ? word | CLOSED : closedNow;
                if (WORD.compareAndSet(stripes, at, word, closed)) {
                    credit += closed & CREDIT;
                    break;
                }
            }
        }
        // Every stripe is closed for this epoch: no take or park can change them until the next FAST epoch,
        // so every helper has the same sum; the CAS out of SWITCHING applies it once.
        for (;;) {
            long word = word();
            if (mode(word) != SWITCHING || epoch(word) != epoch) {
                return; // another helper finished this switch
            }
            // Committed may have dropped meanwhile (releases add -1 in any mode): re-read, subtract the credit.
            long exact = (word & ~(3L << MODE_SHIFT) | (long) EXACT << MODE_SHIFT) - credit;
            if (WORD.compareAndSet(shared, SHARED, word, exact)) {
                return;
            }
        }
    }

    private boolean switching(long epoch) {
        long word = word();
        return mode(word) == SWITCHING && epoch(word) == epoch;
    }

    /**
     * In EXACT with at most half the fast zone in use, and {@code minFastGapNanos} after the last FAST start:
     * starts the next FAST epoch. Reads the clock only when the count allows it, which an admission never
     * needs; lock-free (a lost CAS means another thread moved the word).
     */
    private void tryFast() {
        if (!fastMayStart(word())) {
            return;
        }
        if (minFastGapNanos > 0) {
            long now = ticker.read();
            long allowedAt = (long) WORD.getVolatile(shared, NEXT_FAST);
            // Claim the gap first, by CAS: one thread per gap goes on, so FAST epochs start at most once per
            // gap whatever the races (see Epochs). A claim whose switch then finds the count too high is spent:
            // the counter stays EXACT for another gap, which is correct, only slower.
            if ((allowedAt != ANY_TIME && now - allowedAt < 0) || !WORD.compareAndSet(shared, NEXT_FAST, allowedAt, now + minFastGapNanos)) {
                return;
            }
        }
        for (;;) {
            long word = word();
            if (!fastMayStart(word)) {
                return;
            }
            long nextEpoch = ((word >>> EPOCH_SHIFT) + 1) & EPOCH;
            long fast = word & ~(3L << MODE_SHIFT | EPOCH << EPOCH_SHIFT) | nextEpoch << EPOCH_SHIFT | (long) FAST << MODE_SHIFT;
            // Fails only if a release, an admission or a limit change moved the word: look again.
            if (WORD.compareAndSet(shared, SHARED, word, fast)) {
                return;
            }
        }
    }

    private boolean fastMayStart(long word) {
        return mode(word) == EXACT && committed(word) <= fastZone(limit(word)) / 2;
    }

    /**
     * Sets the limit: in FAST only if the fast zone of the new limit still covers {@code committed} (else
     * it switches to EXACT first), so the FAST invariant holds across the change.
     */
    void setLimit(int limit) {
        for (;;) {
            long word = word();
            int mode = mode(word);
            if (mode == SWITCHING || (mode == FAST && committed(word) > fastZone(limit))) {
                toExact(word);
                continue;
            }
            long next = word & ~(-1L << LIMIT_SHIFT) | (long) limit << LIMIT_SHIFT;
            if (WORD.compareAndSet(shared, SHARED, word, next)) {
                if (fastEnabled && mode == EXACT) {
                    tryFast();
                }
                return;
            }
        }
    }

    /**
     * @return the calls in flight, exactly (linearizable): switches to EXACT first, so the next calls take
     *         the shared word until a release brings the count down to half the fast zone
     */
    int exactInFlight() {
        for (;;) {
            long word = word();
            if (mode(word) == EXACT) {
                return committed(word);
            }
            toExact(word);
        }
    }

    /**
     * @return the calls in flight from one pass over the stripes: exact in EXACT mode and whenever nothing
     *         changes during the pass; under concurrent calls, off by the credit that moved meanwhile
     */
    int inFlightEstimate() {
        long word = word();
        int committed = committed(word);
        if (mode(word) == EXACT) {
            return committed;
        }
        long epoch = epoch(word);
        long credit = 0;
        for (int stripe = 0; stripe <= mask; stripe++) {
            long stripeWord = (long) WORD.getVolatile(stripes, Stripes.slot(stripe));
            if (stripeEpoch(stripeWord) == epoch) {
                credit += stripeWord & CREDIT; // this epoch's credit (open, or frozen by a switch under way)
            }
        }
        return (int) Math.max(0, committed - credit);
    }

    /** @return the shared word's fields and each stripe's credit, for diagnostics (not a snapshot) */
    @Override
    public String toString() {
        long word = word();
        StringBuilder text = new StringBuilder(new String[] {"FAST", "SWITCHING", "EXACT", "?"}[mode(word)])
                .append(" epoch ").append(epoch(word)).append(", limit ").append(limit(word))
                .append(", committed ").append(committed(word)).append(", stripes [");
        for (int stripe = 0; stripe <= mask; stripe++) {
            long stripeWord = (long) WORD.getVolatile(stripes, Stripes.slot(stripe));
            text.append(stripe == 0 ? "" : ", ").append((stripeWord & CLOSED) != 0 ? "closed " : "open ")
                    .append(stripeEpoch(stripeWord)).append(':').append(stripeWord & CREDIT);
        }
        return text.append(']').toString();
    }
}
