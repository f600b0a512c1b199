package dev.vigil.demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A deliberately unreliable HTTP service on 127.0.0.1 (an ephemeral port), for the demo:
 * {@code /fast} answers at once, {@code /slow} holds the request (until the service stops, or at most
 * {@code maxHold}), {@code /broken} answers 503, {@code /flaky} answers 503 to every other request
 * (the first, the third, ...) and 200 to the others. Thread-safe; {@link #stop()} releases held requests.
 */
public final class FlakyService implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService executor;
    private final CountDownLatch stopping = new CountDownLatch(1);
    private final long maxHoldMillis;
    private final java.util.concurrent.atomic.AtomicInteger flakyRequests = new java.util.concurrent.atomic.AtomicInteger();

    private FlakyService(long maxHoldMillis) throws IOException {
        this.maxHoldMillis = maxHoldMillis;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        this.executor = Executors.newCachedThreadPool(task -> {
            Thread thread = new Thread(task, "flaky-service");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        server.createContext("/fast", exchange -> respond(exchange, 200, "hello from /fast"));
        server.createContext("/slow", exchange -> {
            try {
                stopping.await(maxHoldMillis, TimeUnit.MILLISECONDS);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
            respond(exchange, 200, "hello from /slow, eventually");
        });
        server.createContext("/broken", exchange -> respond(exchange, 503, "overloaded"));
        server.createContext("/flaky", exchange -> {
            boolean fails = flakyRequests.incrementAndGet() % 2 == 1; // the 1st, 3rd, ... request fails
            respond(exchange, fails ? 503 : 200, fails ? "try again" : "hello from /flaky");
        });
        server.start();
    }

    /**
     * Starts the service.
     *
     * @param maxHoldMillis how long {@code /slow} holds a request at most
     * @return the running service
     * @throws IOException if the port cannot be bound
     */
    public static FlakyService start(long maxHoldMillis) throws IOException {
        return new FlakyService(maxHoldMillis);
    }

    /** @return the base URI, e.g. {@code http://127.0.0.1:41234/} */
    public URI uri() {
        return URI.create("http://" + server.getAddress().getAddress().getHostAddress() + ":" + server.getAddress().getPort() + "/");
    }

    /** Stops the service, releasing held requests. */
    public void stop() {
        stopping.countDown();
        server.stop(0);
        executor.shutdownNow();
    }

    @Override
    public void close() {
        stop();
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        try (exchange; OutputStream out = exchange.getResponseBody()) {
            exchange.sendResponseHeaders(status, bytes.length);
            out.write(bytes);
        } catch (IOException clientGone) {
            // The client timed out and closed the connection: expected for /slow.
        }
    }
}
