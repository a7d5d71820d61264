-- schema version 11
-- index activities_account
CREATE INDEX activities_account ON "activities" ("account_id", "date");
-- index cta_events_account
CREATE INDEX cta_events_account ON cta_events (account_id, date);
-- index cta_events_cta
CREATE INDEX cta_events_cta ON cta_events (cta_id);
-- index ctas_account
CREATE INDEX ctas_account ON ctas (account_id, status);
-- index ctas_one_per_playbook
CREATE UNIQUE INDEX ctas_one_per_playbook ON ctas (account_id, playbook) WHERE source = 'playbook' AND status != 'closed';
-- index notes_account
CREATE INDEX notes_account ON notes (account_id, date);
-- index nps_account
CREATE INDEX nps_account ON "nps" ("account_id", "date");
-- index ref_requests_account
CREATE INDEX ref_requests_account ON ref_requests (account_id);
-- index send_batches_journey
CREATE INDEX send_batches_journey ON send_batches (journey, batch_id);
-- index sends_account
CREATE INDEX sends_account ON sends (account_id, day);
-- index sends_batch
CREATE INDEX sends_batch ON sends (batch_id, status);
-- index sends_message
CREATE INDEX sends_message ON sends (message_id);
-- index sends_user
CREATE INDEX sends_user ON sends (user_id, day);
-- index snapshots_account
CREATE INDEX snapshots_account ON snapshots (account_id, as_of);
-- index sqlite_autoindex_accounts_1 (automatic, on accounts)
-- index sqlite_autoindex_activities_1 (automatic, on activities)
-- index sqlite_autoindex_cta_tasks_1 (automatic, on cta_tasks)
-- index sqlite_autoindex_email_events_1 (automatic, on email_events)
-- index sqlite_autoindex_feature_names_1 (automatic, on feature_names)
-- index sqlite_autoindex_features_1 (automatic, on features)
-- index sqlite_autoindex_nps_1 (automatic, on nps)
-- index sqlite_autoindex_opportunities_1 (automatic, on opportunities)
-- index sqlite_autoindex_ref_candidates_1 (automatic, on ref_candidates)
-- index sqlite_autoindex_ref_requests_1 (automatic, on ref_requests)
-- index sqlite_autoindex_ref_steps_1 (automatic, on ref_steps)
-- index sqlite_autoindex_references_1 (automatic, on references)
-- index sqlite_autoindex_sends_1 (automatic, on sends)
-- index sqlite_autoindex_sends_2 (automatic, on sends)
-- index sqlite_autoindex_snapshots_1 (automatic, on snapshots)
-- index sqlite_autoindex_thresholds_1 (automatic, on thresholds)
-- index sqlite_autoindex_users_1 (automatic, on users)
-- index users_account
CREATE INDEX users_account ON users (account_id);
-- index users_advocates
CREATE INDEX users_advocates ON users (account_id) WHERE is_advocate = 1;
-- table accounts
CREATE TABLE "accounts" ("account_id" TEXT NOT NULL, "name" TEXT NOT NULL, "industry" TEXT, "segment" TEXT, "arr" REAL, "licenses_purchased" INTEGER, "csm" TEXT, "lifecycle_stage" TEXT, "onboarding_date" TEXT, "renewal_date" TEXT, "employees" INTEGER, "region" TEXT, attributes TEXT, active INTEGER NOT NULL DEFAULT 1, PRIMARY KEY ("account_id"));
-- table activities
CREATE TABLE "activities" ("activity_id" TEXT NOT NULL, "account_id" TEXT NOT NULL, "date" TEXT NOT NULL, "type" TEXT NOT NULL, "author" TEXT, "subject" TEXT, "body" TEXT, attributes TEXT, PRIMARY KEY ("activity_id"));
-- table cta_events
CREATE TABLE cta_events (event_id INTEGER PRIMARY KEY, cta_id INTEGER NOT NULL, account_id TEXT, date TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, data TEXT);
-- table cta_tasks
CREATE TABLE cta_tasks (cta_id INTEGER NOT NULL, n INTEGER NOT NULL, title TEXT NOT NULL, due_on TEXT NOT NULL, email_assist TEXT, done_on TEXT, PRIMARY KEY (cta_id, n));
-- table ctas
CREATE TABLE ctas (cta_id INTEGER PRIMARY KEY, source TEXT NOT NULL, playbook TEXT NOT NULL, account_id TEXT, type TEXT NOT NULL, priority TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('open', 'snoozed', 'closed')), owner TEXT, reason TEXT NOT NULL, opened_on TEXT NOT NULL, due_on TEXT NOT NULL, closed_on TEXT, close_reason TEXT, snoozed_until TEXT, details TEXT);
-- table email_events
CREATE TABLE "email_events" ("message_id" TEXT NOT NULL, "event" TEXT NOT NULL, "timestamp" TEXT NOT NULL, "url" TEXT NOT NULL, "user_agent" TEXT, attributes TEXT, PRIMARY KEY ("message_id", "event", "timestamp", "url"));
-- table feature_names
CREATE TABLE feature_names (fid INTEGER PRIMARY KEY, feature TEXT NOT NULL UNIQUE);
-- table features
CREATE TABLE "features" ("account_id" TEXT NOT NULL, "feature" TEXT NOT NULL, "enabled" INTEGER, attributes TEXT, PRIMARY KEY ("account_id", "feature"));
-- table loads
CREATE TABLE loads (load_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL, mode TEXT NOT NULL, rows INTEGER NOT NULL, inserted INTEGER NOT NULL, updated INTEGER NOT NULL, unchanged INTEGER NOT NULL, rejected INTEGER NOT NULL, deactivated INTEGER NOT NULL, loaded_at TEXT NOT NULL, seconds REAL NOT NULL, settings TEXT NOT NULL DEFAULT '');
-- table notes
CREATE TABLE notes (note_id INTEGER PRIMARY KEY, account_id TEXT NOT NULL, date TEXT NOT NULL, type TEXT NOT NULL, subject TEXT NOT NULL, body TEXT, author TEXT, added_at TEXT NOT NULL);
-- table nps
CREATE TABLE "nps" ("response_id" TEXT NOT NULL, "date" TEXT NOT NULL, "user_id" TEXT, "account_id" TEXT NOT NULL, "score" INTEGER NOT NULL, "comment" TEXT, attributes TEXT, PRIMARY KEY ("response_id"));
-- table opportunities
CREATE TABLE "opportunities" ("opportunity_id" TEXT NOT NULL, "name" TEXT NOT NULL, "prospect_industry" TEXT, "amount" REAL, "stage" TEXT, "created_date" TEXT, "close_date" TEXT, "is_won" INTEGER, "owner" TEXT, attributes TEXT, PRIMARY KEY ("opportunity_id"));
-- table ref_candidates
CREATE TABLE ref_candidates (request_id TEXT NOT NULL, rank INTEGER NOT NULL, account_id TEXT NOT NULL, score REAL, reasons TEXT, PRIMARY KEY (request_id, rank));
-- table ref_requests
CREATE TABLE ref_requests (request_id TEXT PRIMARY KEY, cta_id INTEGER NOT NULL, opportunity_id TEXT NOT NULL, industry TEXT, level TEXT NOT NULL, count INTEGER NOT NULL, topics TEXT, needed_by TEXT NOT NULL, characteristics TEXT, ae TEXT, step INTEGER NOT NULL CHECK (step BETWEEN 1 AND 7), account_id TEXT, user_id TEXT, occurred_on TEXT, requested_at TEXT NOT NULL);
-- table ref_steps
CREATE TABLE ref_steps (request_id TEXT NOT NULL, step INTEGER NOT NULL, at TEXT NOT NULL, date TEXT NOT NULL, data TEXT, PRIMARY KEY (request_id, step));
-- table references
CREATE TABLE "references" ("reference_id" TEXT NOT NULL, "account_id" TEXT NOT NULL, "user_id" TEXT, "opportunity_id" TEXT, "date" TEXT NOT NULL, "outcome" TEXT, attributes TEXT, PRIMARY KEY ("reference_id"));
-- table rollup_accounts
CREATE TABLE rollup_accounts (day INTEGER NOT NULL, account_id TEXT NOT NULL, activated INTEGER NOT NULL, active INTEGER NOT NULL, PRIMARY KEY (day, account_id)) WITHOUT ROWID;
-- table rollup_dates
CREATE TABLE rollup_dates (day INTEGER PRIMARY KEY, rollup_id INTEGER NOT NULL, depth_window_days INTEGER NOT NULL, breadth_window_days INTEGER NOT NULL);
-- table rollup_features
CREATE TABLE rollup_features (day INTEGER NOT NULL, account_id TEXT NOT NULL, fid INTEGER NOT NULL, users INTEGER NOT NULL, PRIMARY KEY (day, account_id, fid)) WITHOUT ROWID;
-- table rollups
CREATE TABLE rollups (rollup_id INTEGER PRIMARY KEY, engine TEXT NOT NULL, source TEXT NOT NULL, rows INTEGER NOT NULL, skipped INTEGER NOT NULL, first_day INTEGER NOT NULL, last_day INTEGER NOT NULL, dates INTEGER NOT NULL, depth_window_days INTEGER NOT NULL, breadth_window_days INTEGER NOT NULL, users_load INTEGER NOT NULL, settings TEXT NOT NULL, made_at TEXT NOT NULL, seconds REAL NOT NULL);
-- table send_batches
CREATE TABLE send_batches (batch_id INTEGER PRIMARY KEY, journey TEXT NOT NULL, as_of TEXT NOT NULL, created_at TEXT NOT NULL, folder TEXT NOT NULL, step TEXT, complete INTEGER NOT NULL DEFAULT 0);
-- table sends
CREATE TABLE sends (send_id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, journey TEXT NOT NULL, step TEXT NOT NULL, user_id TEXT NOT NULL, cycle INTEGER NOT NULL, batch_id INTEGER NOT NULL REFERENCES send_batches, account_id TEXT NOT NULL, day TEXT NOT NULL, variant TEXT, template TEXT, recipient TEXT, sender TEXT, message_id TEXT, subject TEXT, status TEXT NOT NULL, reason TEXT, smtp_code INTEGER, smtp_reply TEXT, sent_at TEXT, updated_at TEXT NOT NULL, UNIQUE (journey, step, user_id, cycle));
-- table snapshots
CREATE TABLE snapshots (as_of TEXT NOT NULL, account_id TEXT NOT NULL, name TEXT, segment TEXT, csm TEXT, deployment REAL, deployment_band TEXT, depth REAL, depth_band TEXT, breadth REAL, breadth_band TEXT, composite REAL, basis TEXT NOT NULL DEFAULT '', PRIMARY KEY (as_of, account_id));
-- table thresholds
CREATE TABLE thresholds (segment TEXT NOT NULL, measure TEXT NOT NULL, c20 REAL NOT NULL, c40 REAL NOT NULL, c60 REAL NOT NULL, c80 REAL NOT NULL, n INTEGER NOT NULL, as_of TEXT NOT NULL, PRIMARY KEY (segment, measure));
-- table usage
CREATE TABLE usage (day INTEGER NOT NULL, uid INTEGER NOT NULL, fid INTEGER NOT NULL, events INTEGER NOT NULL, attributes TEXT, PRIMARY KEY (day, uid, fid)) WITHOUT ROWID;
-- table user_activity
CREATE TABLE user_activity (uid INTEGER PRIMARY KEY, first_day INTEGER NOT NULL, last_day INTEGER NOT NULL);
-- table users
CREATE TABLE users (uid INTEGER PRIMARY KEY, "user_id" TEXT NOT NULL, "account_id" TEXT NOT NULL, "email" TEXT, "first_name" TEXT, "last_name" TEXT, "role" TEXT, "level" TEXT, "activated_at" TEXT, "is_advocate" INTEGER, "unsubscribed" INTEGER, attributes TEXT, UNIQUE (user_id));
-- view usage_rows
CREATE VIEW usage_rows AS SELECT date(u.day * 86400, 'unixepoch') AS date, us.account_id, us.user_id, f.feature, u.events FROM usage u JOIN users us ON us.uid = u.uid JOIN feature_names f ON f.fid = u.fid;
