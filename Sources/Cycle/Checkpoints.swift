/// Named points of a cycle where a crash is the hardest to recover from: `artifact` (a candidate's
/// artifact written, its record not yet), `promotion` (the new model renamed into the deploy path,
/// the production pointer not yet committed), `promoted` (the promotion committed, the run not yet
/// finished), `labels` (a label file's labels applied, the batch of joined rows not yet written),
/// `joined` (that batch's file written, not yet registered). The daemon's crash tests stop `updater run` at one of them (`UPDATER_TEST_STALL`,
/// wired by the command) to kill it there; everywhere else reaching a point does nothing.
package struct Checkpoints: Sendable {
    package enum Point: String, Sendable, CaseIterable {
        case artifact, promotion, promoted, labels, joined
    }

    package var reached: @Sendable (Point) -> Void

    package init(_ reached: @escaping @Sendable (Point) -> Void) { self.reached = reached }

    package static let none = Checkpoints { _ in }
}
