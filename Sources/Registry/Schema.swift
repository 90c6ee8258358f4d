import Foundation
import GRDB

/// The registry's schema, one migration per version. Migrations only ever add: an old database
/// upgrades in place; a database that has migrations this binary does not know is refused.
enum Schema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "job") { t in
                t.primaryKey("name", .text)
                t.column("file_path", .text).notNull()
                t.column("file_hash", .text).notNull()
                t.column("deploy_path", .text).notNull()
                t.column("production_version", .integer)
                t.column("created_at", .datetime).notNull()
                t.column("updated_at", .datetime).notNull()
            }
            try db.create(table: "run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull().references("job", onDelete: .restrict).indexed()
                t.column("trigger", .text).notNull()
                t.column("state", .text).notNull()
                    .check(sql: "state IN ('queued','running','succeeded','failed','rejected','interrupted')")
                t.column("decision", .text)
                t.column("reason", .text)
                t.column("drift_report", .text)
                t.column("job_file_hash", .text).notNull()
                t.column("candidate_version", .integer)
                t.column("created_at", .datetime).notNull()
                t.column("started_at", .datetime)
                t.column("finished_at", .datetime)
                t.column("error", .text)
            }
            try db.create(table: "batch") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull().references("job", onDelete: .restrict)
                t.column("path", .text).notNull()
                t.column("stored_path", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("sha256", .text).notNull()
                t.column("row_count", .integer)
                t.column("first_seen_at", .datetime).notNull()
                t.column("status", .text).notNull().check(sql: "status IN ('pending','consumed','rejected')")
                t.column("error", .text)
                t.column("run_id", .integer).references("run")
                t.uniqueKey(["job", "sha256"])
            }
            // Every file observed in an incoming directory, so that unchanged files are not hashed again
            // and a second copy of a batch is recognised.
            try db.create(table: "incoming_file") { t in
                t.column("job", .text).notNull().references("job", onDelete: .restrict)
                t.column("path", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("mtime_ns", .integer).notNull()
                t.column("sha256", .text).notNull()
                t.column("batch_id", .integer).notNull().references("batch")
                t.column("seen_at", .datetime).notNull()
                t.primaryKey(["job", "path", "size", "mtime_ns"])
            }
            try db.create(table: "model_version") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull().references("job", onDelete: .restrict)
                t.column("version", .integer).notNull()
                t.column("run_id", .integer).notNull().references("run")
                t.column("parent_version", .integer)
                t.column("mode", .text).notNull().check(sql: "mode IN ('full','incremental')")
                t.column("generation", .integer).notNull()
                t.column("training_rows", .integer).notNull()
                t.column("data_fingerprint", .text).notNull()
                t.column("job_file_hash", .text).notNull()
                t.column("metrics", .text).notNull()
                t.column("baseline_metrics", .text)
                t.column("artifact_path", .text).notNull()
                t.column("artifact_sha256", .text).notNull()
                t.column("reference", .text).notNull()
                t.column("status", .text).notNull().check(sql: "status IN ('passed','rejected')")
                t.column("created_at", .datetime).notNull()
                t.uniqueKey(["job", "version"])
            }
            try db.create(table: "gate_result") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("run_id", .integer).notNull().references("run").indexed()
                t.column("job", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("rule_index", .integer).notNull()
                t.column("metric", .text).notNull()
                t.column("min", .double)
                t.column("max_drop", .double)
                t.column("candidate", .double)
                t.column("baseline", .double)
                t.column("passed", .boolean).notNull()
                t.column("reason", .text).notNull()
            }
            try db.create(table: "production_event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull().references("job", onDelete: .restrict).indexed()
                t.column("action", .text).notNull().check(sql: "action IN ('promote','rollback','forced')")
                t.column("from_version", .integer)
                t.column("to_version", .integer).notNull()
                t.column("at", .datetime).notNull()
                t.column("actor", .text).notNull()
                t.column("reason", .text).notNull()
                t.column("run_id", .integer).references("run")
            }
            // The production history is append-only: no row is ever changed or removed.
            try db.execute(sql: """
                CREATE TRIGGER production_event_no_update BEFORE UPDATE ON production_event
                BEGIN SELECT RAISE(ABORT, 'production history is append-only'); END;
                CREATE TRIGGER production_event_no_delete BEFORE DELETE ON production_event
                BEGIN SELECT RAISE(ABORT, 'production history is append-only'); END;
                """)
            try db.create(table: "request") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull()
                t.column("full", .boolean).notNull()
                t.column("actor", .text).notNull()
                t.column("requested_at", .datetime).notNull()
                t.column("consumed_at", .datetime)
                t.column("run_id", .integer).references("run")
            }
        }
        m.registerMigration("v2") { db in
            // The online detectors' state on the production model's error stream, per job; reset
            // when the model in production changes.
            try db.create(table: "online_detector") { t in
                t.primaryKey("job", .text).references("job", onDelete: .restrict)
                t.column("version", .integer).notNull()
                t.column("state", .text).notNull()
                t.column("rows", .integer).notNull()
                t.column("updated_at", .datetime).notNull()
            }
        }
        m.registerMigration("v3") { db in
            // What the training engine records about each run.
            try db.alter(table: "run") { t in
                t.add(column: "seed", .integer)
                t.add(column: "training_rows", .integer)
                t.add(column: "window_fingerprint", .text)
                t.add(column: "replay_fingerprint", .text)
                t.add(column: "wall_seconds", .double)
                t.add(column: "cpu_seconds", .double)
                t.add(column: "peak_memory_bytes", .integer)
                t.add(column: "log_path", .text)
                t.add(column: "cancel_requested_at", .datetime)
                t.add(column: "cancel_requested_by", .text)
            }
        }
        m.registerMigration("v4") { db in
            // The gate's richer rules: ranges, signed changes, intervals, slices.
            try db.alter(table: "gate_result") { t in
                t.add(column: "max", .double)
                t.add(column: "change", .double)
                t.add(column: "relative_change", .double)
                t.add(column: "test", .text)
                t.add(column: "slice", .text)
                t.add(column: "difference", .double)
                t.add(column: "lower", .double)
                t.add(column: "upper", .double)
                t.add(column: "bound", .double)
                t.add(column: "skipped", .boolean).notNull().defaults(to: false)
            }
        }
        m.registerMigration("v5") { db in
            // The decision threshold a version was judged and served with, when it was chosen.
            try db.alter(table: "model_version") { t in t.add(column: "decision_threshold", .double) }
        }
        m.registerMigration("v6") { db in
            // Jobs a person paused (`updater pause`), kept across restarts; by job name, since a job
            // may be paused before its first run.
            try db.create(table: "job_pause") { t in
                t.primaryKey("job", .text)
                t.column("paused_at", .datetime).notNull()
                t.column("actor", .text).notNull()
                t.column("reason", .text)
            }
            // Runs interrupted while reading a batch; a batch that keeps taking updater down is set aside.
            try db.alter(table: "batch") { t in t.add(column: "attempts", .integer).notNull().defaults(to: 0) }
            // Job files that stopped validating, as the daemon last read them (`updater status`).
            try db.create(table: "job_file_problem") { t in
                t.primaryKey("job", .text)
                t.column("file", .text).notNull()
                t.column("message", .text).notNull()
                t.column("since", .datetime).notNull()
            }
        }
        m.registerMigration("v7") { db in
            // The webhook outbox: events written with the state changes they report, and their
            // deliveries to each endpoint (see docs/webhooks.md).
            try db.create(table: "webhook_event") { t in
                t.primaryKey("id", .text)
                t.column("type", .text).notNull()
                t.column("job", .text)
                t.column("payload", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("fanned_out", .boolean).notNull().defaults(to: false)
            }
            try db.create(index: "webhook_event_unfanned", on: "webhook_event", columns: ["fanned_out"])
            try db.create(table: "webhook_delivery") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("event_id", .text).notNull().references("webhook_event")
                t.column("endpoint", .text).notNull()
                t.column("state", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("next_attempt_at", .datetime)
                t.column("last_attempt_at", .datetime)
                t.column("last_status", .integer)
                t.column("last_error", .text)
                t.column("delivered_at", .datetime)
                t.column("created_at", .datetime).notNull()
                t.uniqueKey(["event_id", "endpoint"])
            }
            try db.create(index: "webhook_delivery_due", on: "webhook_delivery", columns: ["endpoint", "state", "next_attempt_at"])
            try db.create(table: "webhook_endpoint_state") { t in
                t.primaryKey("endpoint", .text)
                t.column("disabled_at", .datetime).notNull()
                t.column("reason", .text).notNull()
            }
        }
        m.registerMigration("v8") { db in
            // The freshness policy's evidence (docs/cycle.md): production's performance on every
            // labelled batch it served, scored before anything trained on it; the concept changes
            // the policy suspected, confirmed or not; the feature-drift baseline a shift moved to.
            try db.create(table: "served_batch") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull().references("job", onDelete: .restrict)
                t.column("batch_id", .integer).notNull().references("batch")
                t.column("run_id", .integer).notNull().references("run")
                t.column("version", .integer).notNull()
                t.column("metric", .text).notNull()
                t.column("rows", .integer).notNull()
                t.column("value", .double).notNull()
                t.column("loss_sum", .double).notNull()
                t.column("loss_sum_squares", .double).notNull()
                t.column("restarts_reference", .boolean).notNull().defaults(to: false)
                t.column("at", .datetime).notNull()
            }
            try db.create(index: "served_batch_job_version", on: "served_batch", columns: ["job", "version"])
            try db.create(table: "concept_change") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull().references("job", onDelete: .restrict).indexed()
                t.column("run_id", .integer).notNull().references("run")
                t.column("batch_id", .integer).notNull().references("batch")
                t.column("production_version", .integer).notNull()
                t.column("state", .text).notNull().check(sql: "state IN ('confirmed','unconfirmed')")
                t.column("reason", .text).notNull()
                t.column("at", .datetime).notNull()
            }
            try db.create(table: "drift_baseline") { t in
                t.primaryKey("job", .text).references("job", onDelete: .restrict)
                t.column("version", .integer).notNull()
                t.column("run_id", .integer).notNull().references("run")
                t.column("reference", .text).notNull()
                t.column("at", .datetime).notNull()
            }
            // Which rows a run trained on and why (`updater runs JOB --run N`).
            try db.alter(table: "run") { t in
                t.add(column: "window_from_batch", .integer)
                t.add(column: "window_batches", .integer)
                t.add(column: "window_reason", .text)
            }
        }
        m.registerMigration("v9") { db in
            // Paths inside the state directory are stored relative to it, so that a directory moved,
            // renamed or reached through a symbolic link keeps its registry valid.
            for (table, column, suffix) in [
                ("model_version", "artifact_path", "'models/' || job || '/v' || version || '.model'"),
                ("model_version", "artifact_path", "'models/' || job || '/v' || version"),
                ("batch", "stored_path", "'batches/' || job || '/' || sha256 || '.csv'"),
                ("run", "log_path", "'runs/' || job || '/' || id || '/run.log'"),
            ] {
                try db.execute(sql: """
                    UPDATE \(table) SET \(column) = \(suffix)
                    WHERE substr(\(column), 1, 1) = '/' AND substr(\(column), -length(\(suffix)) - 1) = '/' || \(suffix)
                    """)
            }
            // The state directory's identity: also in its marker file, so that a registry and a
            // directory that do not belong together are noticed.
            try db.create(table: "state_identity") { t in
                t.primaryKey("id", .text)
                t.column("created_at", .datetime).notNull()
            }
            try db.execute(
                sql: "INSERT INTO state_identity (id, created_at) VALUES (?, ?)",
                arguments: [UUID().uuidString.lowercased(), StoredDate.databaseValue(Date())])
        }
        m.registerMigration("v10") { db in
            // A person's say over batches (`updater batches retry|exclude|include`), and batches
            // taken out of every training window.
            try db.alter(table: "batch") { t in t.add(column: "excluded", .boolean).notNull().defaults(to: false) }
            try db.create(table: "batch_action") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull().references("job", onDelete: .restrict).indexed()
                t.column("batch_id", .integer).notNull().references("batch")
                t.column("action", .text).notNull().check(sql: "action IN ('retry','exclude','include')")
                t.column("actor", .text).notNull()
                t.column("reason", .text)
                t.column("at", .datetime).notNull()
            }
        }
        m.registerMigration("v11") { db in
            // What went wrong in a job's cycle outside any run (registering files on a full disk, a
            // promotion that cannot be completed, a deploy file that cannot be restored), until a
            // cycle goes through: `updater status` shows it.
            try db.create(table: "job_problem") { t in
                t.primaryKey("job", .text)
                t.column("message", .text).notNull()
                t.column("since", .datetime).notNull()
            }
        }
        m.registerMigration("v12") { db in
            // Rows a run left out of a batch for a bad value (`data.bad_rows = "skip"`).
            try db.alter(table: "batch") { t in t.add(column: "skipped_rows", .integer).notNull().defaults(to: 0) }
        }
        m.registerMigration("v13") { db in
            // Runs are numbered per job, as versions are ("run 1" is a job's first run); the id stays
            // the key.
            try db.alter(table: "run") { t in t.add(column: "number", .integer).notNull().defaults(to: 0) }
            try db.execute(sql: "UPDATE run SET number = (SELECT COUNT(*) FROM run AS r WHERE r.job = run.job AND r.id <= run.id)")
            try db.create(index: "run_job_number", on: "run", columns: ["job", "number"], unique: true)
        }
        m.registerMigration("v14") { db in
            // The formats a job publishes (deploy.format): "updater", "onnx" or "updater,onnx", so
            // that a rollback from the command line publishes what the daemon would.
            try db.alter(table: "job") { t in t.add(column: "deploy_formats", .text).notNull().defaults(to: "updater") }
        }
        m.registerMigration("v15") { db in
            // Deploy hooks owed for changes of the published model (Registry+Deploys.swift).
            try db.create(table: "deploy_hook") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull().indexed()
                t.column("version", .integer).notNull()
                t.column("event", .text).notNull()
                t.column("run_id", .integer)
                t.column("published", .text).notNull()
                t.column("state", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("last_error", .text)
                t.column("created_at", .datetime).notNull()
                t.column("started_at", .datetime)
                t.column("finished_at", .datetime)
                t.column("log_path", .text)
            }
        }
        m.registerMigration("v16") { db in
            // An external trainer's own report (contract 2): its parameters and metrics, as JSON.
            try db.alter(table: "model_version") { t in t.add(column: "trainer_report", .text) }
        }
        m.registerMigration("v17") { db in
            // Labels that arrive later (Registry+Labels.swift): the prediction log of every row of a
            // job with data.id, the label files, labels for ids not seen yet, rows without labels per
            // batch, the batches made of rows whose labels arrived, and per batch the estimated
            // performance of production on its rows without labels.
            try db.create(table: "prediction") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull()
                t.column("batch_id", .integer).notNull()
                t.column("row", .integer).notNull()
                t.column("row_id", .text).notNull()
                t.column("version", .integer)
                t.column("score", .double)
                t.column("prediction", .text)
                t.column("label", .text)
                t.column("label_source", .text)
                t.column("label_file_id", .integer)
                t.column("loss", .double)
                t.column("joined_batch_id", .integer)
                t.column("at", .datetime).notNull()
            }
            try db.create(index: "prediction_job_row_id", on: "prediction", columns: ["job", "row_id"])
            try db.create(index: "prediction_job_batch", on: "prediction", columns: ["job", "batch_id"])
            try db.create(table: "label_file") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull()
                t.column("path", .text).notNull()
                t.column("stored_path", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("mtime_ns", .integer).notNull()
                t.column("sha256", .text).notNull()
                t.column("rows", .integer).notNull().defaults(to: 0)
                t.column("joined", .integer).notNull().defaults(to: 0)
                t.column("unseen", .integer).notNull().defaults(to: 0)
                t.column("relabelled", .integer).notNull().defaults(to: 0)
                t.column("ignored", .integer).notNull().defaults(to: 0)
                t.column("error", .text)
                t.column("first_seen_at", .datetime).notNull()
            }
            try db.create(index: "label_file_job_sha", on: "label_file", columns: ["job", "sha256"])
            try db.create(table: "pending_label") { t in
                t.column("job", .text).notNull()
                t.column("row_id", .text).notNull()
                t.column("label", .text).notNull()
                t.column("label_file_id", .integer).notNull()
                t.primaryKey(["job", "row_id"])
            }
            try db.alter(table: "batch") { t in
                t.add(column: "unlabelled_rows", .integer).notNull().defaults(to: 0)
                t.add(column: "joined", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "estimated_batch") { t in
                t.column("job", .text).notNull()
                t.column("batch_id", .integer).notNull()
                t.column("run_id", .integer).notNull()
                t.column("version", .integer).notNull()
                t.column("rows", .integer).notNull()
                t.column("estimate", .text).notNull()
                t.column("dropped", .boolean).notNull()
                t.column("at", .datetime).notNull()
                t.primaryKey(["job", "batch_id"])
            }
            // A binary version's score calibration and reference level for performance estimation.
            try db.alter(table: "model_version") { t in t.add(column: "estimation", .text) }
        }
        return m
    }
}
