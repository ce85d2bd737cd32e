public import Foundation
public import Hummingbird
import Logging
import NIOCore

/// An HTTP error with Cairn's one JSON shape: `{"error": {"code": "...", "message": "..."}}`.
public struct HTTPErrorResponse: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        let data = try JSONEncoder().encode(ErrorBody(error: .init(code: code, message: message)))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    public static func unauthorized(_ message: String) -> Self { .init(.unauthorized, code: "unauthorized", message) }
    public static func badRequest(_ code: String = "bad_request", _ message: String) -> Self { .init(.badRequest, code: code, message) }
    public static func notFound(_ message: String) -> Self { .init(.notFound, code: "not_found", message) }
    public static func tooLarge(_ message: String) -> Self { .init(.contentTooLarge, code: "too_large", message) }
    /// 429 with `Retry-After` in whole seconds.
    public static func tooManyRequests(_ message: String, retryAfterSeconds: Int) -> Self {
        .init(.tooManyRequests, code: "rate_limited", message, headers: [.retryAfter: String(retryAfterSeconds)])
    }
    public static func unavailable(_ message: String, retryAfterSeconds: Int = 1) -> Self {
        .init(.serviceUnavailable, code: "unavailable", message, headers: [.retryAfter: String(retryAfterSeconds)])
    }
}

private struct ErrorBody: Encodable {
    struct Detail: Encodable {
        let code: String
        let message: String
    }
    let error: Detail
}

/// Turns errors nobody mapped into the same JSON shape (500), so no response ever leaks a stack or an HTML page.
public struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPErrorResponse {
            throw error
        } catch let error as HTTPError {
            throw HTTPErrorResponse(error.status, code: Self.code(for: error.status), error.body ?? error.status.reasonPhrase)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            throw HTTPErrorResponse(.internalServerError, code: "internal", "internal error")
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "bad_request"
        case 401: "unauthorized"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 413: "too_large"
        case 429: "rate_limited"
        default: "http_\(status.code)"
        }
    }
}

/// A JSON response from an `Encodable` value.
public func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok, encoder: JSONEncoder = JSONEncoder()) throws -> Response {
    let data = try encoder.encode(value)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
