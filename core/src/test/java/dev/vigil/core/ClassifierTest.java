package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class ClassifierTest {

    @Test
    void defaultsFailEveryExceptionAndAcceptEveryResult() {
        Classifier defaults = Classifier.defaults();
        assertEquals(Outcome.FAILURE, defaults.classify(null, new IOException()));
        assertEquals(Outcome.FAILURE, defaults.classify(null, new OutOfMemoryError()));
        assertEquals(Outcome.SUCCESS, defaults.classify(null, null));
        assertEquals(Outcome.SUCCESS, defaults.classify("anything", null));
    }

    @Test
    void listedFailuresMatchTheirSubtypesAndCausesAndOnlyTheyFail() {
        Classifier classifier = Classifier.builder().failOn(IOException.class).build();
        assertEquals(Outcome.FAILURE, classifier.classify(null, new SocketTimeoutException("slow")));
        assertEquals(Outcome.FAILURE, classifier.classify(null, new CompletionException(new UncheckedIOException(new IOException()))));
        assertEquals(Outcome.SUCCESS, classifier.classify(null, new IllegalArgumentException()), "unlisted exceptions are not failures");
    }

    @Test
    void ignoreRulesWinOverFailureRules() {
        Classifier classifier = Classifier.builder()
                .failOn(IOException.class)
                .ignore(SocketTimeoutException.class)
                .build();
        assertEquals(Outcome.IGNORED, classifier.classify(null, new SocketTimeoutException("slow")));
        assertEquals(Outcome.FAILURE, classifier.classify(null, new IOException()));
    }

    @Test
    void predicatesOnExceptions() {
        Classifier classifier = Classifier.builder()
                .failOnException(e -> e.getMessage() != null && e.getMessage().contains("503"))
                .ignoreException(e -> e instanceof IllegalStateException)
                .build();
        assertEquals(Outcome.FAILURE, classifier.classify(null, new RuntimeException("status 503")));
        assertEquals(Outcome.SUCCESS, classifier.classify(null, new RuntimeException("status 400")));
        assertEquals(Outcome.IGNORED, classifier.classify(null, new IllegalStateException("503")));
    }

    @Test
    void typedResultPredicatesOnlyMatchTheirType() {
        Classifier classifier = Classifier.builder()
                .failOnResult(Integer.class, status -> status >= 500)
                .ignoreResult(Integer.class, status -> status == 404)
                .build();
        assertEquals(Outcome.FAILURE, classifier.classify(503, null));
        assertEquals(Outcome.IGNORED, classifier.classify(404, null));
        assertEquals(Outcome.SUCCESS, classifier.classify(200, null));
        assertEquals(Outcome.SUCCESS, classifier.classify("503", null));
        assertEquals(Outcome.SUCCESS, classifier.classify(null, null));
    }

    @Test
    void aCyclicCauseChainTerminates() {
        Exception a = new Exception("a");
        Exception b = new Exception("b", a);
        a.initCause(b);
        assertEquals(Outcome.SUCCESS, Classifier.builder().failOn(IOException.class).build().classify(null, a));
    }

    @Test
    void badInputIsRejectedWithTheParameterNamed() {
        TimeoutTest.assertMessage("types[1] must not be null", () -> Classifier.builder().failOn(IOException.class, null));
        TimeoutTest.assertMessage("types must not be null", () -> Classifier.builder().ignore((Class<? extends Throwable>[]) null));
        TimeoutTest.assertMessage("types must not be empty", () -> Classifier.builder().failOn());
        TimeoutTest.assertMessage("predicate must not be null", () -> Classifier.builder().failOnException(null));
        TimeoutTest.assertMessage("type must not be null", () -> Classifier.builder().failOnResult(null, r -> true));
        TimeoutTest.assertMessage("predicate must not be null", () -> Classifier.builder().ignoreResult(String.class, null));
    }
}
