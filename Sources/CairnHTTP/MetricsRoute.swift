public import Hummingbird
public import Logging
import NIOCore
public import Prometheus

extension Router {
    /// Serves the registry's metrics at `/metrics` in the Prometheus text format.
    public func addMetricsRoute(_ registry: PrometheusCollectorRegistry) {
        get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }
}

/// A listener with only `/healthz` and `/metrics`, for roles that serve no HTTP of their own (`CAIRN_METRICS_PORT`).
/// - Parameter isReady: whether the role can do its work (broker connected, database reachable); `/readyz`
///   answers 503 while it is not.
public func buildMetricsApplication(
    registry: PrometheusCollectorRegistry, host: String, port: Int, logger: Logger,
    isReady: @escaping @Sendable () async -> Bool = { true }
) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: JSONErrorMiddleware())
    router.get("/healthz") { _, _ in try jsonResponse(["status": "ok"]) }
    router.get("/readyz") { _, _ in
        guard await isReady() else { throw HTTPErrorResponse.unavailable("broker or database not reachable") }
        return try jsonResponse(["status": "ready"])
    }
    router.addMetricsRoute(registry)
    return Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: logger)
}
