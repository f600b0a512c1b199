package dev.vigil.core;

import dev.vigil.core.time.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test-only admission policy that records every permit it hands out and how each one ended, so
 * tests can assert the protocol's contract: every permit ends exactly once, by complete or release,
 * and outcomes from an older epoch are told apart from current ones. Thread-safe.
 */
class RecordingAdmission implements AdmissionPolicy {
    enum End { COMPLETED, RELEASED }

    record Ending(long permit, End end, Outcome outcome, long elapsedNanos, boolean stale) {}

    private final String name;
    private final Ticker ticker;
    private final AtomicInteger epoch = new AtomicInteger();
    private final AtomicInteger sequence = new AtomicInteger();
    private final AtomicLong inFlight = new AtomicLong();
    private final Map<Long, List<Ending>> endings = new ConcurrentHashMap<>();
    private final List<Long> issued = java.util.Collections.synchronizedList(new ArrayList<>());
    private volatile boolean rejecting;
    private volatile Classifier classifier = Classifier.defaults();
    private volatile boolean measuresLatency = true;

    RecordingAdmission(String name) {
        this(name, Ticker.system());
    }

    RecordingAdmission(String name, Ticker ticker) {
        this.name = name;
        this.ticker = ticker;
    }

    RecordingAdmission rejecting(boolean reject) {
        this.rejecting = reject;
        return this;
    }

    RecordingAdmission classifier(Classifier newClassifier) {
        this.classifier = newClassifier;
        return this;
    }

    RecordingAdmission measuresLatency(boolean measures) {
        this.measuresLatency = measures;
        return this;
    }

    /** Simulates a state transition: outcomes of permits issued before it are stale. */
    void transition() {
        epoch.updateAndGet(Permits::nextEpoch);
    }

    @Override
    public long tryAcquirePermit() {
        if (rejecting) {
            return REJECTED;
        }
        long permit = Permits.of(epoch.get(), sequence.incrementAndGet());
        issued.add(permit);
        inFlight.incrementAndGet();
        return permit;
    }

    @Override
    public RejectedException rejection() {
        return new RejectedException(name, "test policy '" + name + "' rejects", 1_000L);
    }

    @Override
    public void complete(long permit, Outcome outcome, long elapsedNanos) {
        end(permit, End.COMPLETED, outcome, elapsedNanos);
    }

    @Override
    public void release(long permit) {
        end(permit, End.RELEASED, null, 0L);
    }

    private void end(long permit, End end, Outcome outcome, long elapsedNanos) {
        if (!issued.contains(permit)) {
            throw new AssertionError(name + ": ended a permit it never issued: " + permit);
        }
        boolean stale = Permits.epoch(permit) != epoch.get();
        endings.computeIfAbsent(permit, p -> java.util.Collections.synchronizedList(new ArrayList<>()))
                .add(new Ending(permit, end, outcome, elapsedNanos, stale));
        inFlight.decrementAndGet();
    }

    @Override
    public Classifier classifier() {
        return classifier;
    }

    @Override
    public Ticker ticker() {
        return ticker;
    }

    @Override
    public boolean measuresLatency() {
        return measuresLatency;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "test-admission";
    }

    long inFlight() {
        return inFlight.get();
    }

    int issuedCount() {
        return issued.size();
    }

    List<Ending> endingsOf(long permit) {
        return endings.getOrDefault(permit, List.of());
    }

    /** The last permit issued. */
    long lastPermit() {
        synchronized (issued) {
            return issued.get(issued.size() - 1);
        }
    }

    Ending lastEnding() {
        List<Ending> list = endingsOf(lastPermit());
        return list.isEmpty() ? null : list.get(list.size() - 1);
    }

    /** Throws unless every issued permit ended exactly once. */
    void assertEveryPermitEndedOnce() {
        synchronized (issued) {
            for (long permit : issued) {
                int count = endingsOf(permit).size();
                if (count != 1) {
                    throw new AssertionError(name + ": permit " + permit + " ended " + count + " times: " + endingsOf(permit));
                }
            }
        }
        if (inFlight.get() != 0) {
            throw new AssertionError(name + ": in flight " + inFlight.get());
        }
    }

    long countEnded(End end, Outcome outcome) {
        synchronized (issued) {
            return issued.stream().flatMap(p -> endingsOf(p).stream())
                    .filter(e -> e.end() == end && (outcome == null || e.outcome() == outcome)).count();
        }
    }
}
