import FuzzTargets
import Foundation

// `make fuzz` builds this with -sanitize=fuzzer,address -DFUZZING: libFuzzer drives the target named
// by $UPDATER_FUZZ_TARGET. Built normally it replays files: `updater-fuzz TARGET FILE...`, to
// reproduce a crash the fuzzer found.

#if FUZZING
nonisolated(unsafe) let selected: ([UInt8]) -> Void = {
    let name = ProcessInfo.processInfo.environment["UPDATER_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.all[name] else {
        fatalError("set UPDATER_FUZZ_TARGET to one of \(FuzzTargets.all.keys.sorted().joined(separator: ", "))")
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    selected(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// SwiftPM names an executable's entry point MODULE_main; libFuzzer runs from there.
@_cdecl("FuzzMain_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var values = argv
    return runDriver(&count, &values, fuzzOne)
}
#else
@main
struct Replay {
    static func main() throws {
        let args = CommandLine.arguments.dropFirst()
        guard let name = args.first, let target = FuzzTargets.all[name] else {
            print("usage: updater-fuzz TARGET FILE... (targets: \(FuzzTargets.all.keys.sorted().joined(separator: ", ")))")
            exit(64)
        }
        for file in args.dropFirst() {
            target(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
            print("\(file): ok")
        }
    }
}
#endif
