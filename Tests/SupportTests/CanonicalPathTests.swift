import Foundation
import Testing

@testable import Support

@Suite("Canonical paths")
struct CanonicalPathTests {
    @Test("links resolved in the part that exists, the rest kept under it, relative paths made absolute; the same answer every time")
    func canonical() throws {
        // The temporary directory may itself be reached through a link: resolved first.
        let root = Files.canonical(NSTemporaryDirectory()) + "/updater-canonical-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/real/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: root + "/real")
        try FileManager.default.createSymbolicLink(atPath: root + "/dangling", withDestinationPath: root + "/gone")

        #expect(Files.canonical(root + "/real/sub") == root + "/real/sub")
        #expect(Files.canonical(root + "/link") == root + "/real")
        #expect(Files.canonical(root + "/link/sub/") == root + "/real/sub")
        #expect(Files.canonical(root + "/link/new/deeper") == root + "/real/new/deeper")
        #expect(Files.canonical(root + "/link/./sub/../sub") == root + "/real/sub")
        #expect(Files.canonical(root + "/dangling/x") == root + "/dangling/x")
        #expect(Files.canonical("/") == "/")
        let missing = "/no-such-directory-" + UUID().uuidString
        #expect(Files.canonical(missing + "/x") == missing + "/x")
        let here = Files.canonical(FileManager.default.currentDirectoryPath)
        let relative = "relative-" + UUID().uuidString
        #expect(Files.canonical(relative) == here + "/" + relative)
        // Called over and over (each call frees what realpath allocated): one answer.
        for _ in 0..<1000 { #expect(Files.canonical(root + "/link/new") == root + "/real/new") }
    }
}
