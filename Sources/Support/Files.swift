import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed file operation, naming the path.
package struct FileError: Error, CustomStringConvertible, Sendable {
    package var path: String
    package var message: String
    package init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    package var description: String { "\(path): \(message)" }
}

/// File operations the update cycle relies on: hashing, and writes that are all-or-nothing.
package enum Files {
    /// SHA-256 of a file's bytes, as lowercase hex.
    package static func sha256(of path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path, "cannot open: \(errnoText())") }
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path, "cannot read: \(errnoText())")
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return hex(hasher.finalize())
    }

    package static func sha256(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    package static func sha256(_ text: String) -> String { sha256(Array(text.utf8)) }

    package static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    package static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileError(path, exists(path) ? "cannot read" : "does not exist")
        }
        return Array(data)
    }

    /// Writes `bytes` to `path` all-or-nothing: a temporary file in the same directory, fsync, rename
    /// over the target, fsync of the directory. Readers see the old file or the new one, never a
    /// mix; a crash leaves at most a stray `.tmp` file. Creates the directory if needed.
    package static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let temp = try writeTemporary(bytes, beside: path, mode: mode)
        try renameIntoPlace(temp, path)
    }

    /// Renames `temp` (beside `path`) to `path` and syncs the directory; removes `temp` if it fails.
    package static func renameIntoPlace(_ temp: String, _ path: String, what: String = "") throws {
        guard rename(temp, path) == 0 else {
            let e = errnoText()
            unlink(temp)
            throw FileError(path, "cannot rename \(what.isEmpty ? "" : what + " ")into place: \(e)")
        }
        syncDirectory(directory(of: path))
    }

    /// Writes `bytes` to a new temporary file beside `path` (same directory, so a rename puts it in
    /// place atomically), fsynced; returns its path.
    package static func writeTemporary(_ bytes: [UInt8], beside path: String, mode: mode_t = 0o644) throws -> String {
        let dir = directory(of: path)
        try makeDirectories(dir)
        let temp = "\(dir)/.\(baseName(path)).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError(temp, "cannot create: \(errnoText())") }
        // The mode asked for, whatever the umask: a serving process under another user reads the model.
        fchmod(fd, mode)
        var ok = false
        defer {
            if !ok { unlink(temp) }
        }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errnoText()
                close(fd)
                throw FileError(path, "cannot write: \(e)")
            }
            done += n
        }
        if fsync(fd) != 0 {
            let e = errnoText()
            close(fd)
            throw FileError(path, "cannot fsync: \(e)")
        }
        close(fd)
        ok = true
        return temp
    }

    package static func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// SHA-256 over a directory's regular files, by relative path: the lines `PATH<TAB>SHA256` in
    /// byte order of PATH. Identifies a directory artifact (an external trainer's model) as a file's
    /// SHA-256 identifies a file. Symbolic links are refused.
    package static func directoryDigest(_ path: String) throws -> String {
        guard let walker = FileManager.default.enumerator(atPath: path) else { throw FileError(path, "cannot read the directory") }
        var lines: [String] = []
        while let relative = walker.nextObject() as? String {
            let full = path + "/" + relative
            var st = stat()
            guard lstat(full, &st) == 0 else { throw FileError(full, "cannot stat: \(errnoText())") }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: continue
            case S_IFREG: lines.append("\(relative)\t\(try sha256(of: full))")
            default: throw FileError(full, "not a regular file (model directories may hold only files and directories)")
            }
        }
        lines.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        return sha256(lines.joined(separator: "\n"))
    }

    /// Copies a directory tree, then fsyncs every copied file.
    package static func copyDirectory(_ source: String, to destination: String) throws {
        do {
            try FileManager.default.copyItem(atPath: source, toPath: destination)
        } catch {
            throw FileError(destination, "cannot copy \(source): \(error.localizedDescription)")
        }
        if let walker = FileManager.default.enumerator(atPath: destination) {
            while let relative = walker.nextObject() as? String {
                let fd = open(destination + "/" + relative, O_RDONLY | O_CLOEXEC)
                if fd >= 0 {
                    fsync(fd)
                    close(fd)
                }
            }
        }
        syncDirectory(destination)
    }

    package static func makeDirectories(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            // errno is not reliable after Foundation; say what is in the way.
            var prefix = path
            while !prefix.isEmpty, prefix != "/" {
                if exists(prefix), !isDirectory(prefix) { throw FileError(path, "cannot create directory: \(prefix) is a file, not a directory") }
                prefix = directory(of: prefix)
            }
            throw FileError(path, "cannot create directory: \((error as NSError).localizedDescription)")
        }
    }

    package static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    package static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Size and modification time (nanoseconds) of a regular file, or nil (for anything else,
    /// symbolic links included: an incoming directory's files are read only as themselves).
    package static func stamp(_ path: String) -> (size: Int64, mtimeNs: Int64)? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (Int64(st.st_size), Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }

    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    package static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// An absolute form of `path` (against the current directory), without `.`/`..` segments.
    package static func absolute(_ path: String) -> String { absolutePath(path) }
}

package func errnoText() -> String { String(cString: strerror(errno)) }

extension Files {
    /// Removes what a writer killed mid-way left in `directory` (and, `recursive`, below it): the
    /// temporary files of ``writeAtomically(_:to:mode:)`` (`.NAME.PID.N.tmp`), partial directory
    /// copies (`…partial-PID`) and staged links (`.NAME.link-PID`), each only when process PID no
    /// longer runs. Returns the paths removed.
    @discardableResult
    package static func removeLeftovers(in directory: String, recursive: Bool = false) -> [String] {
        var removed: [String] = []
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        for name in names.sorted() {
            let path = directory + "/" + name
            if let pid = leftoverPid(name), kill(pid, 0) != 0, errno == ESRCH {
                if (try? FileManager.default.removeItem(atPath: path)) != nil { removed.append(path) }
            } else if recursive || name.hasSuffix(".versions"), isDirectory(path), !isSymbolicLink(path) {
                removed += removeLeftovers(in: path, recursive: recursive)
            }
        }
        return removed
    }

    /// The pid in a leftover's name, or nil when the name is not one.
    package static func leftoverPid(_ name: String) -> pid_t? {
        if name.hasPrefix("."), name.hasSuffix(".tmp") {
            let parts = name.dropLast(4).split(separator: ".")
            return parts.count >= 3 ? pid_t(parts[parts.count - 2]) : nil
        }
        for marker in [".partial-", ".link-"] {
            if let r = name.range(of: marker, options: .backwards) { return pid_t(name[r.upperBound...]) }
        }
        return nil
    }

    package static func isSymbolicLink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }
}

/// `path` made absolute against the current directory, without `.` and `..` segments.
package func absolutePath(_ path: String) -> String {
    var full = path
    if !path.hasPrefix("/") {
        full = FileManager.default.currentDirectoryPath + "/" + path
    }
    var parts: [Substring] = []
    for part in full.split(separator: "/") {
        if part == "." || part.isEmpty { continue }
        if part == ".." {
            if !parts.isEmpty { parts.removeLast() }
            continue
        }
        parts.append(part)
    }
    return "/" + parts.joined(separator: "/")
}

extension Files {
    /// `path` made absolute with its symbolic links resolved, for the part of it that exists (a
    /// directory not created yet keeps its name under its resolved parent).
    package static func canonical(_ path: String) -> String {
        var existing = absolutePath(path)
        var rest: [String] = []
        // realpath mallocs its answer: each one is freed (the loop's test once called it and dropped
        // the buffer of the one that succeeded, a leak on every call; issue 18).
        var found = realpath(existing, nil)
        while found == nil, existing != "/" {
            rest.insert(baseName(existing), at: 0)
            existing = directory(of: existing)
            found = realpath(existing, nil)
        }
        guard let resolved = found else { return absolutePath(path) }
        defer { free(resolved) }
        let base = String(cString: resolved)
        return rest.isEmpty ? base : (base == "/" ? "" : base) + "/" + rest.joined(separator: "/")
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
package func csvField(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
