import Foundation
import Testing

/// The whole cycle through the real binary: drift → retrain → gate → promote → rollback.
@Suite("End to end, through the updater binary")
struct UpdateCycleTests {
    func productionVersion(_ ws: Workspace, _ job: String) throws -> Int? {
        let v = try ws.json(["versions", job]) as? [String: Any]
        return v?["production_version"] as? Int
    }

    func versions(_ ws: Workspace, _ job: String) throws -> [[String: Any]] {
        (try ws.json(["versions", job]) as? [String: Any])?["versions"] as? [[String: Any]] ?? []
    }

    func history(_ ws: Workspace, _ job: String) throws -> [[String: Any]] {
        try ws.json(["history", job]) as? [[String: Any]] ?? []
    }

    @Test("first batch → v1; drift → v2; scrambled labels → rejected; rollback; corrupted artifact; duplicate batch")
    func fullCycle() throws {
        let ws = try Workspace()
        try ws.addJob("churn")

        // 1. The first batch: no model yet → full training → v1 promoted.
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/churn/b1.csv")
        var r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("churn: promoted (run 1): promoted v1"))
        #expect(try productionVersion(ws, "churn") == 1)
        let v1Artifact = ws.state + "/models/churn/v1.model"
        #expect(ws.bytes("deploy/churn.model") == ws.bytes(absolute: v1Artifact))

        // 2. Shifted features → drift → retrain → v2 promoted.
        try ws.write(Synthetic.csv(rows: 1200, seed: 2, shift: 1.5, firstID: 10_000), to: "incoming/churn/b2.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stderr.contains("drift severe"), "\(r.stderr)")
        #expect(r.stdout.contains("promoted v1 → v2"), "\(r.output)")
        #expect(try productionVersion(ws, "churn") == 2)
        let run2 = try ws.json(["runs", "churn", "--run", "2"]) as? [String: Any]
        let drift = run2?["drift"] as? [String: Any]
        #expect(drift?["severity"] as? String == "severe")
        let drifted = (drift?["columns"] as? [[String: Any]])?.filter { $0["drifted"] as? Bool == true }.compactMap { $0["column"] as? String }
        #expect(drifted?.contains("x1") == true)
        let gate2 = run2?["gate"] as? [[String: Any]] ?? []
        #expect(gate2.count == 2 && gate2.allSatisfy { $0["passed"] as? Bool == true })

        // 3. Scrambled labels → concept drift → retrain → candidate rejected; production unchanged.
        let deployBefore = ws.bytes("deploy/churn.model")
        try ws.write(Synthetic.csv(rows: 1200, seed: 3, shift: 1.5, scramble: true, firstID: 20_000), to: "incoming/churn/b3.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.status == 4, "a gate rejection exits 4, not 1 (nothing failed): \(r.output)")
        #expect(r.stdout.contains("rejected (run 3): v3 rejected by the gate"), "\(r.output)")
        #expect(try productionVersion(ws, "churn") == 2)
        #expect(ws.bytes("deploy/churn.model") == deployBefore)
        let v3 = try versions(ws, "churn").first { $0["version"] as? Int == 3 }
        #expect(v3?["status"] as? String == "rejected")
        let runs = try ws.json(["runs", "churn"]) as? [[String: Any]] ?? []
        #expect(runs.first?["state"] as? String == "rejected")
        let gate3 = (try ws.json(["runs", "churn", "--run", "3"]) as? [String: Any])?["gate"] as? [[String: Any]] ?? []
        #expect(gate3.contains { $0["passed"] as? Bool == false && $0["metric"] as? String == "roc_auc" })
        // The baseline of the gate is the production model (v2), scored on the same rows, not the candidate.
        let candidateAUC = gate3.first { $0["metric"] as? String == "roc_auc" }?["candidate"] as? Double
        let baselineAUC = gate3.first { $0["metric"] as? String == "roc_auc" }?["baseline"] as? Double
        #expect(candidateAUC != nil && baselineAUC != nil && candidateAUC != baselineAUC)

        // 4. Rollback → v1 back, deploy file byte-identical to v1's artifact, history shows it.
        r = try ws.run(["rollback", "churn", "--reason", "v2 misbehaves"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("production v2 → v1"))
        #expect(try productionVersion(ws, "churn") == 1)
        #expect(ws.bytes("deploy/churn.model") == ws.bytes(absolute: v1Artifact))
        let events = try history(ws, "churn")
        #expect(events.map { $0["action"] as? String } == ["promote", "promote", "rollback"])
        #expect(events.last?["from_version"] as? Int == 2)
        #expect(events.last?["to_version"] as? Int == 1)
        #expect(events.last?["actor"] as? String == "tester")
        #expect(events.last?["reason"] as? String == "v2 misbehaves")

        // Rolling back to the version in production is a no-op that says so.
        r = try ws.run(["rollback", "churn", "--to", "1"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("already in production; nothing changed"))
        #expect(try history(ws, "churn").count == 3)

        // 5. A corrupted artifact → rollback refused, nothing changed.
        let v2Artifact = ws.state + "/models/churn/v2.model"
        var corrupted = try #require(ws.bytes(absolute: v2Artifact))
        corrupted[corrupted.count - 1] ^= 0xFF
        try corrupted.write(to: URL(fileURLWithPath: v2Artifact))
        let deployV1 = ws.bytes("deploy/churn.model")
        r = try ws.run(["rollback", "churn", "--to", "2"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("rollback refused, nothing changed"))
        #expect(r.stderr.contains("corrupted"))
        #expect(try productionVersion(ws, "churn") == 1)
        #expect(ws.bytes("deploy/churn.model") == deployV1)
        #expect(try history(ws, "churn").count == 3)

        // A rejected version is not a rollback target.
        r = try ws.run(["rollback", "churn", "--to", "3"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("rejected by the gate"))

        // 6. The same batch dropped again (under another name) is consumed once.
        try ws.write(String(decoding: try #require(ws.bytes("incoming/churn/b1.csv")), as: UTF8.self), to: "incoming/churn/b1-again.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("churn: idle"), "\(r.output)")
        #expect(r.stderr.contains("same content as batch 1"))
        #expect(try (ws.json(["runs", "churn"]) as? [Any])?.count == 3)
    }

    @Test("without performance to lead, moderate feature drift makes an incremental update of production")
    func moderateDriftIsIncremental() throws {
        let ws = try Workspace()
        try ws.addJob("inc")
        try ws.write(
            String(decoding: try #require(ws.bytes("jobs/inc.toml")), as: UTF8.self) + "\n[drift.performance]\nenabled = false\n",
            to: "jobs/inc.toml")
        try ws.write(Synthetic.csv(rows: 3000, seed: 11), to: "incoming/inc/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        try ws.write(Synthetic.csv(rows: 1500, seed: 12, shift: 0.35, shiftX2: false, firstID: 5000), to: "incoming/inc/b2.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stderr.contains("moderate drift → incremental update of v1"), "\(r.stderr)")
        let v2 = try versions(ws, "inc").first { $0["version"] as? Int == 2 }
        #expect(v2?["mode"] as? String == "incremental")
        #expect(v2?["parent_version"] as? Int == 1)
        #expect(v2?["generation"] as? Int == 1)
    }

    @Test("inputs that move while production's accuracy holds are acknowledged, not trained on, and do not count again")
    func covariateShiftIsAcknowledged() throws {
        let ws = try Workspace()
        try ws.addJob("shift")
        try ws.write(Synthetic.csv(rows: 3000, seed: 11), to: "incoming/shift/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        // x1 moves, and the labelling rule with it: production still classifies as well.
        try ws.write(Synthetic.csv(rows: 1000, seed: 12, shift: 0.35, shiftX2: false, firstID: 5000), to: "incoming/shift/b2.csv")
        var r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("shift: shift (run 2)"), "\(r.output)")
        #expect(r.stdout.contains("not retrained"), "\(r.output)")
        #expect(try versions(ws, "shift").count == 1)
        // More rows from the same shifted inputs: compared with the acknowledged ones, no drift.
        try ws.write(Synthetic.csv(rows: 1000, seed: 13, shift: 0.35, shiftX2: false, firstID: 9000), to: "incoming/shift/b3.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("shift: no_drift (run 3)"), "\(r.output)")
        let drift = (try ws.json(["runs", "shift", "--run", "3"]) as? [String: Any])?["drift"] as? [String: Any]
        #expect((drift?["compared_with"] as? String)?.contains("run 2") == true, "\(drift ?? [:])")
        #expect(try versions(ws, "shift").count == 1)
    }

    @Test("new data without drift is recorded and does not train")
    func noDrift() throws {
        let ws = try Workspace()
        try ws.addJob("calm")
        try ws.write(Synthetic.csv(rows: 2000, seed: 21), to: "incoming/calm/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        // Fewer rows than the first batch: not enough to warm up (double the training rows).
        try ws.write(Synthetic.csv(rows: 1000, seed: 22, firstID: 5000), to: "incoming/calm/b2.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("calm: no_drift (run 2)"), "\(r.output)")
        #expect(try versions(ws, "calm").count == 1)
    }

    @Test("updater trigger --full retrains without new data")
    func triggerFull() throws {
        let ws = try Workspace()
        try ws.addJob("manual")
        try ws.write(Synthetic.csv(rows: 1500, seed: 31), to: "incoming/manual/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        var r = try ws.run(["trigger", "manual", "--full"])
        #expect(r.status == 0)
        r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("promoted v1 → v2"), "\(r.output)")
        let runs = try ws.json(["runs", "manual"]) as? [[String: Any]] ?? []
        #expect(runs.first?["trigger"] as? String == "manual_full")
        #expect(runs.first?["decision"] as? String == "full")
    }

    @Test("updater trigger keeps the request but warns when the job's file would not run")
    func triggerWarnsOfAnInvalidJob() throws {
        let ws = try Workspace()
        try ws.addJob("good")
        var r = try ws.run(["trigger", "good"])
        #expect(r.status == 0 && !r.stderr.contains("warning"), "\(r.output)")
        // Valid alone, but it publishes where job good does.
        try ws.addJob("twin")
        let twin = ws.root + "/jobs/twin.toml"
        try String(contentsOfFile: twin, encoding: .utf8).replacingOccurrences(of: "deploy/twin.model", with: "deploy/good.model")
            .write(toFile: twin, atomically: true, encoding: .utf8)
        r = try ws.run(["trigger", "twin"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stderr.contains("warning: ") && r.stderr.contains("twin.toml: deploy.path"), "\(r.output)")
        #expect(r.stderr.contains("twin does not run from this file until that is fixed"), "\(r.output)")
        #expect(r.stderr.contains("the request waits"), "\(r.output)")
        // A job known to the registry whose file is gone.
        try ws.write(Synthetic.csv(rows: 600, seed: 51), to: "incoming/good/b1.csv")
        #expect(try ws.run(["run", "--once"]).status != 64)
        try FileManager.default.removeItem(atPath: ws.root + "/jobs/good.toml")
        r = try ws.run(["trigger", "good"])
        #expect(r.status == 0 && r.stderr.contains("warning: no ") && r.stderr.contains("good.toml"), "\(r.output)")
    }

    @Test("a file still being written (recently modified) is not read until it settles")
    func unsettledFileWaits() throws {
        let ws = try Workspace()
        try ws.addJob("slow")
        try ws.write(Synthetic.csv(rows: 500, seed: 41), to: "incoming/slow/b1.csv", age: 0)
        var r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("slow: idle"), "\(r.output)")
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-60)], ofItemAtPath: ws.root + "/incoming/slow/b1.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("slow: promoted"), "\(r.output)")
    }
}

@Suite("Retrain policy, through the binary")
struct RetrainPolicyTests {
    @Test("an incremental candidate that fails the gate is followed by a full retrain in the same run")
    func incrementalFailureFallsBackToFull() throws {
        let ws = try Workspace()
        try ws.write(Synthetic.csv(rows: 2000, seed: 99), to: "jobs/holdout.csv")
        try ws.addJob(
            "fallback",
            extra: "",
            gate: Workspace.defaultGate + """

                [drift.performance]
                enabled = false
                [drift.online]
                adwin = "off"
                page_hinkley = "off"
                [training.incremental]
                replay_fraction = 0.0
                """)
        // Use the fixed holdout file, so both candidates are judged on clean rows.
        let jobFile = ws.root + "/jobs/fallback.toml"
        let text = try String(contentsOfFile: jobFile, encoding: .utf8).replacingOccurrences(of: "holdout = 0.25", with: "holdout = \"holdout.csv\"")
        try ws.write(text, to: "jobs/fallback.toml")
        try ws.write(Synthetic.csv(rows: 3000, seed: 11), to: "incoming/fallback/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        // A moderate shift of x1 alone, and every label "yes": warm-started on it alone, the model
        // learns to say yes to everything and fails the gate; a full retrain on the whole window passes.
        let batch = Synthetic.csv(rows: 300, seed: 12, shift: 0.35, shiftX2: false, firstID: 5000)
            .replacingOccurrences(of: ",no\n", with: ",yes\n")
        try ws.write(batch, to: "incoming/fallback/b2.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stderr.contains("moderate drift → incremental update of v1"), "\(r.stderr)")
        #expect(r.stderr.contains("incremental v2 failed the gate → full retrain"), "\(r.stderr)")
        #expect(r.stdout.contains("promoted v1 → v3"), "\(r.output)")
        let versions = (try ws.json(["versions", "fallback"]) as? [String: Any])?["versions"] as? [[String: Any]] ?? []
        #expect(versions.map { $0["mode"] as? String } == ["full", "incremental", "full"])
        #expect(versions.map { $0["status"] as? String } == ["passed", "rejected", "passed"])
        let run = (try ws.json(["runs", "fallback", "--run", "2"]) as? [String: Any])?["run"] as? [String: Any]
        #expect(run?["decision"] as? String == "full")
        #expect(run?["wall_seconds"] as? Double != nil)
        #expect((run?["log_path"] as? String)?.hasSuffix("/runs/fallback/2/run.log") == true)
    }
}

@Suite("External trainers in the update cycle, through the binary")
struct ExternalTrainerCycleTests {
    @Test("a job trained by an external command: promote, drift scored by the trainer, rollback, corruption refused")
    func externalTrainerCycle() throws {
        let ws = try Workspace()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let trainer = try String(contentsOf: repo.appendingPathComponent("Jobs/examples/trainer_stdlib.py"), encoding: .utf8)
        try ws.write(trainer, to: "jobs/trainer_stdlib.py")
        try ws.addJob("ext", extra: "", gate: Workspace.defaultGate + """

            [training]
            command = ["python3", "trainer_stdlib.py"]
            time_limit = "2m"
            """)
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/ext/b1.csv")
        var r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("ext: promoted (run 1): promoted v1"), "\(r.output)")
        // The deploy path is a link to a published copy of the model directory.
        let deploy = ws.root + "/deploy/ext.model"
        let target1 = try FileManager.default.destinationOfSymbolicLink(atPath: deploy)
        #expect(FileManager.default.fileExists(atPath: target1 + "/updater-model.json"))
        let versions = (try ws.json(["versions", "ext"]) as? [String: Any])?["versions"] as? [[String: Any]] ?? []
        #expect((versions.first?["artifact_path"] as? String)?.hasSuffix("/models/ext/v1") == true)

        // Shifted data: the drift check scores the new rows with v1 through the trainer's score mode.
        try ws.write(Synthetic.csv(rows: 1200, seed: 2, shift: 1.5, firstID: 9000), to: "incoming/ext/b2.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("promoted v1 → v2"), "\(r.output)")
        let detail = try ws.json(["runs", "ext", "--run", "2"]) as? [String: Any]
        let performance = (detail?["drift"] as? [String: Any])?["performance"] as? [String: Any]
        #expect(performance?["current_rows"] as? Int == 1200, "production scored every new row")
        let gate = detail?["gate"] as? [[String: Any]] ?? []
        #expect(gate.first?["baseline"] as? Double != nil, "production was scored on the evaluation rows")
        let run = detail?["run"] as? [String: Any]
        #expect((run?["cpu_seconds"] as? Double ?? 0) > 0)

        // Rollback points the link back at v1's copy.
        r = try ws.run(["rollback", "ext"])
        #expect(r.status == 0, "\(r.output)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: deploy) == target1)

        // A changed file in v2's directory: its digest no longer matches, rollback to it is refused.
        let v2 = ws.state + "/models/ext/v2/updater-model.json"
        try Data("{}".utf8).write(to: URL(fileURLWithPath: v2))
        r = try ws.run(["rollback", "ext", "--to", "2"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("artifact of v2 is corrupted"), "\(r.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: deploy) == target1)
    }
}

@Suite("updater promote, through the binary")
struct PromoteCommandTests {
    @Test("a rejected version goes into production only with --force and --reason, recorded as forced")
    func forcedPromotion() throws {
        let ws = try Workspace()
        try ws.addJob("force")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/force/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        try ws.write(Synthetic.csv(rows: 1200, seed: 3, shift: 1.5, scramble: true, firstID: 20_000), to: "incoming/force/b2.csv")
        #expect(try ws.run(["run", "--once"]).stdout.contains("v2 rejected by the gate"))
        var r = try ws.run(["promote", "force", "2"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("v2 of force was rejected by the gate; promote it only with --force and --reason"))
        r = try ws.run(["promote", "force", "2", "--force"])
        #expect(r.stderr.contains("a forced promotion needs --reason"))
        r = try ws.run(["promote", "force", "2", "--force", "--reason", "labels fixed upstream"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("production v1 → v2 (forced promotion recorded"))
        #expect(ws.bytes("deploy/force.model") == ws.bytes(absolute: ws.state + "/models/force/v2.model"))
        let last = (try ws.json(["history", "force"]) as? [[String: Any]])?.last
        #expect(last?["action"] as? String == "forced")
        #expect(last?["actor"] as? String == "tester")
        #expect(last?["reason"] as? String == "labels fixed upstream")
        r = try ws.run(["promote", "force", "1"])
        #expect(r.status == 0)
        #expect(((try ws.json(["history", "force"]) as? [[String: Any]])?.last?["action"] as? String) == "promote")
    }
}
