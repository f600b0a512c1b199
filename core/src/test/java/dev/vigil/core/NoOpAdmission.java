package dev.vigil.core;

/** Test fixture: an admission policy that admits every call and records nothing. Thread-safe. */
class NoOpAdmission implements AdmissionPolicy {
    private final String name;

    NoOpAdmission(String name) {
        this.name = name;
    }

    @Override
    public long tryAcquirePermit() {
        return 0L;
    }

    @Override
    public RejectedException rejection() {
        return new RejectedException(name, "rejected", -1);
    }

    @Override
    public void complete(long permit, Outcome outcome, long elapsedNanos) {}

    @Override
    public void release(long permit) {}

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "noop";
    }
}
