import CRabbitMQ
import Glibc

/// Owns C memory for the arguments of one rabbitmq-c call.
///
/// `amqp_bytes_t` does not own what it points to, so a Swift string passed through `amqp_cstring_bytes` would
/// dangle. Everything built here lives until the arena is released at the end of `withArena`.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for pointer in allocations { free(pointer) }
    }

    func bytes(_ string: String) -> amqp_bytes_t {
        bytes(Array(string.utf8))
    }

    func bytes(_ buffer: [UInt8]) -> amqp_bytes_t {
        guard !buffer.isEmpty else { return amqp_empty_bytes }
        let pointer = malloc(buffer.count)!
        buffer.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: buffer.count) }
        allocations.append(pointer)
        return amqp_bytes_t(len: buffer.count, bytes: pointer)
    }

    func cString(_ string: String) -> UnsafePointer<CChar> {
        let pointer = strdup(string)!
        allocations.append(UnsafeMutableRawPointer(pointer))
        return UnsafePointer(pointer)
    }

    func table(_ arguments: [String: AMQPArgument]) -> amqp_table_t {
        guard !arguments.isEmpty else { return amqp_empty_table }
        let entries = UnsafeMutablePointer<amqp_table_entry_t>.allocate(capacity: arguments.count)
        allocations.append(UnsafeMutableRawPointer(entries))
        for (index, (key, argument)) in arguments.sorted(by: { $0.key < $1.key }).enumerated() {
            var value = amqp_field_value_t()
            switch argument {
            case .string(let string):
                value.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
                value.value.bytes = bytes(string)
            case .int(let int):
                value.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
                value.value.i64 = int
            case .bool(let bool):
                value.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
                value.value.boolean = bool ? 1 : 0
            }
            (entries + index).initialize(to: amqp_table_entry_t(key: bytes(key), value: value))
        }
        return amqp_table_t(num_entries: Int32(arguments.count), entries: entries)
    }
}

@inline(__always)
func withArena<Result>(_ body: (CArena) throws -> Result) rethrows -> Result {
    let arena = CArena()
    return try withExtendedLifetime(arena) { try body(arena) }
}

extension amqp_bytes_t {
    /// Copies the bytes into Swift memory.
    var array: [UInt8] {
        guard len > 0, let bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: len))
    }

    var string: String {
        String(decoding: array, as: UTF8.self)
    }
}

extension amqp_table_t {
    /// String and integer entries as text; other kinds are skipped.
    var stringValues: [String: String] {
        var result: [String: String] = [:]
        guard num_entries > 0, let entries else { return result }
        for index in 0..<Int(num_entries) {
            let entry = entries[index]
            let key = entry.key.string
            switch Int(entry.value.kind) {
            case Int(AMQP_FIELD_KIND_UTF8.rawValue), Int(AMQP_FIELD_KIND_BYTES.rawValue):
                result[key] = entry.value.value.bytes.string
            case Int(AMQP_FIELD_KIND_I64.rawValue): result[key] = String(entry.value.value.i64)
            case Int(AMQP_FIELD_KIND_U64.rawValue): result[key] = String(entry.value.value.u64)
            case Int(AMQP_FIELD_KIND_I32.rawValue): result[key] = String(entry.value.value.i32)
            case Int(AMQP_FIELD_KIND_U32.rawValue): result[key] = String(entry.value.value.u32)
            case Int(AMQP_FIELD_KIND_I16.rawValue): result[key] = String(entry.value.value.i16)
            case Int(AMQP_FIELD_KIND_I8.rawValue): result[key] = String(entry.value.value.i8)
            default: continue
            }
        }
        return result
    }
}
