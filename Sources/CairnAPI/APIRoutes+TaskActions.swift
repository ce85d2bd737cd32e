import CairnCore
import CairnHTTP
import CairnStore
import Foundation
import Hummingbird
import NIOCore

extension RouterGroup {
    /// One task with its history, and the actions on it: `POST /tasks/{id}/ack`, `/done` (`{"note"}`),
    /// `/snooze` (`{"until"}`), `/dismiss` (`{"reason"}`), `/reassign` (`{"to": "csm.lee"}`); an optional
    /// `"actor"` names who acts. 404 for an unknown task, 409 for a task that is closed or already in that state,
    /// 400 for a bad body.
    func addTaskActionRoutes(store: Store) {
        get("/tasks/{id}") { _, context in
            let id = try context.parameters.require("id")
            guard let task = try await store.task(id, logger: context.logger) else {
                throw HTTPErrorResponse.notFound("no task \(id.prefix(100))")
            }
            return try jsonResponse(task, encoder: .cairn)
        }
        for name in ["ack", "done", "snooze", "dismiss", "reassign"] {
            post("/tasks/{id}/\(name)") { request, context in
                let id = try context.parameters.require("id")
                let body = try await Self.actionBody(request)
                let action = try Self.action(name, body)
                do {
                    let record = try await store.perform(
                        action, on: id, actor: body["actor"]?.stringValue, logger: context.logger)
                    return try jsonResponse(record, encoder: .cairn)
                } catch let error as TaskActionError {
                    switch error.code {
                    case .notFound: throw HTTPErrorResponse.notFound(error.message)
                    case .conflict: throw HTTPErrorResponse(.conflict, code: "conflict", error.message)
                    case .invalid: throw HTTPErrorResponse.badRequest("invalid_field", error.message)
                    }
                }
            }
        }
    }

    /// The JSON object of an action's body; an empty body is an empty object.
    static func actionBody(_ request: Request) async throws -> [String: JSONValue] {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: 16 * 1024)
        } catch {
            throw HTTPErrorResponse.tooLarge("request body larger than 16384 bytes")
        }
        guard buffer.readableBytes > 0 else { return [:] }
        guard case .object(let object)? = try? JSONValue.parse(buffer.readableBytesView) else {
            throw HTTPErrorResponse.badRequest("malformed_json", "body must be a JSON object")
        }
        return object
    }

    static func action(_ name: String, _ body: [String: JSONValue]) throws -> TaskAction {
        func text(_ field: String, required: Bool) throws -> String? {
            switch body[field] {
            case .string(let value)? where !value.isEmpty: return value
            case nil, .null?: if required { throw HTTPErrorResponse.badRequest("missing_field", "\(field) is required") }; return nil
            default: throw HTTPErrorResponse.badRequest("invalid_field", "\(field) must be a non-empty string")
            }
        }
        switch name {
        case "ack":
            return .acknowledge
        case "done":
            return .done(note: try text("note", required: false))
        case "snooze":
            guard let until = try text("until", required: true).flatMap(Timestamp.parse) else {
                throw HTTPErrorResponse.badRequest("invalid_field", "until must be an ISO-8601 time")
            }
            return .snooze(until: until)
        case "dismiss":
            return .dismiss(reason: try text("reason", required: true)!)
        default:
            let to = try text("to", required: true)!
            let parts = to.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, ["csm", "pool", "manager"].contains(parts[0]), parts[1].utf8.count <= 200 else {
                throw HTTPErrorResponse.badRequest("invalid_field", "to must be csm.<id>, pool.<name> or manager.<id>")
            }
            return .reassign(to: .init(kind: parts[0], id: parts[1]))
        }
    }
}
