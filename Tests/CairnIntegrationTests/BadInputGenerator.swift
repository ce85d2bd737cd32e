import Foundation

/// Generated bad input for `cairn ingest` (HTTP) and for a worker (AMQP, straight onto `cairn.events`), in classes,
/// deterministic for a seed. Each class knows what the product is expected to do with it.
enum BadInputGenerator {
    /// A small deterministic random source (SplitMix64), so a run can be repeated exactly.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func pick<T>(_ values: [T]) -> T { values[int(0..<values.count)] }
    }

    // MARK: HTTP

    struct HTTPRequest: Sendable {
        var path = "/v1/track"
        var body: Data
        var headers: [String: String] = ["Authorization": basicAuth("dev-write-key")]
    }

    enum HTTPClass: String, CaseIterable, Sendable {
        case malformedJSON = "malformed JSON"
        case truncatedJSON = "truncated JSON"
        case wrongTypes = "wrong type for a field"
        case missingFields = "missing required field"
        case oversizeEvent = "oversize event (> 32 KB)"
        case oversizeBatch = "oversize batch (> 500 KB)"
        case gzipBomb = "gzip bomb"
        case invalidGzip = "invalid gzip"
        case badWriteKey = "bad or missing write key"
        case wrongContentType = "wrong content type (XML, form)"
        case unknownType = "unknown event type"
        case deepNesting = "deeply nested JSON"
        case invalidUTF8 = "invalid UTF-8"
        case hugeNumbers = "huge numbers (out of double range)"
        case nulInString = "NUL character in a string"
        case emptyBody = "empty body"
    }

    /// A good Segment track call; applied once by the worker under `messageId`.
    static func goodTrack(_ messageId: String, _ n: Int) -> [String: Any] {
        ["messageId": messageId, "userId": "u\(n % 50)", "event": "Report Exported", "context": ["groupId": "bad-input-\(n % 20)"],
         "timestamp": "2026-06-01T10:00:00Z", "properties": ["n": n]]
    }

    static func data(_ object: Any) -> Data { try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) }

    /// A gzip stream that inflates to 20 MB of spaces (made once: compressing it is the slow part).
    static let bomb = gzip(Data(repeating: 0x20, count: 20_000_000))

    static func request(_ kind: HTTPClass, _ n: Int, _ random: inout Random) -> HTTPRequest {
        let good = goodTrack("bad-http-\(n)", n)
        switch kind {
        case .malformedJSON:
            let bodies = [#"{"event": "x", "userId": u1}"#, #"{'event': 'x'}"#, #"{"event":"x",,"userId":"u"}"#, "nul", "{]",
                          #"{"event":"x"} trailing"#, #"{"event":"x\q"}"#, "\u{1}\u{2}garbage", #"{"a":01}"#, #"{"a":"\ud800"}"#]
            return HTTPRequest(body: Data(random.pick(bodies).utf8))
        case .truncatedJSON:
            let full = data(good)
            return HTTPRequest(body: full.prefix(random.int(1..<full.count)))
        case .wrongTypes:
            var object = good
            let (field, value): (String, Any) = random.pick([
                ("timestamp", 1_780_000_000), ("timestamp", "not a date"), ("timestamp", ["at": "now"]), ("event", 42),
                ("event", ["x"]), ("properties", [1, 2, 3]), ("properties", "p"), ("traits", 7), ("context", ["groupId"]),
                ("userId", ["u1"]), ("userId", true), ("messageId", ["id": 1]), ("sentAt", false), ("anonymousId", [:] as [String: Any]),
            ])
            object[field] = value
            return HTTPRequest(body: data(object))
        case .missingFields:
            let variants: [(String, [String: Any])] = [
                ("/v1/track", ["userId": "u1", "context": ["groupId": "a"]]),  // no event
                ("/v1/track", ["event": "x"]),  // neither account nor user
                ("/v1/group", ["userId": "u1"]),  // group without groupId
                ("/v1/identify", ["traits": ["role": "admin"], "context": ["groupId": "a"]]),  // identify without a user
                ("/v1/batch", ["batch": [["event": "x", "userId": "u1"]]]),  // batch item without type
                ("/v1/batch", ["sentAt": "2026-06-01T10:00:00Z"]),  // no batch
            ]
            let (path, object) = random.pick(variants)
            return HTTPRequest(path: path, body: data(object))
        case .oversizeEvent:
            var object = good
            object["properties"] = ["blob": String(repeating: "x", count: 33_000 + random.int(0..<20_000))]
            return HTTPRequest(body: data(object))
        case .oversizeBatch:
            let item = goodTrack("bad-http-\(n)-item", n).merging(["type": "track", "properties": ["p": String(repeating: "y", count: 20_000)]]) { $1 }
            return HTTPRequest(path: "/v1/batch", body: data(["batch": Array(repeating: item, count: 26 + random.int(0..<8))]))
        case .gzipBomb:
            return HTTPRequest(path: random.pick(["/v1/batch", "/v1/track"]), body: bomb,
                               headers: ["Authorization": basicAuth("dev-write-key"), "Content-Encoding": "gzip"])
        case .invalidGzip:
            let compressed = gzip(data(good))
            let bodies = [Data("not gzip at all".utf8), compressed.prefix(compressed.count / 2), data(good), Data([0x1F, 0x8B, 0x08])]
            return HTTPRequest(body: random.pick(bodies), headers: ["Authorization": basicAuth("dev-write-key"), "Content-Encoding": "gzip"])
        case .badWriteKey:
            let headers: [[String: String]] = [
                [:], ["Authorization": basicAuth("wrong-key")], ["Authorization": basicAuth("")], ["Authorization": "Basic !!!not-base64"],
                ["Authorization": "Bearer dev-write-key"],
            ]
            var object = good
            if random.int(0..<4) == 0 { object["writeKey"] = "wrong-key" }
            return HTTPRequest(body: data(object), headers: random.pick(headers))
        case .wrongContentType:
            let (type, body) = random.pick([
                ("application/xml", "<track><event>x</event><userId>u1</userId></track>"),
                ("application/x-www-form-urlencoded", "event=x&userId=u1&context.groupId=a"),
                ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"event\"\r\n\r\nx\r\n--x--"),
            ])
            return HTTPRequest(body: Data(body.utf8), headers: ["Authorization": basicAuth("dev-write-key"), "Content-Type": type])
        case .unknownType:
            var item = good
            item["type"] = random.pick(["alias", "screenview", "TRACK", "delete", "42"])
            return HTTPRequest(path: "/v1/batch", body: data(["batch": [item]]))
        case .deepNesting:
            let depth = 129 + random.int(0..<4_000)
            let open = random.int(0..<2) == 0 ? "[" : #"{"a":"#
            let close = open == "[" ? "]" : "}"
            let nested = String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth)
            return HTTPRequest(body: Data(#"{"event":"x","userId":"u1","context":{"groupId":"a"},"properties":{"deep":\#(nested)}}"#.utf8))
        case .invalidUTF8:
            var body = Data(#"{"event":"x","userId":"u1","context":{"groupId":"a"},"properties":{"name":""#.utf8)
            body.append(contentsOf: random.pick([[0xFF], [0xC3, 0x28], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80]]))
            body.append(contentsOf: Array(#""}}"#.utf8))
            return HTTPRequest(body: body)
        case .hugeNumbers:
            let number = random.pick(["1e400", "-1e999", "1" + String(repeating: "0", count: 400), "9" + String(repeating: "9", count: 5000)])
            return HTTPRequest(body: Data(#"{"event":"x","userId":"u1","context":{"groupId":"a"},"properties":{"n":\#(number)}}"#.utf8))
        case .nulInString:
            var object = good
            if random.int(0..<2) == 0 { object["event"] = "bad\u{0}name" } else { object["properties"] = ["note": "nul \u{0} inside"] }
            return HTTPRequest(body: data(object))
        case .emptyBody:
            return HTTPRequest(path: random.pick(["/v1/track", "/v1/batch", "/v1/identify"]), body: Data())
        }
    }

    // MARK: AMQP

    enum AMQPClass: String, CaseIterable, Sendable {
        case nonJSON = "not JSON"
        case truncatedJSON = "truncated JSON"
        case wrongTypes = "wrong type for a field"
        case missingMessageId = "missing messageId"
        case missingAccountId = "missing accountId (and userId)"
        case unknownType = "unknown event type"
        case hugePayload = "huge payload (valid shape, 70 to 200 KB)"
        case deepNesting = "deeply nested JSON"
        case invalidUTF8 = "invalid UTF-8"
        case hugeNumbers = "huge numbers (out of double range)"
        case nulInString = "NUL character in a string"
        case emptyBody = "empty body"
    }

    /// A good event as it travels on `cairn.events`.
    static func goodEvent(_ messageId: String, _ n: Int) -> [String: Any] {
        ["messageId": messageId, "type": "track", "event": "Report Exported", "accountId": "bad-input-\(n % 20)",
         "userId": "u\(n % 50)", "timestamp": "2026-06-01T10:00:00.000Z", "properties": ["n": n]]
    }

    static func message(_ kind: AMQPClass, _ n: Int, _ random: inout Random) -> [UInt8] {
        var good = goodEvent("bad-amqp-\(n)", n)
        switch kind {
        case .nonJSON:
            return Array(random.pick(["hello", "<event/>", "\u{0}\u{1}\u{2}", "event=x", "{", "null", "[]", "42", "\"text\""]).utf8)
        case .truncatedJSON:
            let full = data(good)
            return Array(full.prefix(random.int(1..<full.count)))
        case .wrongTypes:
            let (field, value): (String, Any) = random.pick([
                ("timestamp", 1_780_000_000), ("timestamp", "yesterday"), ("accountId", 42), ("userId", ["u"]),
                ("properties", [1, 2]), ("traits", "t"), ("context", 3), ("type", 1), ("messageId", 7), ("event", false),
            ])
            good[field] = value
            return Array(data(good))
        case .missingMessageId:
            switch random.int(0..<3) {
            case 0: good.removeValue(forKey: "messageId")
            case 1: good["messageId"] = ""
            default: good["messageId"] = NSNull()
            }
            return Array(data(good))
        case .missingAccountId:
            good.removeValue(forKey: "accountId")
            good.removeValue(forKey: "userId")
            return Array(data(good))
        case .unknownType:
            good["type"] = random.pick(["alias", "page", "screen", "Track", ""])
            return Array(data(good))
        case .hugePayload:
            good["properties"] = ["blob": String(repeating: "z", count: random.pick([70_000, 100_000, 200_000]))]
            return Array(data(good))
        case .deepNesting:
            let depth = 129 + random.int(0..<10_000)
            return Array((#"{"messageId":"x","type":"track","event":"x","accountId":"a","timestamp":"2026-06-01T10:00:00Z","properties":{"d":"#
                + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}}").utf8)
        case .invalidUTF8:
            var body = Array(#"{"messageId":"m","type":"track","event":""#.utf8)
            body += random.pick([[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80]] as [[UInt8]])
            body += Array(#"","accountId":"a","timestamp":"2026-06-01T10:00:00Z"}"#.utf8)
            return body
        case .hugeNumbers:
            return Array((#"{"messageId":"m","type":"track","event":"x","accountId":"a","timestamp":"2026-06-01T10:00:00Z","properties":{"n":"#
                + random.pick(["1e400", "-1e999", "1" + String(repeating: "0", count: 400)]) + "}}").utf8)
        case .nulInString:
            good[random.pick(["event", "userId"])] = "bad\u{0}name"
            if random.int(0..<2) == 0 { good["properties"] = ["note": "nul \u{0} inside"] }
            return Array(data(good))
        case .emptyBody:
            return []
        }
    }
}
