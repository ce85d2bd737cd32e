import Foundation

/// The stored form of `AccountFacts`, written and read through `JSONValue` instead of Foundation's Codable, which
/// was the largest cost per account in the worker's profile. The shape is exactly what the `Codable` conformance
/// writes with `.millisecondsSince1970` dates and sorted keys (the database's read-model trigger reads it, and
/// facts stored by either path decode with the other): times are milliseconds since 1970, absent values are
/// absent keys, and the day-keyed scores are an object with the day as text.
extension AccountFacts {
    /// The facts as JSON text.
    public func encodedJSON() -> String {
        String(decoding: json.serialized(), as: UTF8.self)
    }

    /// Facts from their stored JSON text; every key is optional, as in the `Codable` form.
    public init(encodedJSON text: String) throws {
        let value: JSONValue
        do { value = try JSONValue.parse(Array(text.utf8)) } catch { throw FactsError(description: "facts are not JSON: \(error)") }
        try self.init(json: value)
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        object["name"] = name.map { $0.json(.string($0.value)) }
        object["csmId"] = csmId.map { $0.json(.string($0.value)) }
        object["plan"] = plan.map { $0.json(.string($0.value)) }
        object["region"] = region.map { $0.json(.string($0.value)) }
        object["arr"] = arr.map { $0.json(.number($0.value)) }
        object["seats"] = seats.map { $0.json(.number(Double($0.value))) }
        object["renewalDate"] = renewalDate.map { $0.json(.millis($0.value)) }
        object["licensesPurchased"] = licensesPurchased.map { $0.json(.number(Double($0.value))) }
        object["licensesAssigned"] = licensesAssigned.map { $0.json(.number(Double($0.value))) }
        object["nps"] = nps.map { $0.json(.number(Double($0.value))) }
        object["milestones"] = .object(milestones.mapValues { .object(["first": .millis($0.first), "last": .millis($0.last)]) })
        object["championChanges"] = .array(championChanges.map(JSONValue.millis))
        object["tickets"] = .object(tickets.mapValues(\.json))
        object["invoices"] = .object(invoices.mapValues(\.json))
        object["lastTouchpoint"] = lastTouchpoint.map(JSONValue.millis)
        object["lastTraining"] = lastTraining.map(JSONValue.millis)
        object["features"] = .object(features.mapValues(JSONValue.millis))
        object["raised"] = .object(raised.mapValues(JSONValue.millis))
        object["scoreByDay"] = .object(
            Dictionary(uniqueKeysWithValues: scoreByDay.map { (String($0.key), JSONValue.number(Double($0.value))) }))
        return .object(object)
    }

    public init(json: JSONValue) throws {
        let reader = try FactsReader(json, path: "facts")
        self.init()
        name = try reader.stamped("name") { try $0.string() }
        csmId = try reader.stamped("csmId") { try $0.string() }
        plan = try reader.stamped("plan") { try $0.string() }
        region = try reader.stamped("region") { try $0.string() }
        arr = try reader.stamped("arr") { try $0.number() }
        seats = try reader.stamped("seats") { try $0.integer() }
        renewalDate = try reader.stamped("renewalDate") { try $0.date() }
        licensesPurchased = try reader.stamped("licensesPurchased") { try $0.integer() }
        licensesAssigned = try reader.stamped("licensesAssigned") { try $0.integer() }
        nps = try reader.stamped("nps") { try $0.integer() }
        milestones = try reader.entries("milestones") { entry in
            let occurrence = try FactsReader(entry.value, path: entry.path)
            var occurrences = Occurrences(try occurrence.required("first").date())
            occurrences.last = try occurrence.required("last").date()
            return occurrences
        }
        championChanges = try reader.list("championChanges") { try $0.date() }
        tickets = try reader.entries("tickets") { entry in
            let ticket = try FactsReader(entry.value, path: entry.path)
            return TicketFact(
                priority: try ticket.optional("priority")?.string(), openedAt: try ticket.optional("openedAt")?.date(),
                escalatedAt: try ticket.optional("escalatedAt")?.date(), closedAt: try ticket.optional("closedAt")?.date())
        }
        invoices = try reader.entries("invoices") { entry in
            let invoice = try FactsReader(entry.value, path: entry.path)
            return InvoiceFact(
                overdueAt: try invoice.optional("overdueAt")?.date(), paidAt: try invoice.optional("paidAt")?.date(),
                daysOverdue: try invoice.optional("daysOverdue")?.integer() ?? 0)
        }
        lastTouchpoint = try reader.optional("lastTouchpoint")?.date()
        lastTraining = try reader.optional("lastTraining")?.date()
        features = try reader.map("features") { try $0.date() }
        raised = try reader.map("raised") { try $0.date() }
        let scores: [String: Int] = try reader.map("scoreByDay") { try $0.integer() }
        for (day, score) in scores {
            guard let day = Int(day) else { throw FactsError(description: "facts.scoreByDay: key \(day) is not a day number") }
            scoreByDay[day] = score
        }
    }
}

/// Stored facts that cannot be read back: names the path and what is wrong.
public struct FactsError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension Stamped {
    func json(_ value: JSONValue) -> JSONValue {
        .object(["value": value, "at": .millis(at), "by": .string(by)])
    }
}

extension TicketFact {
    var json: JSONValue {
        var object: [String: JSONValue] = [:]
        object["priority"] = priority.map(JSONValue.string)
        object["openedAt"] = openedAt.map(JSONValue.millis)
        object["escalatedAt"] = escalatedAt.map(JSONValue.millis)
        object["closedAt"] = closedAt.map(JSONValue.millis)
        return .object(object)
    }
}

extension InvoiceFact {
    var json: JSONValue {
        var object: [String: JSONValue] = ["daysOverdue": .number(Double(daysOverdue))]
        object["overdueAt"] = overdueAt.map(JSONValue.millis)
        object["paidAt"] = paidAt.map(JSONValue.millis)
        return .object(object)
    }
}

extension JSONValue {
    /// A time as milliseconds since 1970, the facts' time format.
    static func millis(_ date: Date) -> JSONValue {
        .number(date.timeIntervalSince1970 * 1000)
    }
}

/// Reads one JSON value of the stored facts, naming its path in every error.
private struct FactsReader {
    let value: JSONValue
    let path: String

    init(_ value: JSONValue, path: String) throws {
        self.value = value
        self.path = path
    }

    func fail(_ expected: String) -> FactsError {
        FactsError(description: "\(path): expected \(expected), found \(value.kindName)")
    }

    var object: [String: JSONValue]? { value.objectValue }

    /// The member `key`, absent (or null) as nil.
    func optional(_ key: String) throws -> FactsReader? {
        guard let object else { throw fail("an object") }
        guard let member = object[key], member != .null else { return nil }
        return try FactsReader(member, path: "\(path).\(key)")
    }

    func required(_ key: String) throws -> FactsReader {
        guard let member = try optional(key) else { throw FactsError(description: "\(path).\(key): missing") }
        return member
    }

    func string() throws -> String {
        guard case .string(let text) = value else { throw fail("text") }
        return text
    }

    func number() throws -> Double {
        guard case .number(let number) = value else { throw fail("a number") }
        return number
    }

    func integer() throws -> Int {
        let number = try number()
        guard let integer = Int(exactly: number) else { throw fail("a whole number") }
        return integer
    }

    func date() throws -> Date {
        Date(timeIntervalSince1970: try number() / 1000)
    }

    func stamped<Value>(_ key: String, _ read: (FactsReader) throws -> Value) throws -> Stamped<Value>? {
        guard let member = try optional(key) else { return nil }
        return Stamped(
            try read(try member.required("value")), at: try member.required("at").date(), by: try member.required("by").string())
    }

    func list<Element>(_ key: String, _ read: (FactsReader) throws -> Element) throws -> [Element] {
        guard let member = try optional(key) else { return [] }
        guard case .array(let elements) = member.value else { throw member.fail("an array") }
        var result: [Element] = []
        result.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() { result.append(try read(try FactsReader(element, path: "\(member.path)[\(index)]"))) }
        return result
    }

    func entries<Element>(
        _ key: String, _ read: ((value: JSONValue, path: String)) throws -> Element
    ) throws -> [String: Element] {
        guard let member = try optional(key) else { return [:] }
        guard let object = member.object else { throw member.fail("an object") }
        var result: [String: Element] = [:]
        result.reserveCapacity(object.count)
        for (name, element) in object { result[name] = try read((element, "\(member.path).\(name)")) }
        return result
    }

    func map<Element>(_ key: String, _ read: (FactsReader) throws -> Element) throws -> [String: Element] {
        try entries(key) { entry in try read(try FactsReader(entry.value, path: entry.path)) }
    }
}
