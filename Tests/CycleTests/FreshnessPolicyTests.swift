import Foundation
import Testing

@testable import Cycle
@testable import Drift
import Evaluation
import JobFiles
import Registry
import Tabular

/// The freshness policy's decisions, from the evidence alone (no training).
@Suite("The freshness policy")
struct FreshnessPolicyTests {
    let job: JobConfig

    init() throws {
        let file = try JobFile(windowRows: 8000)
        defer { file.remove() }
        job = try JobFileDecoder.load(file.path)
    }

    func production(rows: Int = 1600, version: Int = 1, generation: Int = 0) -> ProductionModel {
        let record = VersionRecord(
            job: "sea", version: version, runID: 1, mode: .full, generation: generation, trainingRows: rows, dataFingerprint: "f",
            jobFileHash: "h", metrics: "{}", artifactPath: "/nowhere", artifactSHA256: "0", reference: "{}", status: .passed,
            createdAt: Date(timeIntervalSince1970: 0))
        return ProductionModel(
            record: record, model: nil, external: nil, reference: nil, referenceProblem: nil,
            metrics: MetricSummary(task: .binary, rows: 400, values: ["accuracy": 0.9]))
    }

    func column(_ name: String, drifted: Bool, psi: Double = 0.05) -> ColumnDrift {
        ColumnDrift(
            column: name, kind: "numeric", status: .ok, method: .wasserstein, statistic: drifted ? 0.3 : 0.01, pValue: nil,
            threshold: 0.1, drifted: drifted, psi: psi, missingShareReference: 0, missingShareCurrent: 0, weight: 1, message: nil)
    }

    func evidence(drifted: Int = 0, change: Int64? = nil, performanceLeads: Bool = true, schema: [String] = [], psi: Double = 0.05) -> Evidence {
        let columns = (0..<3).map { column("x\($0 + 1)", drifted: $0 < drifted, psi: psi) }
        let performance = PerformanceDrift(
            metric: "accuracy", reference: 0.9, current: change == nil ? 0.895 : 0.8, referenceRows: 2000, currentRows: 2000,
            pValue: change == nil ? 0.3 : 1e-12, minDrop: 0.02, alpha: 0.01, drifted: change != nil)
        let report = DriftReport(columns: columns, schemaChanges: schema, performance: performanceLeads ? performance : nil, policy: job.drift.policy)
        return Evidence(
            report: report, online: nil, served: [], change: change.map { .init(batch: $0, index: 0, reason: "accuracy fell") },
            performanceLeads: performanceLeads)
    }

    /// A segment whose production model has its rows from this concept.
    func segment(_ available: Int, production: Int? = 1600, tried: Int? = nil) -> FreshnessPolicy.Segment {
        .init(start: nil, availableRows: available, productionRows: production, triedRows: tried ?? production ?? 0)
    }

    @Test("without a model in production the first training is full")
    func firstModel() {
        let d = FreshnessPolicy(job: job).decide(production: nil, trigger: .newData, evidence: nil, segment: segment(1600, production: nil))
        #expect(d.plan == TrainingPlan(mode: .full, purpose: .firstModel))
        #expect(d.recorded == "full")
    }

    @Test("rows without labels: no first model from them, and no retrain on them, even when the inputs moved")
    func unlabelled() {
        let policy = FreshnessPolicy(job: job)
        let none = policy.decide(production: nil, trigger: .newData, evidence: nil, segment: .init(start: nil, availableRows: 0, productionRows: nil, triedRows: 0))
        #expect(none.action == .noData && none.reason.contains("no row has a label"))
        var s = segment(1600)
        s.newRows = 0
        let kept = policy.decide(production: production(), trigger: .newData, evidence: evidence(drifted: 3, change: nil, performanceLeads: false, psi: 0.5), segment: s)
        #expect(kept.action == .keep && kept.reason.contains("the new rows have no labels yet"), "\(kept.reason)")
        // A schema change still retrains (on the labelled rows there are), and so does a request.
        #expect(policy.decide(production: production(), trigger: .newData, evidence: evidence(schema: ["x9 is new"]), segment: s).plan?.purpose == .schemaChange)
        #expect(policy.decide(production: production(), trigger: .manualFull, evidence: evidence(), segment: s).plan?.purpose == .requested)
    }

    @Test("with data.id a row's holdout side follows its id, whatever batch or position it comes in")
    func holdoutByID() throws {
        var j = job
        j.data.id = "id"
        let ids = (0..<400).map { "row\($0)" }
        let table = DataTable(names: ["x"], columns: [.numeric(ids.indices.map(Double.init))])
        let a = SplitBatch(BatchRecord(job: "j", path: "a", storedPath: "a", size: 1, sha256: "aaa", firstSeenAt: Date(), status: .pending), table, ids: ids, job: j)
        let reversed = table.rows(Array(ids.indices.reversed()))
        let b = SplitBatch(BatchRecord(job: "j", path: "b", storedPath: "b", size: 1, sha256: "bbb", firstSeenAt: Date(), status: .pending), reversed, ids: ids.reversed(), job: j)
        func held(_ s: SplitBatch) -> Set<Double> {
            guard case .numeric(let v)? = s.eval?.column("x") else { return [] }
            return Set(v)
        }
        #expect(held(a) == held(b))
        #expect((40...140).contains(held(a).count), "\(held(a).count) of 400 held out")
    }

    @Test("a batch on which production's performance fell is a suspected change: the candidate trains on the rows from it on")
    func conceptChange() {
        let d = FreshnessPolicy(job: job).decide(production: production(), trigger: .newData, evidence: evidence(change: 14), segment: segment(3200))
        #expect(d.plan == TrainingPlan(mode: .full, purpose: .conceptChange(batch: 14)))
        #expect(d.reason.contains("from batch 14 on"), "\(d.reason)")
    }

    @Test("after a change a candidate trains each time the concept's rows have doubled, up to window_rows, never twice on the same rows",
          arguments: [
            // (production's rows, most rows tried, rows available, due)
            (1600, 1600, 3200, true), (1600, 1600, 3100, true), (1600, 1600, 2400, false), (3200, 3200, 4800, false),
            (3200, 3200, 6400, true), (6400, 6400, 8000, false), (6400, 6400, 9600, false), (8000, 8000, 16000, false),
            (3200, 6400, 6400, false), (3200, 6400, 8000, true),
          ])
    func warmUp(productionRows: Int, tried: Int, available: Int, due: Bool) {
        let d = FreshnessPolicy(job: job).decide(
            production: production(rows: productionRows), trigger: .newData, evidence: evidence(),
            segment: segment(available, production: productionRows, tried: tried))
        #expect((d.plan == TrainingPlan(mode: .full, purpose: .warmUp)) == due, "\(d.reason)")
    }

    @Test("a candidate of the new concept whose gate failed is followed by one on more rows, whatever production was trained on")
    func warmUpAfterRejectedChange() {
        // Production is from the old concept (8000 rows); the change's candidate (1600 rows) failed the gate.
        let d = FreshnessPolicy(job: job).decide(
            production: production(rows: 8000), trigger: .newData, evidence: evidence(), segment: segment(3200, production: nil, tried: 1600))
        #expect(d.plan == TrainingPlan(mode: .full, purpose: .warmUp), "\(d.reason)")
    }

    @Test("inputs that moved while performance holds are acknowledged, not trained on")
    func shift() {
        let d = FreshnessPolicy(job: job).decide(production: production(), trigger: .newData, evidence: evidence(drifted: 3, psi: 0.5), segment: segment(2000))
        #expect(d.action == .acknowledgeShift)
        #expect(d.recorded == "shift")
        #expect(d.reason.contains("holds"), "\(d.reason)")
    }

    @Test("nothing moved and performance holds: production is kept")
    func keep() {
        let d = FreshnessPolicy(job: job).decide(production: production(), trigger: .newData, evidence: evidence(), segment: segment(2000))
        #expect(d.action == .keep)
        #expect(d.recorded == "no_drift")
    }

    @Test("a schema change retrains fully even when performance holds")
    func schemaChange() {
        let d = FreshnessPolicy(job: job).decide(
            production: production(), trigger: .newData, evidence: evidence(schema: ["new feature column \"x4\""]), segment: segment(2000))
        #expect(d.plan == TrainingPlan(mode: .full, purpose: .schemaChange))
    }

    @Test("without performance to lead, severity decides: moderate → incremental update, severe → full retrain, none → keep")
    func featureDriftLeads() {
        let policy = FreshnessPolicy(job: job)
        let moderate = policy.decide(production: production(), trigger: .newData, evidence: evidence(drifted: 1, performanceLeads: false), segment: segment(2000))
        #expect(moderate.plan == TrainingPlan(mode: .incremental, purpose: .featureDrift), "\(moderate.reason)")
        let severe = policy.decide(production: production(), trigger: .newData, evidence: evidence(drifted: 3, performanceLeads: false), segment: segment(2000))
        #expect(severe.plan == TrainingPlan(mode: .full, purpose: .featureDrift), "\(severe.reason)")
        let generations = policy.decide(
            production: production(generation: 5), trigger: .newData, evidence: evidence(drifted: 1, performanceLeads: false), segment: segment(2000))
        #expect(generations.plan?.mode == .full)
        let none = policy.decide(production: production(), trigger: .newData, evidence: evidence(performanceLeads: false), segment: segment(2000))
        #expect(none.action == .keep)
    }

    @Test("a requested full retrain is honoured; a requested run without new data has nothing to check")
    func requests() {
        let policy = FreshnessPolicy(job: job)
        #expect(policy.decide(production: production(), trigger: .manualFull, evidence: evidence(), segment: segment(2000)).plan?.purpose == .requested)
        #expect(policy.decide(production: production(), trigger: .manual, evidence: nil, segment: segment(2000)).action == .noData)
    }

    @Test("the reference policies: never keeps the first model, every retrains on the newest window")
    func references() {
        let never = FreshnessPolicy(job: job, reference: .never).decide(
            production: production(), trigger: .newData, evidence: evidence(change: 3), segment: segment(9000))
        #expect(never.action == .keep)
        let every = FreshnessPolicy(job: job, reference: .every).decide(
            production: production(), trigger: .newData, evidence: evidence(), segment: segment(2000))
        #expect(every.plan == TrainingPlan(mode: .full, purpose: .reference(batches: nil)))
    }
}
