import ArgumentParser
import Cycle
import Service
import Foundation
import Support
import JobFiles

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check job files and print every problem.",
        discussion: """
            Checks each FILE, or every *.toml in each DIR (default: the jobs directory, and the global webhooks file beside it). Prints every problem as FILE:LINE: KEY: MESSAGE and exits 1 if there is any.

            Example:
              updater validate Jobs/churn.toml
              updater validate /etc/updater/jobs
            """)

    @Argument(help: "Job files or directories of job files.")
    var paths: [String] = []

    @Option(name: .long, help: "Directory of job files, when no path is given.")
    var jobs: String?

    @Option(name: .long, help: "Global webhook endpoints to check (default: webhooks.toml beside the jobs directory, if it exists).")
    var webhooks: String?

    func run() throws {
        let targets = paths.isEmpty ? [JobSet.defaultDirectory(option: jobs)] : paths
        var files: [String] = []
        var problems = 0
        for target in targets {
            if Files.isDirectory(target) {
                do {
                    let found = try JobSet.files(in: target)
                    if found.isEmpty { print("\(target): no *.toml job files") }
                    files += found
                } catch {
                    print("\(error)")
                    problems += 1
                }
            } else if Files.exists(target) {
                files.append(target)
            } else {
                print("\(target): no such file or directory")
                problems += 1
            }
        }
        // Each file on its own, then (for a directory) what jobs running side by side must not share.
        var together: [String: [JobFileProblem]] = [:]
        for target in targets where Files.isDirectory(target) {
            for bad in (try? JobSet.load(directory: target))?.invalid ?? [] {
                for p in bad.problems where p.keyPath == "deploy.path" { together[p.file, default: []].append(p) }
            }
        }
        for file in files {
            do {
                let job = try JobFileDecoder.load(file)
                if let shared = together[file] {
                    for p in shared { print(p.description) }
                    problems += shared.count
                } else {
                    print("\(file): ok (job \(job.name))")
                    for warning in job.warnings { print("\(file): warning: \(warning)") }
                }
            } catch {
                for p in error.problems { print(p.description) }
                problems += error.problems.count
            }
        }
        // The global webhooks file, when one is given or the jobs directory is checked.
        if webhooks != nil || paths.isEmpty {
            let file = WebhookFile.resolve(option: webhooks, jobsDirectory: JobSet.defaultDirectory(option: jobs))
            do {
                let settings = try file.load()
                if let path = settings.file { print("\(path): ok (\(settings.endpoints.count) webhook endpoint\(settings.endpoints.count == 1 ? "" : "s"))") }
            } catch {
                for p in error.problems { print(p.description) }
                problems += error.problems.count
            }
        }
        if problems > 0 {
            print("\(problems) problem\(problems == 1 ? "" : "s") found")
            throw ExitCode.failure
        }
    }
}
