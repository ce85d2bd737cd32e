import Hummingbird
import NIOCore

extension Router {
    /// The dashboard (`/`, its script and style sheet) and the OpenAPI document: static text compiled into the
    /// binary, so the process serves everything it needs and the page loads nothing from the network.
    func addDocumentRoutes() {
        get("/") { _, _ in Self.document(DashboardPage.html, type: "text/html; charset=utf-8") }
        get("/dashboard.js") { _, _ in Self.document(DashboardPage.script, type: "text/javascript; charset=utf-8") }
        get("/dashboard.css") { _, _ in Self.document(DashboardPage.style, type: "text/css; charset=utf-8") }
        get("/openapi.yaml") { _, _ in Self.document(OpenAPIDocument.yaml, type: "application/yaml; charset=utf-8") }
    }

    private static func document(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "no-cache",
                // Only this origin's script and style: user text can never run as code, even if it reached markup.
                HTTPFields.Element.Name("Content-Security-Policy")!:
                    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
                HTTPFields.Element.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
