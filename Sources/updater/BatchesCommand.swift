import ArgumentParser
import Cycle
import Foundation
import Registry
import Support

struct BatchesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batches",
        abstract: "List a job's batches, let a rejected one be read again, or keep one out of training.",
        discussion: """
            Every file registered from the job's incoming directory is a batch: pending (not read yet), consumed (read by a run; its training rows are in the training windows of its concept), rejected (malformed, with why) or set aside (updater stopped while reading it three times). A person can let a rejected or set-aside batch be read again once its cause is fixed (retry), and take a consumed batch out of every future training window (exclude; include puts it back). Each action is recorded with who and why, and shown by updater history.

            Example:
              updater batches churn
              updater batches retry churn 7 --reason "categorical columns fixed in the job file"
              updater batches exclude churn 5 --reason "labels of that week were wrong"
            """,
        subcommands: [List.self, Retry.self, Exclude.self, Include.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List a job's batches: status, rows, the run that read them, why one was rejected.",
            discussion: """
                Example:
                  updater batches churn
                  updater batches list churn --json
                """)

        @Argument(help: "The job.") var job: String
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag

        struct Entry: Encodable {
            var batch: BatchRecord
            var state: String
            /// The number, within the job, of the run that read it.
            var run: Int?

            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(batch.id, forKey: .id)
                try c.encode(state, forKey: .state)
                try c.encode(batch.path, forKey: .file)
                try c.encode(batch.sha256, forKey: .sha256)
                try c.encode(batch.size, forKey: .bytes)
                try c.encode(batch.rowCount, forKey: .rows)
                try c.encode(batch.firstSeenAt, forKey: .firstSeenAt)
                try c.encode(run, forKey: .run)
                try c.encode(batch.error, forKey: .error)
                try c.encode(batch.skippedRows, forKey: .skippedRows)
                try c.encode(batch.unlabelledRows, forKey: .unlabelledRows)
                try c.encode(batch.joined, forKey: .joined)
                if batch.skippedRows > 0 { try c.encode(batch.skippedRowsPath, forKey: .skippedRowsFile) }
            }

            enum Keys: String, CodingKey {
                case id, state, file, sha256, bytes, rows, run, error
                case firstSeenAt = "first_seen_at", skippedRows = "skipped_rows", skippedRowsFile = "skipped_rows_file"
                case unlabelledRows = "unlabelled_rows", joined
            }
        }

        /// Bad rows left out, rows without labels.
        static func notes(_ b: BatchRecord) -> String {
            var notes: [String] = []
            if b.skippedRows > 0 { notes.append("\(b.skippedRows) bad row\(b.skippedRows == 1 ? "" : "s") left out (\(b.skippedRowsPath))") }
            if b.unlabelledRows > 0 { notes.append("\(b.unlabelledRows) row\(b.unlabelledRows == 1 ? "" : "s") without a label (not counted in ROWS)") }
            return notes.joined(separator: "; ")
        }

        static func state(_ b: BatchRecord) -> String {
            if b.setAside { return "set_aside" }
            if b.excluded { return "excluded" }
            return b.status.rawValue
        }

        func run() throws {
            let name = try checkedJobName(job)
            let registry = try common.state.openExistingRegistry()
            guard try registry.job(name) != nil else { throw fail("unknown job \"\(name)\"") }
            let batches = try registry.batches(of: name)
            let numbers = try registry.runNumbers(job: name)
            if output.json {
                printJSON(batches.map { Entry(batch: $0, state: Self.state($0), run: $0.runID.flatMap { numbers[$0] }) })
                return
            }
            if batches.isEmpty {
                print("\(name): no batch registered yet")
                return
            }
            print(table(
                ["BATCH", "STATE", "ROWS", "FIRST SEEN", "RUN", "FILE", "WHY"],
                batches.map { b in
                    [
                        "\(b.id ?? 0)", Self.state(b).replacingOccurrences(of: "_", with: " "), b.rowCount.map(String.init) ?? "-",
                        show(b.firstSeenAt), b.runID.flatMap { numbers[$0] }.map(String.init) ?? "-", Files.baseName(b.path),
                        b.error.map { truncate($0, 90) } ?? Self.notes(b),
                    ]
                }))
            let labelFiles = try registry.labelFiles(job: name)
            if !labelFiles.isEmpty {
                print("\nlabel files (data.labels):")
                print(table(
                    ["FILE", "FIRST SEEN", "WHAT IT DID"],
                    labelFiles.map { [Files.baseName($0.path), show($0.firstSeenAt), truncate($0.summary, 220)] }))
                let pending = try registry.pendingLabels(job: name)
                if pending > 0 { print("\(pending) label\(pending == 1 ? " waits" : "s wait") for rows with \(pending == 1 ? "its id" : "their ids")") }
            }
            let stuck = batches.filter { $0.status == .rejected }
            if !stuck.isEmpty {
                print("a rejected batch is read again after `updater batches retry \(name) N` (once its cause is fixed)")
            }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry",
            abstract: "Let a rejected or set-aside batch be read again by the next run.",
            discussion: """
                Use it once the cause is fixed: the job file (a column that should be categorical, say), or the machine (a batch set aside after updater was killed while reading it). The same bytes dropped again into the incoming directory are recognised and not read twice, so this is the way back.

                Example:
                  updater batches retry churn 7 --reason "plan is categorical now"
                """)

        @Argument(help: "The job.") var job: String
        @Argument(help: "The batch's number (updater batches JOB).") var batch: Int64
        @Option(name: .long, help: "Why, for the record.") var reason: String?
        @OptionGroup var common: CommonOptions

        func run() throws {
            let name = try checkedJobName(job)
            let registry = try common.state.openExistingRegistry()
            do {
                let b = try registry.retry(batch: batch, job: name, actor: Rollback.currentActor(), reason: reason)
                print("\(name): batch \(batch) (\(Files.baseName(b.path))) is pending again; the next run reads it")
            } catch {
                throw fail("\(error)")
            }
        }
    }

    struct Exclude: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "exclude",
            abstract: "Keep a consumed batch out of every future training window (bad labels, say).",
            discussion: """
                Versions already trained on it keep their record; later trainings leave its rows out. updater batches include puts it back.

                Example:
                  updater batches exclude churn 5 --reason "labels of that week were wrong"
                """)

        @Argument(help: "The job.") var job: String
        @Argument(help: "The batch's number (updater batches JOB).") var batch: Int64
        @Option(name: .long, help: "Why, for the record (required).") var reason: String

        @OptionGroup var common: CommonOptions

        func run() throws {
            let name = try checkedJobName(job)
            let registry = try common.state.openExistingRegistry()
            do {
                _ = try registry.exclude(batch: batch, job: name, excluded: true, actor: Rollback.currentActor(), reason: reason)
                print("\(name): batch \(batch) is excluded from training from the next run on")
            } catch {
                throw fail("\(error)")
            }
        }
    }

    struct Include: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "include",
            abstract: "Put an excluded batch back into the training windows.",
            discussion: """
                Example:
                  updater batches include churn 5 --reason "labels corrected upstream"
                """)

        @Argument(help: "The job.") var job: String
        @Argument(help: "The batch's number (updater batches JOB).") var batch: Int64
        @Option(name: .long, help: "Why, for the record.") var reason: String?
        @OptionGroup var common: CommonOptions

        func run() throws {
            let name = try checkedJobName(job)
            let registry = try common.state.openExistingRegistry()
            do {
                _ = try registry.exclude(batch: batch, job: name, excluded: false, actor: Rollback.currentActor(), reason: reason)
                print("\(name): batch \(batch) is in the training windows again from the next run on")
            } catch {
                throw fail("\(error)")
            }
        }
    }
}
