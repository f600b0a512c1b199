package dev.vigil.bulkhead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.time.ManualTicker;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;

/**
 * {@link SlotCounter} against the sequential admission rule, over random histories on four stripes named
 * explicitly (as four threads would use them): acquisitions with a share of the limit (1, 0.7 or 0.5 of
 * it), releases on any stripe (a call may end on another thread than the one that admitted it), limit
 * changes, and the exact and estimated counts.
 *
 * <p><b>Checked after every step:</b> a call is admitted iff the calls in flight are fewer than
 * {@code ceil(limit x share)}; an admission that reports an exact count reports the model's; the exact
 * count ({@link SlotCounter#exactInFlight}, which gathers the parked slots) and the one-pass estimate (exact
 * with nothing racing) equal the model's; the sample bound ({@link SlotCounter#inFlightBound}) is never
 * below the count and at most the other stripes' parked slots (one each) above it; the counter's own
 * limit equals the model's; two FAST starts (epoch changes; the first after construction is free) are at
 * least the gap apart on the ticker,
 * which the histories advance by 0 to 6 ns at a time against a gap of 0 or 4 ns. The histories cross the
 * fast zone's edge often (limits 1 to 12 with a least share of one half), so parking, taking, switching to
 * EXACT, going FAST again (or being held EXACT by the gap) and reopening a stripe closed in an earlier epoch
 * all happen; the statistics show how often each path decided.
 */
class SlotCounterProperties {
    private static final double[] SHARES = {1.0, 0.7, 0.5};
    private static final int STRIPES = 4;

    /** An operation: kind (0 acquire, 1 release, 2 limit, 3 exact count, 4 clock), stripe, and an argument. */
    record Step(int kind, int stripe, int argument) {}

    @Provide
    Arbitrary<List<Step>> histories() {
        Arbitrary<Step> step = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, Arbitraries.integers().between(0, STRIPES - 1)
                        .flatMap(stripe -> Arbitraries.integers().between(0, SHARES.length - 1).map(share -> new Step(0, stripe, share)))),
                net.jqwik.api.Tuple.of(5, Arbitraries.integers().between(0, STRIPES - 1).map(stripe -> new Step(1, stripe, 0))),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(1, 12).map(limit -> new Step(2, 0, limit))),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(new Step(3, 0, 0))),
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0, 6).map(nanos -> new Step(4, 0, nanos))));
        return step.list().ofMinSize(1).ofMaxSize(120);
    }

    @Property(tries = 500, seed = "20261121")
    void admitsExactlyByTheSequentialRule(@ForAll("histories") List<Step> history, @ForAll @IntRange(min = 1, max = 12) int initialLimit,
            @ForAll boolean fast, @ForAll boolean gapped) {
        ManualTicker ticker = new ManualTicker();
        long gap = gapped ? 4 : 0;
        SlotCounter counter = new SlotCounter(initialLimit, 0.5, fast, STRIPES, ticker, gap);
        int limit = initialLimit;
        int inFlight = 0;
        long lastFastStart = Long.MIN_VALUE; // none yet: the first start after construction is free
        for (Step step : history) {
            long epochBefore = SlotCounter.epoch(counter.word());
            switch (step.kind()) {
                case 0 -> {
                    double share = SHARES[step.argument()];
                    long before = counter.word();
                    int answer = counter.tryAcquire(step.stripe(), share, null);
                    boolean expected = inFlight < (int) Math.ceil(limit * share);
                    assertEquals(expected, answer >= 0, () -> "admission of share " + share + " with " + counter + " at " + step);
                    if (answer > 0) {
                        assertEquals(inFlight + 1, answer, "the exact count an admission reports");
                    }
                    Statistics.label("decided by").collect(answer < 0 ? "refusal (exact)" : answer > 0 ? "shared word, exact"
                            : counter.word() == before ? "parked slot" : "shared word, fast zone");
                    if (expected) {
                        inFlight++;
                        assertTrue(counter.inFlightBound(step.stripe()) >= inFlight, "the sample bound is an upper bound");
                        assertTrue(counter.inFlightBound(step.stripe()) <= inFlight + STRIPES - 1, "the sample bound is close");
                    }
                }
                case 1 -> {
                    if (inFlight > 0) {
                        boolean parked = counter.put(step.stripe());
                        if (!parked) {
                            counter.release();
                        }
                        Statistics.label("released to").collect(parked ? "stripe" : "shared word");
                        inFlight--;
                    }
                }
                case 2 -> {
                    counter.setLimit(step.argument());
                    limit = step.argument();
                }
                case 3 -> assertEquals(inFlight, counter.exactInFlight(), "the exact count");
                default -> ticker.advanceNanos(step.argument());
            }
            if (SlotCounter.epoch(counter.word()) != epochBefore && lastFastStart != Long.MIN_VALUE) {
                long sinceLast = ticker.read() - lastFastStart;
                assertTrue(sinceLast >= gap, () -> "FAST started again " + sinceLast + " ns after the last start, gap " + gap + ": " + counter);
                Statistics.label("FAST start").collect(gap == 0 ? "no gap" : "after the gap");
            }
            if (SlotCounter.epoch(counter.word()) != epochBefore) {
                lastFastStart = ticker.read();
            }
            assertEquals(inFlight, counter.inFlightEstimate(), "the estimate, with nothing racing");
            assertEquals(limit, SlotCounter.limit(counter.word()), "the limit");
        }
        assertEquals(inFlight, counter.exactInFlight(), "the exact count at the end");
    }
}
