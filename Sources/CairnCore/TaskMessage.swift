public import Foundation

/// A playbook task as published on `cairn.tasks` (see CONTRACT.md).
public struct TaskMessage: Sendable, Hashable, Codable {
    public struct Trigger: Sendable, Hashable, Codable {
        public var kind: String
        public var at: Date
        public var detail: [String: JSONValue]
    }

    public struct Assignee: Sendable, Hashable, Codable {
        /// `csm`, `pool` or `manager`.
        public var kind: String
        public var id: String
        /// In a pool: the member the task was assigned to.
        public var member: String?

        public init(kind: String, id: String, member: String? = nil) {
            self.kind = kind
            self.id = id
            self.member = member
        }

        /// The `cairn.tasks` routing key, e.g. `csm.dana`; its queue is `cairn.tasks.csm.dana`.
        public var destination: String { "\(kind).\(id)" }
    }

    public struct Health: Sendable, Hashable, Codable {
        public var score: Int?
        public var band: String?
        public var previousBand: String?
    }

    public var taskId: String
    public var accountId: String
    public var accountName: String
    public var playbook: String
    public var title: String
    public var trigger: Trigger
    public var priority: String
    public var createdAt: Date
    public var dueAt: Date
    public var assignee: Assignee
    public var steps: [String]
    public var health: Health
    public var stage: String
    public var segment: String
    public var links: [String: String]

    public func encoded() -> [UInt8] {
        Array(try! JSONEncoder.cairn.encode(self))
    }

    public static func parse(_ bytes: some Collection<UInt8>) throws -> TaskMessage {
        try JSONDecoder.cairn.decode(TaskMessage.self, from: Data(bytes))
    }
}
