import Dispatch

/// `items.map(body)` computed on every core (`DispatchQueue.concurrentPerform`), order preserved.
package func parallelMap<T: Sendable, R>(_ items: [T], _ body: @Sendable (T) -> R) -> [R] {
    var out = [R?](repeating: nil, count: items.count)
    out.withUnsafeMutableBufferPointer { buffer in
        let base = DisjointWrites(buffer.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: items.count) { i in
            base.pointer.advanced(by: i).pointee = body(items[i])
        }
    }
    return out.map { $0! }
}

/// A pointer shared by concurrent workers that each write their own element and never read
/// another's; the caller reads only after all finished. That discipline, not the type, makes it
/// safe, hence `@unchecked Sendable`.
package struct DisjointWrites<T>: @unchecked Sendable {
    package let pointer: UnsafeMutablePointer<T>
    package init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// A read-only buffer shared by concurrent workers while its owner keeps it alive.
struct UnsafeSendableBuffer: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<UInt8>
    init(_ buffer: UnsafeBufferPointer<UInt8>) { self.buffer = buffer }
}
